"""Streamed CMS decryption (exchange_zone/cms.py): our own envelopes and the openssl CLI's, definite and
BER indefinite lengths, CBC and GCM, PKCS#1 v1.5 and OAEP, and every way a file can be wrong."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tracemalloc

import pytest

from jinbao.exchange_zone import cms, envelope
from jinbao.keys import cert_path, hub_cert, hub_key, init_keys, key_path, load_cert, load_key, partner_cert
from jinbao.staged.refused import DeliveryRefused

NAME = "police.identity_20261122_000001.csv.p7m"
BASE = "police.identity_20261122_000001"
openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    init_keys(home, ("police", "health"))
    return home


def _plain(n: int = 300_000) -> bytes:
    line = "GMSFHM,XM,XB\n11010519491231002X,张三,1\n".encode("gb18030")
    return (line * (n // len(line) + 1))[:n]


def _openssl_seal(tmp_path, keys, plain: bytes, *options: str) -> bytes:
    src, out = tmp_path / "plain.csv", tmp_path / "sealed.der"
    src.write_bytes(plain)
    keyopts = [o for i, o in enumerate(options) if o == "-keyopt" or (i and options[i - 1] == "-keyopt")]
    options = [o for o in options if o not in keyopts]
    subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-outform", "DER", *options, "-in", str(src),
                    "-out", str(out), "-recip", str(cert_path(keys, "hub")), *keyopts], check=True,
                   capture_output=True)
    return out.read_bytes()


def _decrypt(sealed: bytes, keys) -> bytes:
    return envelope.decrypt(sealed, hub_cert(keys), hub_key(keys))


def _drop(tmp_path, keys, sealed: bytes, plain: bytes):
    """A delivery folder as the police send it: the sealed file, its manifest and signature."""
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    (drop / NAME).write_bytes(sealed)
    manifest = {"feed": "police.identity", "file": NAME, "sha256": hashlib.sha256(plain).hexdigest(),
                "records": 1, "encoding": "GB18030", "sequence": 1, "created_at": "2026-11-22T18:00:00+00:00"}
    raw = json.dumps(manifest).encode()
    (drop / f"{BASE}.manifest.json").write_bytes(raw)
    (drop / f"{BASE}.manifest.json.sig").write_bytes(envelope.sign(raw, load_key(keys, "police")))
    return drop


def _open(drop, keys):
    return envelope.open_delivery(sorted(drop.iterdir()), partner_cert(keys, "police"), hub_key(keys),
                                  hub_cert(keys), drop / "work")


@openssl
@pytest.mark.parametrize("options", [
    ["-aes-256-cbc"],                                        # definite length, one primitive OCTET STRING
    ["-aes-256-cbc", "-stream"],                             # BER indefinite, 4 KiB segments
    ["-aes-128-cbc", "-stream"], ["-aes-192-cbc"],
    ["-aes-256-gcm", "-stream"], ["-aes-128-gcm"],           # AuthEnvelopedData, tag after the content
    ["-aes-256-cbc", "-keyopt", "rsa_padding_mode:oaep"],
    ["-aes-256-cbc", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"],
], ids=lambda o: " ".join(o))
def test_openssl_envelopes_decrypt(tmp_path, keys, options):
    plain = _plain()
    sealed = _openssl_seal(tmp_path, keys, plain, *options)
    assert _decrypt(sealed, keys) == plain
    out, m = _open(_drop(tmp_path, keys, sealed, plain), keys)
    assert out.read_bytes() == plain and m.sha256 == hashlib.sha256(plain).hexdigest()
    assert not list(out.parent.glob("*.part"))


@openssl
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4096, 4097])
def test_sizes_around_blocks_and_segments(tmp_path, keys, size):
    plain = _plain(size)
    for options in (["-aes-256-cbc", "-stream"], ["-aes-256-cbc"]):
        assert _decrypt(_openssl_seal(tmp_path, keys, plain, *options), keys) == plain
    assert _decrypt(envelope.encrypt(plain, hub_cert(keys)), keys) == plain


@openssl
def test_small_read_chunks(tmp_path, keys, monkeypatch):
    """Segments and headers split across reads of the buffer are put together again."""
    plain = _plain(50_000)
    sealed = _openssl_seal(tmp_path, keys, plain, "-aes-256-cbc", "-stream")
    monkeypatch.setattr(cms, "CHUNK", 7)
    assert _decrypt(sealed, keys) == plain
    assert _decrypt(envelope.encrypt(plain, hub_cert(keys)), keys) == plain


@openssl
def test_our_envelope_is_what_openssl_reads(tmp_path, keys):
    plain = _plain(100_001)
    src = tmp_path / "plain.csv"
    src.write_bytes(plain)
    envelope.encrypt_file(src, tmp_path / "x.p7m", hub_cert(keys))
    out = subprocess.run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(tmp_path / "x.p7m"),
                          "-inkey", str(key_path(keys, "hub"))], check=True, capture_output=True).stdout
    assert out == plain


@openssl
def test_recipient_named_by_subject_key_identifier(tmp_path):
    """`openssl cms -keyid` (a certificate with a subject key identifier, as `openssl req` makes them)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(tmp_path / "c.pem"), "-days", "1", "-subj", "/CN=hub"], check=True, capture_output=True)
    cert = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes())
    key = load_pem_private_key((tmp_path / "k.pem").read_bytes(), None)
    plain = _plain(10_000)
    (tmp_path / "plain.csv").write_bytes(plain)
    subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-stream", "-keyid", "-aes-256-cbc", "-outform", "DER",
                    "-in", str(tmp_path / "plain.csv"), "-out", str(tmp_path / "s.der"), str(tmp_path / "c.pem")],
                   check=True)
    assert envelope.decrypt((tmp_path / "s.der").read_bytes(), cert, key) == plain


