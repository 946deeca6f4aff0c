"""Real certificates for the key tests, made with `cryptography` relative to one moment, the same moment the
tests hand the code as "now" (a certificate built on the wall clock and checked on a fixed date would
turn a test red on some later day)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

#: One moment for a whole test: certificates are valid relative to it, and the code is told it is now.
T0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def pair(cn: str, not_before: dt.datetime, not_after: dt.datetime):
    """(key, certificate): RSA 2048, self-signed, valid from `not_before` to `not_after`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return key, cert


def write_pem(folder: Path, name: str, key, cert) -> tuple[Path, Path]:
    """`<name>.key` and `<name>.crt` in `folder` (outside keys/: what an operator brings to install)."""
    folder.mkdir(parents=True, exist_ok=True)
    kf, cf = folder / f"{name}.key", folder / f"{name}.crt"
    kf.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    cf.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return kf, cf
