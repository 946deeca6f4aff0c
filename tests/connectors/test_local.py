"""connectors/local.py (and the Transport protocol in connectors/base.py) on a plain folder drop zone."""
from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from jinbao.connectors import local as local_module
from jinbao.connectors.base import RemoteDelivery, parse_delivery_name
from jinbao.connectors.local import LocalTransport
from jinbao.exchange_zone.envelope import COMPANIONS

FEED = "police.death"


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "exchange_zone" / "police"
    (z / "inbound").mkdir(parents=True)
    return z


def _drop(zone, *names, content: bytes | None = None):
    for name in names:
        (zone / "inbound" / name).write_bytes(content if content is not None else name.encode())


def _delivery(name: str, companions=()) -> RemoteDelivery:
    d = parse_delivery_name(name)
    return RemoteDelivery(d.name, d.feed, d.business_date, d.sequence, tuple(companions))


def test_names_lists_only_regular_files(zone):
    _drop(zone, "police.death_20261122_000001.csv", "notes.txt")
    (zone / "inbound" / "processed").mkdir()
    _drop(zone, "processed/police.death_20261121_000001.csv")
    (zone / "inbound" / "police.death_20261122_000009.csv").mkdir()      # a folder with a delivery's name
    os.mkfifo(zone / "inbound" / "police.death_20261122_000010.csv")      # neither is a file to fetch
    assert LocalTransport(zone).names() == {"police.death_20261122_000001.csv", "notes.txt"}


def test_names_of_a_zone_without_inbound_is_empty(tmp_path):
    t = LocalTransport(tmp_path / "nowhere")
    assert t.names() == set() and t.list_deliveries(FEED) == []


def test_list_deliveries_ignores_temporary_names_other_feeds_and_other_files(zone):
    _drop(zone, "police.death_20261122_000003.csv", "police.death_20261122_000001.csv",
          "police.death_20261122_000002.csv.part", "police.death_20261122_000004.csv.tmp",
          ".police.death_20261122_000005.csv", "police.death_20261122_000006.csv~",
          "police.death_20261122_000007.csv.filepart",
          "police.identity_20261122_000001.csv", "police.death_2026112_000008.csv", "police.death.csv",
          "readme.txt")
    found = LocalTransport(zone).list_deliveries(FEED)
    assert [d.name for d in found] == ["police.death_20261122_000001.csv", "police.death_20261122_000003.csv"]
    assert found[1] == RemoteDelivery("police.death_20261122_000003.csv", FEED, "20261122", 3, ())
    assert [d.name for d in LocalTransport(zone).list_deliveries("police.identity")] == [
        "police.identity_20261122_000001.csv"]


def test_list_deliveries_orders_by_sequence_not_by_name(zone):
    _drop(zone, "police.death_20261123_10.csv", "police.death_20261122_9.csv", "police.death_20261121_000011.csv")
    assert [d.sequence for d in LocalTransport(zone).list_deliveries(FEED)] == [9, 10, 11]


def test_list_deliveries_waits_for_every_companion(zone):
    t = LocalTransport(zone)
    t.companions = COMPANIONS
    data = "police.death_20261122_000001.csv.p7m"
    _drop(zone, data)
    assert t.list_deliveries(FEED) == []
    _drop(zone, "police.death_20261122_000001.manifest.json")
    assert t.list_deliveries(FEED) == []
    _drop(zone, "police.death_20261122_000001.manifest.json.sig.part")      # signature still uploading
    assert t.list_deliveries(FEED) == []
    os.replace(zone / "inbound" / "police.death_20261122_000001.manifest.json.sig.part",
               zone / "inbound" / "police.death_20261122_000001.manifest.json.sig")
    [d] = t.list_deliveries(FEED)
    assert d.name == data and d.files == (data, "police.death_20261122_000001.manifest.json",
                                          "police.death_20261122_000001.manifest.json.sig")


def test_fetch_copies_every_file_of_the_delivery_into_dest(zone, tmp_path):
    names = ("police.death_20261122_000001.csv.p7m", "police.death_20261122_000001.manifest.json",
             "police.death_20261122_000001.manifest.json.sig")
    _drop(zone, *names)
    d = _delivery(names[0], names[1:])
    dest = tmp_path / "staging" / "incoming"
    got = LocalTransport(zone).fetch(d, dest)
    assert got == [dest / n for n in names]
    assert sorted(p.name for p in dest.iterdir()) == sorted(names)          # no .part left behind
    assert all((dest / n).read_bytes() == n.encode() for n in names)
    assert all((zone / "inbound" / n).exists() for n in names)               # fetching never removes


def test_fetch_is_all_or_nothing(zone, tmp_path):
    names = ("police.death_20261122_000001.csv.p7m", "police.death_20261122_000001.manifest.json",
             "police.death_20261122_000001.manifest.json.sig")
    _drop(zone, *names[:2])                                                   # the signature vanished
    dest = tmp_path / "incoming"
    with pytest.raises(FileNotFoundError):
        LocalTransport(zone).fetch(_delivery(names[0], names[1:]), dest)
    assert not dest.exists() or list(dest.iterdir()) == []


def test_fetch_of_a_vanished_delivery_fails_and_leaves_no_part_file(zone, tmp_path):
    dest = tmp_path / "incoming"
    with pytest.raises(FileNotFoundError):
        LocalTransport(zone).fetch(_delivery("police.death_20261122_000001.csv"), dest)
    assert list(dest.iterdir()) == []


def test_ack_moves_the_delivery_to_processed(zone):
    names = ("police.death_20261122_000001.csv.p7m", "police.death_20261122_000001.manifest.json",
             "police.death_20261122_000001.manifest.json.sig")
    _drop(zone, *names, "police.death_20261122_000002.csv.p7m")
    t = LocalTransport(zone)
    d = _delivery(names[0], names[1:])
    t.ack(d)
    assert sorted(p.name for p in (zone / "inbound" / "processed").iterdir()) == sorted(names)
    assert all((zone / "inbound" / "processed" / n).read_bytes() == n.encode() for n in names)
    assert t.names() == {"police.death_20261122_000002.csv.p7m"}             # the other delivery stays
    t.ack(d)                                                                  # repeating it is harmless
    assert len(list((zone / "inbound" / "processed").iterdir())) == 3


def test_put_writes_through_a_temporary_name(zone, tmp_path, monkeypatch):
    out = zone / "outbound"
    out.mkdir()
    (out / "r.receipt.json").write_text("old")
    src = tmp_path / "r.receipt.json"
    src.write_text("new receipt")
    seen = []
    real_copy = shutil.copyfile

    def watching_copy(a, b, *args, **kw):
        # while the bytes are being written the final name still holds the old, complete file
        seen.append((os.path.basename(b), (out / "r.receipt.json").read_text()))
        return real_copy(a, b, *args, **kw)
    monkeypatch.setattr(local_module.shutil, "copyfile", watching_copy)
    LocalTransport(zone).put(src, "r.receipt.json")
    assert seen == [("r.receipt.json.part", "old")]
    assert [p.name for p in out.iterdir()] == ["r.receipt.json"] and (out / "r.receipt.json").read_text() == "new receipt"


def test_put_creates_outbound(zone, tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"x")
    t = LocalTransport(zone)
    assert t.send(src, FEED, 1) == ["a.txt"]
    assert (zone / "outbound" / "a.txt").read_bytes() == b"x"


def test_open_hands_over_the_plaintext_and_its_sha256(zone, tmp_path):
    content = "GMSFHM,XM\n11010519491231002X,张三\n".encode("gb18030")
    _drop(zone, "police.death_20261122_000001.csv", content=content)
    t = LocalTransport(zone)
    [d] = t.list_deliveries(FEED)
    opened = t.open(d, tmp_path / "incoming")
    assert opened.delivery == d and opened.data == tmp_path / "incoming" / d.name
    assert opened.data.read_bytes() == content
    assert opened.sha256 == hashlib.sha256(content).hexdigest() and opened.declared_records is None


def test_strays_are_what_no_feed_of_the_partner_will_take():
    from jinbao.connectors.names import Form, classify
    entries = {"police.death_20261122_000001.csv": "file", "police.death_20261122_000001.manifest.json": "file",
               "police.death_20261122_000002.csv.part": "file", "processed": "dir", "link.csv": "other",
               "deaths.csv": "file", "health.death_certificate_20261122_000001.csv": "file"}
    found = classify(entries, [Form("police.death"), Form("police.identity")], "police")
    assert [(s.name, s.reason) for s in found.strays] == [
        ("deaths.csv", "BAD_NAME"), ("health.death_certificate_20261122_000001.csv", "BAD_NAME"),
        ("link.csv", "NOT_A_FILE"), ("police.death_20261122_000001.manifest.json", "BAD_NAME")]
    assert all("not read" in s.detail for s in found.strays)
    assert [d.name for d in found.of("police.death")] == ["police.death_20261122_000001.csv"]
    assert found.waiting == [("police.death_20261122_000002.csv.part", "upload in progress (temporary name)")]
    assert found.hub == ["processed"]
