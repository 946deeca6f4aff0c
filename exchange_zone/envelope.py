"""Signed, encrypted deliveries (exchange agreements §4), with cryptography's PKCS7 support.

Inbound, in this order: the manifest's signature must verify with the sending
partner's certificate (nothing is decrypted for an unknown signer), the data
must decrypt with the hub's key, and the plaintext must match the manifest's
sha256.  Outbound is the mirror: encrypted to the partner, manifest signed by
the hub.  The formats are exactly what `openssl cms -encrypt -binary
-aes-256-cbc -outform DER` and `openssl dgst -sha256 -sign` produce, which the
tests check with the openssl command line both ways.

cryptography's PKCS7 functions work on bytes in memory, so a delivery is held
in memory once while it is opened (a day's file is tens of MB); decrypted data
is written to staging before it is parsed as a stream.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

from jinbao.connectors.base import delivery_base
from jinbao.exchange_zone import manifest as manifests
from jinbao.exchange_zone.errors import DeliveryRefused


def encrypt(data: bytes, recipient: x509.Certificate) -> bytes:
    return (pkcs7.PKCS7EnvelopeBuilder().set_data(data).set_content_encryption_algorithm(algorithms.AES256)
            .add_recipient(recipient).encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))


def decrypt(der: bytes, cert: x509.Certificate, key) -> bytes:
    return pkcs7.pkcs7_decrypt_der(der, cert, key, [])   # binary content: no Text canonicalisation


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
        else:
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def open_delivery(folder: Path, data_name: str, partner_cert: x509.Certificate, hub_key, hub_cert,
                  other_certs: dict[str, x509.Certificate] | None = None) -> tuple[Path, manifests.Manifest]:
    """Verify, decrypt and check a fetched delivery; return (plaintext path, manifest).

    Refusals: BAD_SIGNATURE (does not verify), UNKNOWN_SIGNER (verifies, but with
    another party's certificate), MANIFEST_INVALID, DECRYPT_FAILED, HASH_MISMATCH.
    """
    base = delivery_base(data_name)
    raw_manifest = (folder / f"{base}.manifest.json").read_bytes()
    signature = (folder / f"{base}.manifest.json.sig").read_bytes()
    if not verify(raw_manifest, signature, partner_cert):
        signer = next((who for who, c in (other_certs or {}).items() if verify(raw_manifest, signature, c)), None)
        if signer:
            raise DeliveryRefused("UNKNOWN_SIGNER", f"manifest signed by {signer}, not by the sending partner",
                                  data_name)
        raise DeliveryRefused("BAD_SIGNATURE", "manifest signature does not verify with the partner's certificate",
                              data_name)
    m = manifests.parse(raw_manifest, data_name)
    try:
        plain = decrypt((folder / data_name).read_bytes(), hub_cert, hub_key)
    except Exception as exc:  # noqa: BLE001 - cryptography raises several types for bad input
        raise DeliveryRefused("DECRYPT_FAILED", f"CMS decryption with the hub key failed: {exc}", data_name) from exc
    digest = hashlib.sha256(plain).hexdigest()
    if digest != m.sha256:
        raise DeliveryRefused("HASH_MISMATCH", f"plaintext sha256 {digest} differs from the manifest's {m.sha256}",
                              data_name)
    out = folder / f"{base}.csv"
    out.write_bytes(plain)
    return out, m


def check_count(m: manifests.Manifest, records: int) -> None:
    if records != m.records:
        raise DeliveryRefused("COUNT_MISMATCH", f"{records} records received, manifest says {m.records}", m.file)


def seal_delivery(plaintext: Path, feed: str, sequence: int, records: int, encoding: str,
                  recipient: x509.Certificate, signer_key, out_dir: Path, name: str | None = None,
                  base: str | None = None) -> list[Path]:
    """Write <base>.csv.p7m, <base>.manifest.json and its .sig, as a partner (or the hub outbound) does.

    `base` names the manifest when the data file is not a `<base>.csv` delivery
    (a receipt `X.receipt.json` is sealed as X.receipt.json.p7m + X.receipt.json.manifest.json).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    data = plaintext.read_bytes()
    data_name = name or (plaintext.name if plaintext.name.endswith(".p7m") else plaintext.name + ".p7m")
    base = base or delivery_base(data_name)
    m = manifests.build(feed, data_name, hashlib.sha256(data).hexdigest(), records, encoding, sequence)
    raw = m.to_bytes()
    files = {data_name: encrypt(data, recipient), f"{base}.manifest.json": raw,
             f"{base}.manifest.json.sig": sign(raw, signer_key)}
    paths = []
    for fname, content in files.items():
        tmp = out_dir / (fname + ".part")
        tmp.write_bytes(content)
        tmp.replace(out_dir / fname)
        paths.append(out_dir / fname)
    return paths
