"""`jinbao run police.death` SIGKILLed at every step (tests/faults/inject.py), then a plain rerun.

Whatever the spot, the rerun ends the delivery exactly as an undisturbed run would: published
once (or refused once), receipt sent, delivery in inbound/processed/<batch>/, and a delivery that
arrived meanwhile goes through too; even right after the kill the accounting holds (nothing half
published, nothing moved without its batch).
"""
from __future__ import annotations

import json
import signal

import pytest

from jinbao.cli import main
from tests.faults.conftest import FEED, drop_plain, jinbao, people, rows_of
from tests.faults.invariants import assert_accounted, published_keys

PUBLISHED_PATH = [
    "kill:receive.fetch",
    "kill:receive.after_insert",
    "kill:receive.before_staging_recorded",
    "kill:judge.mid_write",
    "kill:judge.before_status",
    "kill:publish.in_transaction",
    "kill:publish.after_commit",
    "kill:finish.after_receipt",
    "kill:finish.after_ack",
]


def _killed(point: str):
    proc = jinbao("run", FEED, fault=point)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-2000:])


@pytest.mark.parametrize("point", PUBLISHED_PATH)
def test_killed_anywhere_then_rerun_publishes_exactly_once(pg_home, point, capsys):
    cfg = pg_home
    rows = people(300)
    for r in rows[10:13]:
        r["XB"] = "5"                                  # three records rejected, the rest published
    path = drop_plain(cfg, rows)
    inbound = cfg.inbound("police")

    _killed(point)
    assert_accounted(cfg, inbound, settled=False)      # the crash itself broke nothing
    later = drop_plain(cfg, people(20, start=1000), seq=2)   # arrives before the rerun

    assert main(["run", FEED]) == 0                   # the rerun (in this process: nothing is armed here)
    first, second = assert_accounted(cfg, inbound)
    assert (first["status"], first["received"], first["rejected"], first["published"]) == ("published", 300, 3, 297)
    assert (second["status"], second["file_name"], second["published"]) == ("published", later.name, 20)
    assert published_keys(cfg) == 317
    assert first["receipt_at"] is not None
    assert (inbound / "processed" / str(first["id"]) / path.name).exists() and not path.exists()

    capsys.readouterr()
    assert main(["run", FEED]) == 0                   # and a third run finds nothing left to do
    assert "no delivery waiting" in capsys.readouterr().out
    assert published_keys(cfg) == 317 and len(rows_of(cfg, "select id from batch")) == 2


REFUSED_PATH = [
    "kill:publish.after_commit",                       # i.e. before finish: refused, nothing sent yet
    "kill:finish.after_quarantine",
    "kill:finish.after_receipt",
    "kill:finish.after_ack",
]


@pytest.mark.parametrize("point", REFUSED_PATH)
def test_killed_while_refusing_then_rerun_refuses_exactly_once(pg_home, point):
    cfg = pg_home
    path = drop_plain(cfg, people(20))
    raw = path.read_bytes().decode("gb18030").replace("SWRQ,", "SWRQX,", 1)    # a header without SWRQ
    path.write_bytes(raw.encode("gb18030"))
    delivery = path.read_bytes()
    inbound = cfg.inbound("police")

    _killed(point)
    assert_accounted(cfg, inbound, settled=False)

    # wherever it was killed, the rerun ends the refusal (receipt, quarantine, acknowledgement) and says so
    assert main(["run", FEED]) == 2
    (batch,) = assert_accounted(cfg, inbound)
    assert (batch["status"], batch["reason_code"]) == ("refused", "HEADER_MISMATCH")
    assert batch["receipt_at"] is not None and batch["acked_at"] is not None
    assert published_keys(cfg) == 0
    kept = cfg.quarantine / FEED / f"{batch['id']}-{path.name}"
    assert (kept / path.name).read_bytes() == delivery                   # the hub's copy, for a person
    assert (inbound / "processed" / str(batch["id"]) / path.name).read_bytes() == delivery


def test_acknowledgement_is_recorded_even_when_killed_right_after_it(pg_home):
    cfg = pg_home
    path = drop_plain(cfg, people(20))
    _killed("kill:finish.after_ack")
    assert jinbao("run", FEED).returncode == 0
    (batch,) = assert_accounted(cfg, cfg.inbound("police"))
    assert batch["acked_at"] is not None, "published and moved to processed/, acked_at never recorded"
    # the partner resends the same file: it should be acknowledged as ALREADY_TAKEN, with its own receipt
    path.write_bytes((cfg.inbound("police") / "processed" / "1" / path.name).read_bytes())
    assert jinbao("run", FEED).returncode == 2
    assert [r["reason_code"] for r in rows_of(cfg, "select reason_code from batch order by id")] == [
        None, "ALREADY_TAKEN"]



@pytest.mark.parametrize("point", REFUSED_PATH)
def test_killed_while_refusing_a_sealed_delivery(pg_home, monkeypatch, point):
    """The same over the CMS envelope (JINBAO_TRANSPORT=local+cms): a delivery is three files, and all
    three must end in processed/ (and in quarantine), none left behind in inbound/."""
    from jinbao.keys import init_keys
    from tests.deliveries import write_delivery
    from tests.faults.conftest import seal

    cfg = pg_home
    init_keys(cfg.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    plain = write_delivery(cfg.home / "police-side", FEED, people(5))
    files = seal(cfg, plain, cfg.inbound("police"), records=7)            # the manifest promises 7 records
    inbound = cfg.inbound("police")

    _killed(point)
    assert_accounted(cfg, inbound, settled=False, sources={files[0].name: plain.read_bytes()})

    assert main(["run", FEED]) == 2      # the rerun finishes the refusal (acked_at recorded) and reports it
    (batch,) = assert_accounted(cfg, inbound, sources={files[0].name: plain.read_bytes()})
    assert (batch["status"], batch["reason_code"]) == ("refused", "COUNT_MISMATCH")
    assert sorted(p.name for p in (inbound / "processed" / str(batch["id"])).iterdir()) == sorted(f.name for f in files)
    assert [p.name for p in inbound.iterdir() if p.is_file()] == []


@pytest.mark.parametrize("point", ["kill:publish.in_transaction", "kill:publish.after_commit",
                                   "kill:finish.after_receipt"])
def test_release_killed_then_finished_by_a_release_or_a_run(pg_home, point):
    """`jinbao batches release` of a held batch SIGKILLed; before the commit a person releases again,
    after it the next plain run ends the batch (updated receipt, delivery out of inbound/)."""
    cfg = pg_home
    rows = people(10)
    for r in rows[:3]:
        r["ZXYY"] = "7"                                # 30 % rejected: held
    path = drop_plain(cfg, rows)
    inbound = cfg.inbound("police")
    assert main(["run", FEED]) == 2
    (held,) = assert_accounted(cfg, inbound)
    assert held["status"] == "held"

    killed = jinbao("batches", "release", str(held["id"]), fault=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert_accounted(cfg, inbound, settled=False)
    if point == "kill:publish.in_transaction":
        assert rows_of(cfg, "select status from batch") == [{"status": "held"}] and published_keys(cfg) == 0
        assert main(["batches", "release", str(held["id"])]) == 0
    else:
        assert main(["run", FEED]) == 0
    (batch,) = assert_accounted(cfg, inbound)
    assert (batch["status"], batch["published"]) == ("published", 7) and published_keys(cfg) == 7
    assert not path.exists()
    assert json.loads((cfg.outbound("police") / path.name.replace(".csv", ".receipt.json")).read_text())[
        "status"] == "published"