def _refused(tmp_path, keys, sealed: bytes, plain: bytes) -> DeliveryRefused:
    drop = _drop(tmp_path, keys, sealed, plain)
    with pytest.raises(DeliveryRefused) as exc:
        _open(drop, keys)
    assert exc.value.file == NAME and NAME in str(exc.value)
    assert not (drop / "work" / f"{BASE}.csv").exists() and not list((drop / "work").glob("*.part"))
    return exc.value


@openssl
@pytest.mark.parametrize("options", [["-aes-256-cbc"], ["-aes-256-cbc", "-stream"], ["-aes-256-gcm", "-stream"]],
                         ids=lambda o: " ".join(o))
def test_truncated_files_are_decrypt_failed(tmp_path, keys, options):
    plain = _plain()
    sealed = _openssl_seal(tmp_path, keys, plain, *options)
    for cut in (1, 2, 16, 1000, len(sealed) // 2, len(sealed) - 300, len(sealed) - 1):
        exc = _refused(tmp_path, keys, sealed[:cut], plain)
        assert exc.reason_code == "DECRYPT_FAILED", cut
        assert "CMS decryption with the hub key failed" in exc.detail
    assert _refused(tmp_path, keys, sealed + b"\x00", plain).reason_code == "DECRYPT_FAILED"


@openssl
@pytest.mark.parametrize("options", [["-aes-256-cbc"], ["-aes-256-cbc", "-stream"], ["-aes-128-gcm", "-stream"]],
                         ids=lambda o: " ".join(o))
def test_tampered_bytes_are_refused(tmp_path, keys, options):
    plain = _plain()
    sealed = _openssl_seal(tmp_path, keys, plain, *options)
    gcm = "gcm" in options[0]
    for at in (5, 300, len(sealed) // 2, len(sealed) - 40, len(sealed) - 20):
        damaged = bytearray(sealed)
        damaged[at] ^= 0x01
        code = _refused(tmp_path, keys, bytes(damaged), plain).reason_code
        # a flipped ciphertext bit garbles a block: CBC says so by the hash, GCM by its tag
        assert code in (("DECRYPT_FAILED",) if gcm else ("DECRYPT_FAILED", "HASH_MISMATCH")), at


def test_wrong_key_is_decrypt_failed(tmp_path, keys):
    plain = _plain(1000)
    to_health = envelope.encrypt(plain, load_cert(keys, "health"))
    exc = _refused(tmp_path, keys, to_health, plain)
    assert exc.reason_code == "DECRYPT_FAILED" and "no recipient is the hub's certificate" in exc.detail
    # the hub's certificate named, but the key is another: the content key does not unwrap
    with pytest.raises(cms.CMSError):
        envelope.decrypt(envelope.encrypt(plain, hub_cert(keys)), hub_cert(keys), load_key(keys, "health"))


def test_not_an_envelope_is_decrypt_failed(tmp_path, keys):
    plain = _plain(100)
    for junk in (b"", b"\x00", b"\x30\x80", plain, envelope.sign(plain, load_key(keys, "police")),
                 b"\x30\x89" + b"\xff" * 20, b"\x30\x84\xff\xff\xff\xff" + b"\x06\x03" * 4):
        assert _refused(tmp_path, keys, junk, plain).reason_code == "DECRYPT_FAILED"


def test_our_envelopes_round_trip_through_files(tmp_path, keys):
    plain = _plain(3 * cms.CHUNK + 5)
    src = tmp_path / "police.identity_20261122_000001.csv"
    src.write_bytes(plain)
    files = envelope.seal_delivery(src, "police.identity", 1, 1, "GB18030", hub_cert(keys),
                                   load_key(keys, "police"), tmp_path / "drop")
    assert [f.name for f in files] == [NAME, f"{BASE}.manifest.json", f"{BASE}.manifest.json.sig"]
    out, m = _open(tmp_path / "drop", keys)
    assert out.read_bytes() == plain and m.sha256 == hashlib.sha256(plain).hexdigest()


@openssl
def test_memory_does_not_grow_with_the_file(tmp_path, keys):
    """64 MiB through the decryptor with Python allocations peaking at a few chunks, not the file."""
    plain = _plain(64 << 20)
    sealed = tmp_path / "big.der"
    (tmp_path / "plain.csv").write_bytes(plain)
    subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-stream", "-aes-256-cbc", "-outform", "DER", "-in",
                    str(tmp_path / "plain.csv"), "-out", str(sealed), str(cert_path(keys, "hub"))], check=True)
    want = hashlib.sha256(plain).hexdigest()
    del plain
    cert, key = hub_cert(keys), hub_key(keys)
    for src in (sealed, None):
        if src is None:                    # and our own definite-length envelope of the same data
            src = tmp_path / "ours.der"
            envelope.encrypt_file(tmp_path / "plain.csv", src, cert)
        tracemalloc.start()
        try:
            digest = envelope.decrypt_file(src, tmp_path / "out.csv", cert, key)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert digest == want
        assert peak < 8 * cms.CHUNK, peak       # 64 MiB decrypted
