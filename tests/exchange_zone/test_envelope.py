"""CMS envelopes and manifest signatures, including interoperability with the openssl CLI."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from jinbao.connectors.base import companions_of
from jinbao.exchange_zone import envelope
from jinbao.keys import cert_path, hub_cert, hub_key, init_keys, key_path, load_cert, load_key, partner_cert
from jinbao.staged.refused import DeliveryRefused

NAME = "police.death_20261122_000001.csv.p7m"
PLAIN = "GMSFHM,XM\n11010519491231002X,张三\n".encode("gb18030")


@pytest.fixture
def keys(tmp_path):
    home = tmp_path / "home"
    init_keys(home, ("police", "health"))
    return home


def _open(folder, keys, work_dir=None):
    """The brief's form: the fetched files, whatever their order, and a work folder."""
    paths = sorted(folder.iterdir(), reverse=True)
    return envelope.open_delivery(paths, partner_cert(keys, "police"), hub_key(keys), hub_cert(keys),
                                  work_dir or folder / "work", other_certs={"health": partner_cert(keys, "health")})


def _seal(tmp_path, keys, signer="police"):
    src = tmp_path / "police.death_20261122_000001.csv"
    src.write_bytes(PLAIN)
    out = tmp_path / "drop"
    envelope.seal_delivery(src, "police.death", 1, 1, "GB18030", load_cert(keys, "hub"), load_key(keys, signer), out)
    return out


def test_round_trip(tmp_path, keys):
    out = _seal(tmp_path, keys)
    assert sorted(p.name for p in out.iterdir()) == [NAME, "police.death_20261122_000001.manifest.json",
                                                     "police.death_20261122_000001.manifest.json.sig"]
    assert PLAIN not in (out / NAME).read_bytes()
    plain, manifest = _open(out, keys, tmp_path / "work")
    assert plain == tmp_path / "work" / "police.death_20261122_000001.csv"
    assert plain.read_bytes() == PLAIN and manifest.records == 1 and manifest.sequence == 1
    assert manifest.feed == "police.death" and manifest.file == NAME and manifest.encoding == "GB18030"


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


def test_encrypted_to_someone_else_is_decrypt_failed(tmp_path, keys):
    src = tmp_path / "police.death_20261122_000001.csv"
    src.write_bytes(PLAIN)
    out = tmp_path / "drop"
    envelope.seal_delivery(src, "police.death", 1, 1, "GB18030", load_cert(keys, "health"), load_key(keys, "police"),
                           out)
    with pytest.raises(DeliveryRefused) as exc:
        _open(out, keys)
    assert exc.value.reason_code == "DECRYPT_FAILED"


def _resign(out, keys, **changes):
    mpath = out / "police.death_20261122_000001.manifest.json"
    m = json.loads(mpath.read_text())
    m.update(changes)
    mpath.write_bytes(json.dumps(m).encode())
    (out / "police.death_20261122_000001.manifest.json.sig").write_bytes(
        envelope.sign(mpath.read_bytes(), load_key(keys, "police")))


@pytest.mark.parametrize("changes", [{"sequence": 2}, {"feed": "police.identity"}, {"records": "1"},
                                     {"records": 1.5}, {"file": "police.death_20261122_000009.csv.p7m"},
                                     {"encoding": "latin-1"}, {"sha256": "xyz"}, {"created_at": None}])
def test_manifest_that_does_not_describe_the_file_is_refused(tmp_path, keys, changes):
    out = _seal(tmp_path, keys)
    _resign(out, keys, **changes)
    with pytest.raises(DeliveryRefused) as exc:
        _open(out, keys)
    assert exc.value.reason_code == "MANIFEST_INVALID"


def test_tampered_manifest_is_bad_signature(tmp_path, keys):
    out = _seal(tmp_path, keys)
    mpath = out / "police.death_20261122_000001.manifest.json"
    mpath.write_bytes(mpath.read_bytes().replace(b'"records": 1', b'"records": 2'))
    with pytest.raises(DeliveryRefused) as exc:
        _open(out, keys)
    assert exc.value.reason_code == "BAD_SIGNATURE"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_delivery_with_data_file_named_companions_is_accepted(tmp_path, keys):
    """`<same>.manifest.json` read as `<data file>.manifest.json` (X.csv.p7m.manifest.json) is also taken."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (tmp_path / "plain.csv").write_bytes(PLAIN)
    subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER", "-in",
                    str(tmp_path / "plain.csv"), "-out", str(drop / NAME), str(cert_path(keys, "hub"))], check=True)
    mpath = drop / (NAME + ".manifest.json")
    mpath.write_text(json.dumps({"feed": "police.death", "file": NAME, "sha256": hashlib.sha256(PLAIN).hexdigest(),
                                 "records": 1, "encoding": "GB18030", "sequence": 1, "created_at": "2026-11-22"}))
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_path(keys, "police")), "-out",
                    str(mpath) + ".sig", str(mpath)], check=True)
    assert companions_of([p.name for p in drop.iterdir()], NAME, envelope.COMPANIONS) == (NAME + ".manifest.json",
                                                                             NAME + ".manifest.json.sig")
    out, m = _open(drop, keys)
    assert out.read_bytes() == PLAIN
