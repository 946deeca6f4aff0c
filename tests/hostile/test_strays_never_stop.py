"""Class 3 of issue 23: a stray can never stop a feed.

Whatever a stray is called (a hub folder's name, 250 characters, a citizen ID, bytes that are not
UTF-8) and however many there are, with two feeds of the partner running at once: every run still
takes its deliveries, every stray is answered once, and names with IDs are masked everywhere —
receipts, the ledger, logs and standard output.
"""
from __future__ import annotations

import os
import threading

import pytest

from tests.deliveries import _person
from tests.faults.invariants import assert_accounted
from tests.hostile.conftest import FEED, no_unmasked_id, people, rows, run

ID = "110105194912310021"
IDENTITY = ["GMSFHM", "XM", "XB", "CSRQ", "MZ", "HJDZ_XZQH", "BGRQ"]
HOSTILE = ["rejected", "processed", "x" * 250, f"死亡名单 {ID}.csv", f"{ID}",
           "".join(chr(0xFF10 + int(c)) for c in ID) + ".csv",          # the ID in full-width digits
           b"\xcb\xc0\xcd\xf6\xc3\xfb\xb5\xa5.csv"]                         # 死亡名单.csv in GBK: not UTF-8


def identity_rows(n: int) -> list[dict]:
    out = []
    for i in range(n):
        aac002, name, male, birth = _person(i)
        out.append({"GMSFHM": aac002, "XM": name, "XB": "1" if male else "2", "CSRQ": birth, "MZ": "01",
                    "HJDZ_XZQH": aac002[:6], "BGRQ": "20261121"})
    return out


def _answered_once(zone, expected_strays: int) -> list[dict]:
    """Every stray one refused batch with one receipt about it; returns the strays' batches."""
    strays = rows(zone.cfg, "select * from batch where sha256 = '-' order by id")
    assert len(strays) == expected_strays, [s["file_name"] for s in strays]
    receipts = zone.receipts()
    for s in strays:
        about = [name for name, r in receipts.items() if r["batch_id"] == s["id"]]
        assert len(about) == 1 and about[0].startswith(f"stray.{s['id']}"), (s["file_name"], about)
        assert s["acked_at"] is not None and s["receipt_at"] is not None
    no_unmasked_id(*(str(r) for r in receipts.values()), *(s["file_name"] + (s["message"] or "") for s in strays))
    return strays


def test_hostile_names_never_stop_the_feed_and_ids_are_masked_everywhere(zone, capsys, caplog):
    from jinbao.cli import main

    for name in HOSTILE:
        zone.drop(name)
    os.mkdir(zone.inbound / f"folder {ID}")                       # a folder of the partner's, an ID in its name
    if zone.owner:
        zone._own(zone.inbound / f"folder {ID}")
    os.symlink("/", zone.inbound / "link.csv")
    delivery = zone.deliver(people(9), seq=1)

    code, out = run(capsys=capsys)
    assert code == 2
    [taken] = rows(zone.cfg, "select * from batch where sha256 <> '-'")
    assert (taken["file_name"], taken["status"], taken["received"], taken["published"]) == (delivery, "published",
                                                                                            9, 9)
    strays = _answered_once(zone, len(HOSTILE) + 2)
    assert zone.left() == []                                      # every entry ended
    aside = zone.aside()
    assert "rejected" in aside and "processed" in aside and "x" * 250 in aside
    assert os.path.isdir(zone.inbound / "processed" / str(taken["id"]))   # acknowledged past a file called so
    assert all(s["file_name"] in out for s in strays)             # each named on standard output, masked
    assert main(["batches", "list"]) == 0 and main(["audit", "log"]) == 0
    listing = capsys.readouterr().out
    assert f"folder {ID[:6]}********{ID[-4:]}" in listing
    no_unmasked_id(listing, caplog.text)
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)

    receipts_before = zone.receipt_bytes()
    assert run(capsys=capsys)[0] == 0                             # the next run: nothing again, nothing twice
    assert zone.receipt_bytes() == receipts_before
    _answered_once(zone, len(HOSTILE) + 2)


def test_two_feeds_of_the_partner_at_once_with_more_strays_than_a_run_sets_aside(zone, monkeypatch, caplog):
    from jinbao.declarations import get_feed
    from jinbao.engine import Engine
    from jinbao.exchange_zone import strays

    monkeypatch.setattr(strays, "PER_RUN", 4)
    names = [f"stray {i:02d}.csv" for i in range(9)] + ["rejected", f"{ID}.txt"]
    for name in names:
        zone.drop(name)
    death = zone.deliver(people(6), seq=1)
    identity = zone.deliver(identity_rows(5), seq=1, feed="police.identity", columns=IDENTITY)

    def round_of_runs() -> list[BaseException]:
        start, errors = threading.Barrier(2), []

        def one(feed: str) -> None:
            try:
                eng = Engine(get_feed(feed, zone.cfg), zone.cfg)
                start.wait(timeout=30)
                eng.run()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
        threads = [threading.Thread(target=one, args=(f,)) for f in (FEED, "police.identity")]
        [t.start() for t in threads]
        [t.join(timeout=120) for t in threads]
        return errors

    assert round_of_runs() == []
    published = rows(zone.cfg, "select file_name, received, published from batch where status = 'published' "
                               "order by id")
    assert sorted(published, key=lambda r: r["file_name"]) == sorted(
        [{"file_name": death, "received": 6, "published": 6}, {"file_name": identity, "received": 5, "published": 5}],
        key=lambda r: r["file_name"])                             # every run took its delivery, first time
    assert len(rows(zone.cfg, "select id from batch where sha256 = '-'")) == 8   # 4 per run, never more
    assert round_of_runs() == [] and zone.left() == []
    strays = _answered_once(zone, len(names))
    assert sorted(s["file_name"] for s in strays) == sorted(
        [n for n in names if ID not in n] + [f"{ID[:6]}********{ID[-4:]}.txt"])
    assert round_of_runs() == []
    _answered_once(zone, len(names))
    no_unmasked_id(caplog.text)
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)
    assert_accounted(zone.cfg, zone.inbound, feed="police.identity", sources=zone.sources or None)


