"""Keys and certificates of the hub and (for the demo and tests) of each partner.

A real deployment installs certificates issued by the provincial CA instead
(docs/transport.md); the file layout is the same, so nothing else changes:

    <home>/keys/hub.key  hub.crt            the hub's CMS/signing key pair
    <home>/keys/<certificate>.crt           each partner's certificate
    <home>/keys/<certificate>.key           demo/test only: a real hub never holds these
    <home>/keys/hub.previous.key .crt .json the hub's pair before the last rotation, decrypting until the
                                            overlap's end in its .json (jinbao/keys_rotation.py)
    <home>/keys/retired/                    pairs no longer used: earlier hub pairs, replaced partner certificates
    <home>/keys/auditors/<username>.crt     an auditor's certificate: full-ID exports are sealed to it

A partner's `<certificate>` name is its `certificate:` in the partner list (jinbao/partners.py,
`dags/feeds/partners.yaml`); the functions here take partner ids and find the files by it.

Private keys are written 0600 and nothing is ever overwritten: re-running
`keys init` must not silently rotate a key partners already encrypt to, nor
replace a partner certificate that an operator installed by hand.  Only the
explicit `jinbao keys rotate` and `jinbao keys install` put a new file under
an existing name, and only after the old one has a second name it keeps
(jinbao/keys_rotation.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from jinbao.partners import get_partner, partner_ids

class NoCertificate(FileNotFoundError):
    """The certificate of a party is not installed in `keys/` (for a partner: never installed, or removed
    to stop accepting it)."""

    def __init__(self, who: str, path: Path):
        self.who, self.path = who, path
        super().__init__(f"no certificate for {who} at {path}; run `jinbao keys init` or install it")


HUB = "hub"
#: The hub's pair before the last rotation (`keys/hub.previous.key`, `.crt`, `.json`).
PREVIOUS = "hub.previous"
#: Where pairs no longer used are kept (`keys/retired/`), never loaded for decryption or sealing.
RETIRED = "retired"


def key_dir(home: Path) -> Path:
    return Path(home) / "keys"


def key_path(home: Path, who: str) -> Path:
    return key_dir(home) / f"{who}.key"


def cert_path(home: Path, who: str) -> Path:
    return key_dir(home) / f"{who}.crt"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create `path` exclusively (O_EXCL: never clobber) via a temporary name, so a crash
    leaves either nothing or the whole file, never half a key."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)                 # whatever the umask was
        os.link(tmp, path)                  # fails if path appeared meanwhile: never overwrite
    finally:
        tmp.unlink(missing_ok=True)


def _self_signed(who: str, key, now: dt.datetime | None = None) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Jinbao Exchange demo"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao-{who}")])
    now = now or dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))


def _ensure(home: Path, who: str) -> str:
    kp, cp = key_path(home, who), cert_path(home, who)
    if kp.exists():
        if stat.S_IMODE(kp.stat().st_mode) & 0o077:
            os.chmod(kp, 0o600)             # tighten, never loosen; the key itself is kept
        if cp.exists():
            return "kept"
        _write_new(cp, _self_signed(who, load_key(home, who)).public_bytes(serialization.Encoding.PEM), 0o644)
        return "kept key, certificate created"
    if cp.exists():
        return "kept certificate (no private key here)"   # an installed partner certificate
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_new(kp, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()), 0o600)
    _write_new(cp, _self_signed(who, key).public_bytes(serialization.Encoding.PEM), 0o644)
    return "created"


def _file_name(partner: str) -> str:
    """The partner's key files' name: its declared `certificate`."""
    return get_partner(partner).certificate


def init_keys(home: Path, partners: tuple[str, ...] | None = None) -> dict[str, str]:
    """Create what is missing under `home/keys/` for the hub and `partners` (default: every declared
    partner); report per party what was done ("created", "kept", ...).  Idempotent: existing keys and
    certificates are never replaced."""
    key_dir(home).mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir(home), 0o700)
    done = {HUB: _ensure(Path(home), HUB)}
    return done | {p: _ensure(Path(home), _file_name(p)) for p in (partner_ids() if partners is None else partners)}


def load_key(home: Path, who: str):
    path = key_path(home, who)
    if not path.exists():
        raise FileNotFoundError(f"no private key for {who} at {path}; run `jinbao keys init` or install it")
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def load_cert(home: Path, who: str) -> x509.Certificate:
    path = cert_path(home, who)
    if not path.exists():
        raise NoCertificate(who, path)
    return x509.load_pem_x509_certificate(path.read_bytes())


def hub_key(home: Path):
    return load_key(home, HUB)


def hub_cert(home: Path) -> x509.Certificate:
    return load_cert(home, HUB)


def partner_cert(home: Path, partner: str) -> x509.Certificate:
    return load_cert(home, _file_name(partner))


def partner_key(home: Path, partner: str):
    """Demo and tests only: in production the partner's private key never reaches the hub."""
    return load_key(home, _file_name(partner))


