"""Signed, encrypted deliveries (exchange agreements §4), with cryptography's PKCS7 support.

Inbound, in this order: the manifest's signature must verify with the sending
partner's certificate (nothing is decrypted for an unknown signer), the
manifest must describe this file, the data must decrypt with the hub's key,
and the plaintext must match the manifest's sha256.  Outbound is the mirror:
encrypted to the partner, manifest signed by the hub.  The formats are exactly
what `openssl cms -encrypt -binary -aes-256-cbc -outform DER` and
`openssl dgst -sha256 -sign` produce; the tests check that with the openssl
command line both ways.

Companion names: the agreement says `<same>.manifest.json`, which we read as
`<feed>_<YYYYMMDD>_<seq>.manifest.json` and always write that way; on the way in
`<data file>.manifest.json` (e.g. `X.csv.p7m.manifest.json`) is recognised too,
because the wording allows it and a partner who reads it so must not be ignored.

Neither direction holds a delivery in memory (a full identity refresh is gigabytes):
exchange_zone/cms.py parses the envelope's header, unwraps the content key with
the hub's RSA key and decrypts the content chunk by chunk into the work folder,
hashing as it goes; sealing streams the other way.  Only the manifest and its
signature, a few hundred bytes, are read whole.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path
from typing import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from jinbao import keys
from jinbao.connectors.base import DELIVERY_NAME, companions_of, delivery_base
from jinbao.exchange_zone import cms
from jinbao.exchange_zone import manifest as manifests
from jinbao.files import atomic_write, write_atomically
from jinbao.keys_expiry import expired_reason, unusable_code, utc_now
from jinbao.staged.refused import DeliveryRefused
from jinbao.store.errors import TransientFault

MANIFEST = ".manifest.json"
SIGNATURE = ".manifest.json.sig"
#: The two files that sign and describe an enveloped delivery (exchange agreements §4).
COMPANIONS = (MANIFEST, SIGNATURE)


def encrypt(data: bytes, recipient: x509.Certificate) -> bytes:
    """CMS EnvelopedData, AES-256-CBC, RSA key transport, DER, binary (no CRLF canonicalisation)."""
    out = io.BytesIO()
    cms.encrypt_stream(io.BytesIO(data), len(data), recipient, out.write)
    return out.getvalue()


def decrypt(der: bytes, cert: x509.Certificate, key) -> bytes:
    """The plaintext of an envelope held in memory (small files: receipts, tests); deliveries use decrypt_file."""
    out = io.BytesIO()
    cms.decrypt_stream(io.BytesIO(der), cert, key, out.write)
    return out.getvalue()


def decrypt_file(src: Path, dst: Path, cert: x509.Certificate, key, choose: cms.Chooser | None = None) -> str:
    """Decrypt `src` into `dst` chunk by chunk; the plaintext's sha256.  On any error `dst` is removed.
    `choose`, when given, picks the key by the envelope's recipients instead of (`cert`, `key`)."""
    try:
        with open(src, "rb") as f, open(dst, "wb") as out:
            return cms.decrypt_for(f, choose or cms.only(cert, key), out.write)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def encrypt_file(src: Path, dst: Path, recipient: x509.Certificate) -> None:
    with open(src, "rb") as f, open(dst, "wb") as out:
        cms.encrypt_stream(f, os.fstat(f.fileno()).st_size, recipient, out.write)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(cms.CHUNK):
            digest.update(piece)
    return digest.hexdigest()