def test_a_stray_that_cannot_be_moved_waits_and_is_answered_once_when_it_can(zone, monkeypatch, capsys, caplog):
    """Over SFTP a folder the partner's account may not move (root's); locally the same refusal, injected.
    The delivery is taken regardless; the operator is told what to do; once it can move, one receipt."""
    from jinbao.connectors.local import LocalTransport

    stuck = zone.inbound / "old deliveries"
    os.mkdir(stuck)                                                # owned by root: jb_police cannot move it
    real = LocalTransport.set_aside

    def refuse(self, name):
        if name == stuck.name:
            raise PermissionError(13, "Permission denied", name)
        return real(self, name)
    if zone.kind == "local":
        monkeypatch.setattr(LocalTransport, "set_aside", refuse)
    zone.drop("deaths.xlsx")
    delivery = zone.deliver(people(4), seq=1)

    assert run(capsys=capsys)[0] == 2
    assert rows(zone.cfg, "select status, published from batch where file_name = :n", n=delivery) == [
        {"status": "published", "published": 4}]
    [waiting] = rows(zone.cfg, "select * from batch where file_name = 'old deliveries'")
    assert waiting["acked_at"] is None and waiting["receipt_at"] is None       # recorded, not answered yet
    assert "could not set aside \"old deliveries\"" in caplog.text and "by hand" in caplog.text
    assert run(capsys=capsys)[0] == 0                              # still stuck: tried again, nothing twice
    assert len(rows(zone.cfg, "select id from batch where file_name = 'old deliveries'")) == 1

    monkeypatch.setattr(LocalTransport, "set_aside", real)         # the operator fixed it
    if zone.owner:
        zone._own(stuck)
    assert run(capsys=capsys)[0] == 2
    [answered] = _answered_once(zone, 2)[1:]
    assert answered["id"] == waiting["id"] and zone.left() == []
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)


class Killed(BaseException):
    """A run killed (kill -9, the machine gone) at that point: nothing after it happens."""


@pytest.mark.parametrize("when", ["before the move", "after the move"])
def test_a_run_killed_while_setting_aside_a_stray_answers_it_once(zone, monkeypatch, capsys, when):
    from jinbao.connectors.local import LocalTransport
    from jinbao.connectors.sftp import SftpTransport

    cls = LocalTransport if zone.kind == "local" else SftpTransport
    real = cls.set_aside

    def killed(self, name):
        if when == "after the move":
            real(self, name)
        raise Killed()
    monkeypatch.setattr(cls, "set_aside", killed)
    zone.drop(f"{ID} deaths.csv")
    delivery = zone.deliver(people(3), seq=1)
    with pytest.raises(Killed):
        run(capsys=capsys)
    monkeypatch.setattr(cls, "set_aside", real)
    assert run(capsys=capsys)[0] == 2                              # the stray answered now, the delivery resumed
    assert rows(zone.cfg, "select status, published from batch where file_name = :n", n=delivery) == [
        {"status": "published", "published": 3}]
    [stray] = _answered_once(zone, 1)
    assert stray["file_name"] == f"{ID[:6]}********{ID[-4:]} deaths.csv" and zone.left() == []
    assert zone.aside() == [f"{ID} deaths.csv"]
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)


def test_a_set_aside_of_rejected_retried_after_its_first_rename_carries_on(sshd_server):
    """Over SFTP a step is retried on a fresh connection: when the connection dropped after the stray called
    `rejected` was renamed to its interim name, the retry finishes the move instead of losing it."""
    from tests.sftp_fixtures import clean_zone, drop, transport_for

    clean_zone(sshd_server)
    inbound = sshd_server.zones["police"] / "inbound"
    drop(sshd_server, [".rejected.0123abcd.jinbao-aside"], content=b"the stray called rejected")
    with transport_for(sshd_server, companions=()) as t:
        t.set_aside("rejected")                                  # as the retry calls it
    assert sorted(os.listdir(inbound)) == ["rejected"] and os.listdir(inbound / "rejected") == ["rejected"]
    assert (inbound / "rejected" / "rejected").read_bytes() == b"the stray called rejected"
