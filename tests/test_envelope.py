"""CMS envelopes and manifest signatures, including interoperability with the openssl CLI."""
from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess

import pytest

from jinbao.exchange_zone import envelope
from jinbao.exchange_zone.errors import DeliveryRefused
from jinbao.keys import cert_path, init_keys, key_path, load_cert, load_key

NAME = "police.death_20261122_000001.csv.p7m"
PLAIN = "GMSFHM,XM\n11010519491231002X,张三\n".encode("gb18030")


@pytest.fixture
def keys(tmp_path):
    home = tmp_path / "home"
    init_keys(home, ("police", "health"))
    return home


def _open(folder, keys, name=NAME):
    return envelope.open_delivery(folder, name, load_cert(keys, "police"), load_key(keys, "hub"),
                                  load_cert(keys, "hub"), {"health": load_cert(keys, "health")})


def _seal(tmp_path, keys, signer="police"):
    src = tmp_path / "police.death_20261122_000001.csv"
    src.write_bytes(PLAIN)
    out = tmp_path / "drop"
    envelope.seal_delivery(src, "police.death", 1, 1, "GB18030", load_cert(keys, "hub"), load_key(keys, signer), out)
    return out


def test_keys_are_private_and_never_overwritten(keys):
    mode = stat.S_IMODE(key_path(keys, "hub").stat().st_mode)
    assert mode == 0o600
    before = key_path(keys, "hub").read_bytes()
    assert init_keys(keys, ("police", "health"))["hub"] == "kept"
    assert key_path(keys, "hub").read_bytes() == before


def test_round_trip(tmp_path, keys):
    out = _seal(tmp_path, keys)
    plain, manifest = _open(out, keys)
    assert plain.read_bytes() == PLAIN and manifest.records == 1 and manifest.sequence == 1
    with pytest.raises(DeliveryRefused, match="COUNT_MISMATCH"):
        envelope.check_count(manifest, 2)


def test_tampered_ciphertext_is_refused(tmp_path, keys):
    out = _seal(tmp_path, keys)
    data = bytearray((out / NAME).read_bytes())
    data[-20] ^= 0xFF
    (out / NAME).write_bytes(bytes(data))
    with pytest.raises(DeliveryRefused) as exc:
        _open(out, keys)
    assert exc.value.reason_code in ("DECRYPT_FAILED", "HASH_MISMATCH")


def test_wrong_signer_and_bad_signature(tmp_path, keys):
    out = _seal(tmp_path, keys, signer="health")
    with pytest.raises(DeliveryRefused, match="UNKNOWN_SIGNER"):
        _open(out, keys)
    out = _seal(tmp_path, keys)
    (out / "police.death_20261122_000001.manifest.json.sig").write_bytes(b"\x00" * 256)
    with pytest.raises(DeliveryRefused, match="BAD_SIGNATURE"):
        _open(out, keys)


def test_manifest_hash_mismatch(tmp_path, keys):
    out = _seal(tmp_path, keys)
    mpath = out / "police.death_20261122_000001.manifest.json"
    m = json.loads(mpath.read_text())
    m["sha256"] = "0" * 64
    mpath.write_bytes(json.dumps(m).encode())
    (out / "police.death_20261122_000001.manifest.json.sig").write_bytes(
        envelope.sign(mpath.read_bytes(), load_key(keys, "police")))
    with pytest.raises(DeliveryRefused, match="HASH_MISMATCH"):
        _open(out, keys)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_built_delivery_is_accepted(tmp_path, keys):
    drop = tmp_path / "drop"
    drop.mkdir()
    plain = tmp_path / "plain.csv"
    plain.write_bytes(PLAIN)
    subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER",
                    "-in", str(plain), "-out", str(drop / NAME), str(cert_path(keys, "hub"))], check=True)
    manifest = {"feed": "police.death", "file": NAME, "sha256": hashlib.sha256(PLAIN).hexdigest(), "records": 1,
                "encoding": "GB18030", "sequence": 1, "created_at": "2026-11-22T18:00:00+00:00"}
    mpath = drop / "police.death_20261122_000001.manifest.json"
    mpath.write_text(json.dumps(manifest))
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_path(keys, "police")), "-out",
                    str(mpath) + ".sig", str(mpath)], check=True)
    out, m = _open(drop, keys)
    assert out.read_bytes() == PLAIN and m.feed == "police.death"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_hub_sealed_file_opens_with_openssl(tmp_path, keys):
    src = tmp_path / "police.insured_status_20261122_000001.csv"
    src.write_bytes(PLAIN)
    out = tmp_path / "out"
    envelope.seal_delivery(src, "police.insured_status", 1, 1, "GB18030", load_cert(keys, "police"),
                           load_key(keys, "hub"), out)
    dec = subprocess.run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in",
                          str(out / (src.name + ".p7m")), "-inkey", str(key_path(keys, "police"))],
                         check=True, capture_output=True).stdout
    assert dec == PLAIN
    subprocess.run(["openssl", "x509", "-in", str(cert_path(keys, "hub")), "-pubkey", "-noout", "-out",
                    str(tmp_path / "hub.pub")], check=True)
    mpath = out / "police.insured_status_20261122_000001.manifest.json"
    ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "hub.pub"), "-signature",
                         str(mpath) + ".sig", str(mpath)], capture_output=True, text=True)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout
