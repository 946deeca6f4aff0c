"""exchange_zone/enveloped.py: signed, encrypted deliveries through a plain folder zone, both ways."""
from __future__ import annotations

import hashlib
import json

import pytest

from jinbao.connectors.local import LocalTransport
from jinbao.exchange_zone import envelope
from jinbao.exchange_zone.enveloped import Enveloped
from jinbao.keys import init_keys, load_cert, load_key
from jinbao.staged.refused import DeliveryRefused

FEED = "police.death"
BASE = "police.death_20261122_000001"
PLAIN = "GMSFHM,XM\n11010519491231002X,张三\n110105194912310037,李四\n".encode("gb18030")


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    init_keys(h)
    return h


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "exchange_zone" / "police"
    (z / "inbound").mkdir(parents=True)
    return z


def _partner_sends(home, zone, tmp_path, plain=PLAIN, records=2, signer="police", seq=1, recipient="hub"):
    """What the police do: write the CSV, encrypt it to the hub, sign the manifest, drop all three."""
    src = tmp_path / "police-side" / f"police.death_20261122_{seq:06d}.csv"
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(plain)
    return envelope.seal_delivery(src, FEED, seq, records, "GB18030", load_cert(home, recipient),
                                  load_key(home, signer), zone / "inbound")


def _opened(home, zone, tmp_path):
    t = Enveloped(LocalTransport(zone), home, "police")
    [d] = t.list_deliveries(FEED)
    return t, d, t.open(d, tmp_path / "staging" / "incoming")


def test_a_sealed_delivery_opens_to_its_plaintext_with_the_declared_count(home, zone, tmp_path):
    files = _partner_sends(home, zone, tmp_path)
    assert [f.name for f in files] == [f"{BASE}.csv.p7m", f"{BASE}.manifest.json", f"{BASE}.manifest.json.sig"]
    t, d, opened = _opened(home, zone, tmp_path)
    assert d.name == f"{BASE}.csv.p7m" and d.files == tuple(f.name for f in files)
    assert opened.delivery == d
    assert opened.data == tmp_path / "staging" / "incoming" / f"{BASE}.csv"
    assert opened.data.read_bytes() == PLAIN
    assert opened.sha256 == hashlib.sha256(PLAIN).hexdigest()        # of the plaintext, not of the ciphertext
    assert opened.declared_records == 2
    assert sorted(p.name for p in (tmp_path / "staging" / "incoming").iterdir()) == sorted(
        [*d.files, f"{BASE}.csv"])


def test_the_same_plaintext_sealed_twice_has_one_identity(home, zone, tmp_path):
    """Ciphertexts differ each time; the ledger must still see a resent delivery as the same one."""
    _partner_sends(home, zone, tmp_path)
    first_cipher = (zone / "inbound" / f"{BASE}.csv.p7m").read_bytes()
    _, _, first = _opened(home, zone, tmp_path / "a")
    _partner_sends(home, zone, tmp_path)
    assert (zone / "inbound" / f"{BASE}.csv.p7m").read_bytes() != first_cipher
    _, _, second = _opened(home, zone, tmp_path / "b")
    assert first.sha256 == second.sha256


def test_incomplete_delivery_is_not_listed(home, zone, tmp_path):
    _partner_sends(home, zone, tmp_path)
    (zone / "inbound" / f"{BASE}.manifest.json.sig").unlink()
    assert Enveloped(LocalTransport(zone), home, "police").list_deliveries(FEED) == []
    # nor by a bare zone: it takes plain .csv only, a .csv.p7m there is a stray (connectors/names.py)
    assert LocalTransport(zone).list_deliveries(FEED) == []


def _refusal(home, zone, tmp_path) -> DeliveryRefused:
    t = Enveloped(LocalTransport(zone), home, "police")
    [d] = t.list_deliveries(FEED)
    with pytest.raises(DeliveryRefused) as exc:
        t.open(d, tmp_path / "incoming")
    assert exc.value.file == d.name
    return exc.value


def test_tampered_ciphertext_is_refused(home, zone, tmp_path):
    files = _partner_sends(home, zone, tmp_path)
    data = bytearray(files[0].read_bytes())
    data[-30] ^= 0x55
    files[0].write_bytes(bytes(data))
    assert _refusal(home, zone, tmp_path).reason_code in ("DECRYPT_FAILED", "HASH_MISMATCH")


def test_tampered_manifest_is_a_bad_signature(home, zone, tmp_path):
    files = _partner_sends(home, zone, tmp_path)
    files[1].write_bytes(files[1].read_bytes().replace(b'"records": 2', b'"records": 3'))
    assert _refusal(home, zone, tmp_path).reason_code == "BAD_SIGNATURE"


def test_signed_by_another_partner_is_an_unknown_signer(home, zone, tmp_path):
    _partner_sends(home, zone, tmp_path, signer="health")
    err = _refusal(home, zone, tmp_path)
    assert err.reason_code == "UNKNOWN_SIGNER" and "health" in err.detail


def test_encrypted_to_someone_else_cannot_be_decrypted(home, zone, tmp_path):
    _partner_sends(home, zone, tmp_path, recipient="finance")
    assert _refusal(home, zone, tmp_path).reason_code == "DECRYPT_FAILED"


def test_a_plain_csv_with_companions_is_no_delivery_and_never_opened(home, zone, tmp_path):
    from jinbao.connectors.base import RemoteDelivery
    from jinbao.connectors.names import Form, classify

    (zone / "inbound" / f"{BASE}.csv").write_bytes(PLAIN)
    for suffix in envelope.COMPANIONS:
        (zone / "inbound" / f"{BASE}{suffix}").write_bytes(b"{}")
    t = Enveloped(LocalTransport(zone), home, "police")
    assert t.list_deliveries(FEED) == []                       # a stray here: set aside, never read
    [stray] = classify(t.entries(), [Form(FEED, True, envelope.COMPANIONS)], "police").strays
    assert (stray.name, stray.reason, stray.expected) == (f"{BASE}.csv", "NOT_SEALED", f"{BASE}.csv.p7m")
    with pytest.raises(DeliveryRefused) as exc:                 # and were it ever handed over, refused
        t.open(RemoteDelivery(f"{BASE}.csv", FEED, "20261122", 1, tuple(BASE + s for s in envelope.COMPANIONS)),
               tmp_path / "incoming")
    assert exc.value.reason_code == "MANIFEST_INVALID" and ".csv.p7m" in exc.value.detail


def test_send_puts_sealed_files_the_partner_can_open(home, zone, tmp_path):
    receipt = tmp_path / "receipts" / f"{BASE}.receipt.json"
    receipt.parent.mkdir()
    body = json.dumps({"status": "published", "file": f"{BASE}.csv.p7m", "message": "已发布"},
                      ensure_ascii=False).encode()
    receipt.write_bytes(body)
    t = Enveloped(LocalTransport(zone), home, "police")
    names = t.send(receipt, FEED, 1)
    out = zone / "outbound"
    assert names == [f"{BASE}.receipt.json.p7m", f"{BASE}.receipt.json.manifest.json",
                     f"{BASE}.receipt.json.manifest.json.sig"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)           # nothing in the clear, no .part
    sealed = (out / names[0]).read_bytes()
    assert body not in sealed and b"published" not in sealed
    assert envelope.decrypt(sealed, load_cert(home, "police"), load_key(home, "police")) == body
    with pytest.raises(Exception):
        envelope.decrypt(sealed, load_cert(home, "health"), load_key(home, "health"))
    raw_manifest = (out / names[1]).read_bytes()
    assert envelope.verify(raw_manifest, (out / names[2]).read_bytes(), load_cert(home, "hub"))
    assert not envelope.verify(raw_manifest, (out / names[2]).read_bytes(), load_cert(home, "police"))
    manifest = json.loads(raw_manifest)
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest() and manifest["file"] == names[0]
    assert (manifest["feed"], manifest["sequence"], manifest["records"]) == (FEED, 1, 1)


def test_listing_fetching_and_acking_go_through_the_inner_transport(home, zone, tmp_path):
    files = _partner_sends(home, zone, tmp_path)
    t, d, _ = _opened(home, zone, tmp_path)
    t.ack(d)
    assert sorted(p.name for p in (zone / "inbound" / "processed").iterdir()) == sorted(f.name for f in files)
    assert t.names() == set() and t.list_deliveries(FEED) == []