def sign(data: bytes, key) -> bytes:
    """Like `openssl dgst -sha256 -sign key`: PKCS#1 v1.5 for RSA, DER ECDSA for EC keys."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify(data: bytes, signature: bytes, cert: x509.Certificate) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
        return True
    except (InvalidSignature, ValueError):
        return False


def _split(paths: list[Path]) -> tuple[Path, Path, Path]:
    data = [p for p in paths if DELIVERY_NAME.match(p.name)]
    if len(data) != 1:
        raise DeliveryRefused("MANIFEST_INVALID", f"expected one data file among {[p.name for p in paths]}")
    pair = companions_of([p.name for p in paths], data[0].name, COMPANIONS)
    if pair is None:
        raise DeliveryRefused("MANIFEST_INVALID", "manifest or its signature is missing", data[0].name)
    by_name = {p.name: p for p in paths}
    return data[0], by_name[pair[0]], by_name[pair[1]]


class HubKeyUnreadable(TransientFault):
    """A key the hub must decrypt with is missing or unreadable: the hub's fault, so the delivery waits in
    inbound/ for the next run (a transient fault to the engine), never a receipt to the partner."""


class HubRecipients:
    """Picks the hub's key by the envelope's recipient info: the current pair, or the previous one until
    its overlap ends (jinbao/keys_rotation.py); an envelope addressed only to a certificate the hub has
    retired is refused HUB_CERTIFICATE_RETIRED, naming that certificate and the current one."""

    def __init__(self, current_cert: x509.Certificate, current_key, earlier: Sequence[keys.HubPair],
                 now: dt.datetime, name: str):
        self.current, self.key, self.earlier, self.now, self.name = current_cert, current_key, earlier, now, name

    def __call__(self, recipients: list[cms.RecipientId]):
        if any(r.names(self.current) for r in recipients):
            return self.current, self.key
        for pair in self.earlier:
            if not any(r.names(pair.cert) for r in recipients):
                continue
            if pair.key_file is not None and pair.decrypts_until is not None and self.now < pair.decrypts_until:
                try:
                    return pair.cert, pair.key()
                except (OSError, ValueError) as exc:      # the hub's own file: its operators' to mend, not a refusal
                    raise HubKeyUnreadable(
                        f"the hub's previous key for {keys.named(pair.cert)} (in its overlap until "
                        f"{pair.decrypts_until:%Y-%m-%d}) cannot be read: {exc}; put the key file back (or finish "
                        "the rotation, docs/transport.md) and run the feed again: the delivery stays where it "
                        "is") from exc
            ended = f" on {pair.decrypts_until:%Y-%m-%d}" if pair.decrypts_until else ""
            raise DeliveryRefused(
                "HUB_CERTIFICATE_RETIRED",
                f"the data file is encrypted to the hub's certificate {keys.named(pair.cert)}, retired{ended}; "
                f"encrypt it to the hub's current certificate {keys.named(self.current)} and send it again",
                self.name)
        return None


def open_delivery(paths: list[Path], partner_cert: x509.Certificate, hub_key, hub_cert: x509.Certificate,
                  work_dir: Path | None = None,
                  other_certs: dict[str, x509.Certificate] | None = None, *,
                  earlier: Sequence[keys.HubPair] = (), now: dt.datetime | None = None,
                  ) -> tuple[Path, manifests.Manifest]:
    """Verify, decrypt and check a fetched delivery; return (`work_dir/<base>.csv`, manifest).

    Refusals (DeliveryRefused.reason_code): CERTIFICATE_EXPIRED / CERTIFICATE_NOT_YET_VALID (the hub's
    copy of the sender's certificate is out of its validity at `now`: nothing is read under it),
    BAD_SIGNATURE (verifies with no certificate we know), UNKNOWN_SIGNER (verifies, but with another
    party's certificate from `other_certs`), MANIFEST_INVALID, HUB_CERTIFICATE_RETIRED (encrypted to one
    of the hub's `earlier` certificates whose overlap has ended), DECRYPT_FAILED, HASH_MISMATCH.
    `earlier`: the hub's previous and retired pairs (keys.hub_keyring), the key picked by recipient info.
    The record count is the caller's to check after parsing (the engine's judge step: COUNT_MISMATCH).
    """
    data, mpath, spath = _split([Path(p) for p in paths])
    name = data.name
    now = now or utc_now()
    unusable = expired_reason(partner_cert, now)
    if unusable:
        raise DeliveryRefused(unusable_code(partner_cert, now),
                              f"the sender's certificate {keys.named(partner_cert)} {unusable}: the hub accepts "
                              "nothing signed under it; give the hub your renewed certificate (checked out of band), "
                              "then send the delivery again", name)
    raw_manifest, signature = mpath.read_bytes(), spath.read_bytes()
    if not verify(raw_manifest, signature, partner_cert):
        signer = next((who for who, c in (other_certs or {}).items() if verify(raw_manifest, signature, c)), None)
        if signer:
            raise DeliveryRefused("UNKNOWN_SIGNER", f"manifest signed by {signer}, not by the sending partner", name)
        raise DeliveryRefused("BAD_SIGNATURE", "manifest signature does not verify with the partner's certificate",
                              name)
    m = manifests.parse(raw_manifest, name)
    out_dir = Path(work_dir) if work_dir is not None else data.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{delivery_base(name)}.csv"
    choose = HubRecipients(hub_cert, hub_key, earlier, now, name)
    with atomic_write(out, fsync=False) as part:            # a crash fetches and decrypts again
        try:
            digest = decrypt_file(data, part, hub_cert, hub_key, choose)
        except (DeliveryRefused, HubKeyUnreadable):
            raise
        except Exception as exc:  # noqa: BLE001 - the parser, cryptography and the file system raise several types
            raise DeliveryRefused("DECRYPT_FAILED", f"CMS decryption with the hub key failed: {exc}", name) from exc
        if digest != m.sha256:
            raise DeliveryRefused("HASH_MISMATCH", f"plaintext sha256 {digest} differs from the manifest's {m.sha256}",
                                  name)
    return out, m


def seal_delivery(plaintext: Path, feed: str, sequence: int, records: int, encoding: str,
                  recipient_cert: x509.Certificate, signer_key, out_dir: Path, name: str | None = None,
                  base: str | None = None) -> list[Path]:
    """Write `<base>.csv.p7m`, `<base>.manifest.json` and its `.sig` into out_dir, as a partner
    (or the hub, outbound) does; returns [data, manifest, signature].

    `name`/`base` name the files when the data is not a `<base>.csv` delivery (a receipt
    `X.receipt.json` is sealed as X.receipt.json.p7m + X.receipt.json.manifest.json).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    data_name = name or (plaintext.name if plaintext.name.endswith(".p7m") else plaintext.name + ".p7m")
    base = base or delivery_base(data_name)
    raw = manifests.build(feed, data_name, sha256_file(plaintext), records, encoding, sequence).to_bytes()
    sealed = out_dir / data_name
    with atomic_write(sealed, fsync=False) as part:
        encrypt_file(plaintext, part, recipient_cert)
    files = {base + MANIFEST: raw, base + SIGNATURE: sign(raw, signer_key)}
    for fname, content in files.items():
        write_atomically(out_dir / fname, content, fsync=False)
    return [sealed, *(out_dir / f for f in files)]
