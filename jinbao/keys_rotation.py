"""Changing keys without stopping the exchange: the hub's key rotated with an overlap, a partner's
renewed certificate installed.

Rotation (`jinbao keys rotate`): the new pair becomes `hub.key`/`hub.crt` at once, so everything the
hub signs from then on (receipts' and outbound manifests) is signed with it, and partners are given
the new `hub.crt`.  Partners cannot all switch on one day, so the old pair stays as
`hub.previous.key`/`.crt`, with `hub.previous.json` recording its end: until then an envelope
addressed to it is still opened with its key (exchange_zone/envelope.py picks the key by the
envelope's recipient info); after it the envelope is refused HUB_CERTIFICATE_RETIRED, naming the
certificate.  Retirement needs no job: it is the date.  The next rotation moves the previous pair
into `keys/retired/` (and refuses to start while an overlap is still running: one at a time).

Retired keys are kept (0600, in `keys/retired/`, never loaded): a quarantined delivery keeps its
sealed file and a person may need to open it later, and destroying a key is the bureau's decision
under its key policy, not a timer's; the certificate is kept so a late envelope is recognised.

Nothing is overwritten in place: the new pair is written O_EXCL as `hub.next.*`, the old one gets a
second name (`hub.previous.*`, a hard link) before `hub.next.*` is renamed over `hub.key`/`hub.crt`,
so at every instant each key exists under some name.  A rotation interrupted half way is finished
by running it again (keys.hub_keyring refuses to decrypt meanwhile).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jinbao import keys
from jinbao.keys_expiry import expired_reason, utc_now
from jinbao.partners import get_partner

_PEM = serialization.Encoding.PEM


class RotationRefused(ValueError):
    """A rotation or installation that would lose or confuse a key; the message says what to do."""


@dataclass(frozen=True)
class Rotation:
    previous: x509.Certificate
    current: x509.Certificate
    overlap_ends: dt.datetime
    retired: x509.Certificate | None      # the pair before, moved to keys/retired/ by this rotation


def _file(home: Path, name: str) -> Path:
    return keys.key_dir(home) / name


def _link(src: Path, dst: Path) -> None:
    """A second name for `src` (never replacing `dst`); done already when `dst` is the same file."""
    if dst.exists():
        if os.path.samefile(src, dst):
            return
        raise RotationRefused(f"{dst} exists and is not {src}: move it away by hand after checking it")
    os.link(src, dst)


def _read_pair(key_file: Path, cert_file: Path, now: dt.datetime):
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RotationRefused(f"{key_file} is not an RSA key (partners' envelopes use RSA key transport)")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise RotationRefused(f"{cert_file} is not the certificate of {key_file}")
    reason = expired_reason(cert, now)
    if reason:
        raise RotationRefused(f"{cert_file} ({keys.named(cert)}) {reason}: a new hub certificate must be valid now")
    return key, cert


def _retire_previous(home: Path, record: dict, now: dt.datetime) -> x509.Certificate:
    """Move the previous pair into keys/retired/ (links first, the record last, so a crash repeats it)."""
    cert = keys.load_cert(home, keys.PREVIOUS)
    retired = keys.key_dir(home) / keys.RETIRED
    retired.mkdir(mode=0o700, exist_ok=True)
    base = f"{keys.HUB}.{keys.serial_hex(cert)}"
    record = {**record, "retired_at": now.isoformat()}
    for suffix in ("key", "crt"):
        src = _file(home, f"{keys.PREVIOUS}.{suffix}")
        if src.exists():
            _link(src, retired / f"{base}.{suffix}")
    if not (retired / f"{base}.json").exists():
        keys._write_new(retired / f"{base}.json", json.dumps(record, indent=2).encode(), 0o600)
    for suffix in ("key", "crt", "json"):
        _file(home, f"{keys.PREVIOUS}.{suffix}").unlink(missing_ok=True)
    return cert


def _complete(home: Path, overlap_days: int, now: dt.datetime) -> None:
    """Record the previous pair, give it its second name, then put hub.next.* in place (each step once)."""
    nxt = {s: _file(home, f"{keys.HUB}.next.{s}") for s in ("key", "crt")}
    if not _file(home, f"{keys.PREVIOUS}.json").exists():
        old = keys.hub_cert(home)                         # still the old one: no rename happens before this
        new = x509.load_pem_x509_certificate(nxt["crt"].read_bytes())
        record = {"serial": keys.serial_hex(old), "fingerprint": keys.fingerprint(old),
                  "subject": old.subject.rfc4514_string(), "rotated_at": now.isoformat(),
                  "overlap_ends": (now + dt.timedelta(days=overlap_days)).isoformat(),
                  "successor_serial": keys.serial_hex(new), "successor_fingerprint": keys.fingerprint(new)}
        keys._write_new(_file(home, f"{keys.PREVIOUS}.json"), json.dumps(record, indent=2).encode(), 0o600)
    for s in ("key", "crt"):
        prev = _file(home, f"{keys.PREVIOUS}.{s}")
        if not prev.exists():
            _link(_file(home, f"{keys.HUB}.{s}"), prev)
    for s in ("key", "crt"):
        if nxt[s].exists():
            os.replace(nxt[s], _file(home, f"{keys.HUB}.{s}"))


def rotate_hub(home: Path, overlap_days: int, now: dt.datetime | None = None, key_file: Path | None = None,
               cert_file: Path | None = None) -> Rotation:
    """Make (or, with `key_file` and `cert_file`, install a CA-issued) new hub pair; the old one decrypts
    for `overlap_days` more.  Raises RotationRefused while a previous overlap is still running."""
    home, now = Path(home), now or utc_now()
    if overlap_days < 0:
        raise RotationRefused(f"--overlap-days must be 0 or more, got {overlap_days}")
    if (key_file is None) != (cert_file is None):
        raise RotationRefused("give both --key and --cert (a CA-issued pair), or neither (a self-signed pair)")
    pending = list(keys.key_dir(home).glob(f"{keys.HUB}.next.*"))
    retired = None
    if not pending:
        record = keys.previous_record(home)
        if record is not None:
            ends = dt.datetime.fromisoformat(record["overlap_ends"])
            if now < ends:
                raise RotationRefused(
                    f"the previous hub certificate (serial {record['serial']}) still decrypts until "
                    f"{ends:%Y-%m-%d %H:%M} UTC: one overlap at a time; rotate again after that")
            retired = _retire_previous(home, record, now)
        elif any(_file(home, f"{keys.PREVIOUS}.{s}").exists() for s in ("key", "crt")):
            raise RotationRefused(f"{keys.key_dir(home)} holds hub.previous.* without hub.previous.json: check "
                                  "by hand which pair is which before rotating")
        keys.hub_cert(home)                               # the current pair must exist (keys init)
        if key_file is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            cert = keys._self_signed(keys.HUB, key, now)
        else:
            key, cert = _read_pair(key_file, cert_file, now)
            if cert.public_key().public_numbers() == keys.hub_cert(home).public_key().public_numbers():
                raise RotationRefused(f"{cert_file} has the hub's current key: a rotation needs a new key")
        keys._write_new(_file(home, f"{keys.HUB}.next.key"),
                        key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
                        0o600)
        keys._write_new(_file(home, f"{keys.HUB}.next.crt"), cert.public_bytes(_PEM), 0o644)
    _complete(home, overlap_days, now)
    record = keys.previous_record(home)
    return Rotation(keys.load_cert(home, keys.PREVIOUS), keys.hub_cert(home),
                    dt.datetime.fromisoformat(record["overlap_ends"]), retired)


def install_partner_cert(home: Path, partner: str, source: Path,
                         now: dt.datetime | None = None) -> tuple[x509.Certificate | None, x509.Certificate]:
    """Install `source` (PEM) as the partner's certificate; the one it replaces is kept in keys/retired/
    (`<certificate>.<serial>.crt`).  Refused when it is not valid now or is the one installed already.
    Returns (replaced or None, installed)."""
    home, now = Path(home), now or utc_now()
    try:
        cert = x509.load_pem_x509_certificate(Path(source).read_bytes())
    except ValueError as exc:
        raise RotationRefused(f"{source} is not a PEM certificate: {exc}") from None
    reason = expired_reason(cert, now)
    if reason:
        raise RotationRefused(f"{source} ({keys.named(cert)}) {reason}: install a certificate that is valid now")
    path = keys.cert_path(home, get_partner(partner).certificate)
    old = x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None
    if old is not None and old == cert:
        raise RotationRefused(f"{source} is the certificate already installed for {partner} ({keys.named(cert)})")
    keys.key_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = path.with_name(f"{path.stem}.next.crt")
    staged.unlink(missing_ok=True)                        # a certificate is public: a left-over copy is no loss
    keys._write_new(staged, cert.public_bytes(_PEM), 0o644)
    if old is not None:
        retired = keys.key_dir(home) / keys.RETIRED
        retired.mkdir(mode=0o700, exist_ok=True)
        _link(path, retired / f"{path.stem}.{keys.serial_hex(old)}.crt")
    os.replace(staged, path)
    return old, cert