#: Auditors' certificates, one per login name (Airflow user or OS user): a full-ID export is sealed to
#: the certificate of the person who asked for it (jinbao/audit/full_ids.py, docs/audit.md).
AUDITORS = "auditors"
#: A login name used as a file name as it is; any other (a slash, a leading dot, spaces) by a digest.
_FILE_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def file_safe(name: str) -> str:
    """`name` as a file name: itself when it can be one, else `user-<digest>` (never a path)."""
    return name if _FILE_SAFE.match(name) else "user-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def auditor_cert_path(home: Path, username: str) -> Path:
    return key_dir(home) / AUDITORS / f"{file_safe(username)}.crt"


def auditor_cert(home: Path, username: str) -> x509.Certificate | None:
    """The auditor's installed certificate, or None when none is installed (the export then stays on the hub)."""
    path = auditor_cert_path(home, username)
    return x509.load_pem_x509_certificate(path.read_bytes()) if path.is_file() else None


def partner_certs(home: Path, partners: tuple[str, ...] | None = None) -> dict[str, x509.Certificate]:
    """Every installed certificate of `partners` (default: every declared partner) by partner id, to
    tell UNKNOWN_SIGNER from BAD_SIGNATURE."""
    names = {p: _file_name(p) for p in (partner_ids() if partners is None else partners)}
    return {p: load_cert(home, name) for p, name in names.items() if cert_path(home, name).exists()}


def fingerprint(cert: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it (AB:CD:...)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def serial_hex(cert: x509.Certificate) -> str:
    """The serial number as `openssl x509 -serial` prints it (hex, upper case)."""
    return f"{cert.serial_number:X}"


def named(cert: x509.Certificate) -> str:
    """How a certificate is named to people, partners included: subject, serial and fingerprint (no path)."""
    return f"{cert.subject.rfc4514_string()}, serial {serial_hex(cert)}, SHA-256 fingerprint {fingerprint(cert)}"


@dataclass(frozen=True)
class HubPair:
    """One of the hub's certificates and where its private key is: the current pair (decrypts and signs),
    the previous one (decrypts until `decrypts_until`, the end of the rotation's overlap) or a retired
    one (`key_file` None: recognised, so an envelope to it is refused naming it, never used)."""
    role: str                                  # "current", "previous" or "retired"
    cert: x509.Certificate
    key_file: Path | None
    decrypts_until: dt.datetime | None = None

    def key(self):
        if self.key_file is None:
            raise FileNotFoundError(f"the {self.role} hub certificate {named(self.cert)} has no usable key")
        return serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)


def previous_record(home: Path) -> dict | None:
    """What `jinbao keys rotate` wrote about the previous pair (`keys/hub.previous.json`), or None."""
    path = key_dir(home) / f"{PREVIOUS}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


class RotationInterrupted(RuntimeError):
    """`jinbao keys rotate` stopped half way: hub.key and hub.crt may not be one pair until it is run again."""


def hub_keyring(home: Path) -> list[HubPair]:
    """The hub's pairs an inbound envelope may be addressed to, current first.  Raises RotationInterrupted
    while a rotation's new pair waits as `hub.next.*` (a retry after `jinbao keys rotate` finishes it)."""
    home = Path(home)
    if any(key_dir(home).glob(f"{HUB}.next.*")):
        raise RotationInterrupted(f"a rotation of the hub's key was interrupted ({key_dir(home)} holds hub.next.*): "
                                  "run `jinbao keys rotate` again to finish it")
    ring = [HubPair("current", hub_cert(home), key_path(home, HUB))]
    record = previous_record(home)
    if record is not None and cert_path(home, PREVIOUS).exists():
        ring.append(HubPair("previous", load_cert(home, PREVIOUS), key_path(home, PREVIOUS),
                            dt.datetime.fromisoformat(record["overlap_ends"])))
    retired = key_dir(home) / RETIRED
    for crt in sorted(retired.glob(f"{HUB}.*.crt")) if retired.is_dir() else ():
        record = crt.with_suffix(".json")
        ended = json.loads(record.read_text(encoding="utf-8"))["overlap_ends"] if record.exists() else None
        ring.append(HubPair("retired", x509.load_pem_x509_certificate(crt.read_bytes()), None,
                            dt.datetime.fromisoformat(ended) if ended else None))
    return ring
