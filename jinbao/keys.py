"""Keys and certificates of the hub and (for the demo and tests) of each partner.

A real deployment installs certificates issued by the provincial CA instead
(docs/transport.md); the file layout is the same, so nothing else changes.
Private keys are written 0600 and never overwritten: re-running `keys init`
must not silently rotate a key partners have already been given a certificate for.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PARTNERS = ("police", "civil_affairs", "health", "finance", "central_bank")
HUB = "hub"


def key_dir(home: Path) -> Path:
    return Path(home) / "keys"


def _paths(home: Path, who: str) -> tuple[Path, Path]:
    return key_dir(home) / f"{who}.key", key_dir(home) / f"{who}.crt"


def _make(who: str, key_path: Path, crt_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Jinbao Exchange demo"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao-{who}")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def init_keys(home: Path, partners: tuple[str, ...] = PARTNERS) -> dict[str, str]:
    """Create missing keys; report per party 'created' or 'kept'."""
    key_dir(home).mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir(home), 0o700)
    out = {}
    for who in (HUB, *partners):
        key_path, crt_path = _paths(home, who)
        if key_path.exists():
            out[who] = "kept"
            continue
        _make(who, key_path, crt_path)
        out[who] = "created"
    return out


def load_key(home: Path, who: str):
    return serialization.load_pem_private_key(_paths(home, who)[0].read_bytes(), password=None)


def load_cert(home: Path, who: str) -> x509.Certificate:
    path = _paths(home, who)[1]
    if not path.exists():
        raise FileNotFoundError(f"no certificate for {who} at {path}; run `jinbao keys init` or install it")
    return x509.load_pem_x509_certificate(path.read_bytes())


def cert_path(home: Path, who: str) -> Path:
    return _paths(home, who)[1]


def key_path(home: Path, who: str) -> Path:
    return _paths(home, who)[0]
