"""The answers to a held batch (jinbao/release.py) through `jinbao batches release|refuse|rejudge`, on SQLite
and PostgreSQL: what the store, the partner's receipt, the drop zone and the exchange log show afterwards."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.release import CannotAnswer, NotHeld, answer, os_user
from jinbao.store.database import connect as engine
from tests.deliveries import death_row, write_delivery
from tests.faults.test_mapping_changed import _new_dereg_reason_version, mappings_copy  # noqa: F401 - a fixture

FEED = "police.death"
FILE = "police.death_20261122_000001.csv"


def _rows(cfg, sql: str):
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _held(cfg, bad: int = 4) -> list[dict]:
    """A police.death delivery of 10 records, `bad` of them with deregistration reason 7 (unmapped): held."""
    rows = [death_row(i) for i in range(10)]
    for r in rows[:bad]:
        r["ZXYY"] = "7"
    write_delivery(cfg.inbound("police"), FEED, rows)
    assert main(["run", FEED]) == 2
    assert _rows(cfg, "select status from batch") == [{"status": "held"}]
    return rows


def _receipt(cfg) -> dict:
    return json.loads((cfg.outbound("police") / FILE.replace(".csv", ".receipt.json")).read_text())


def _log(cfg) -> list[tuple]:
    return [(r["direction"], r["status"], r["who"], r["purpose"]) for r in
            _rows(cfg, "select direction, status, who, purpose from exchange_log order by seq")]


def test_refuse_quarantines_the_delivery_and_asks_the_partner_to_resend(home, capsys):
    rows = _held(home)
    reason = (f"record of {rows[0]['GMSFHM']}: reason 7 is not agreed; see {home.home}/staging/x.csv "
              "or run `jinbao batches list`")
    assert main(["batches", "refuse", "1", "--reason", reason]) == 0
    assert "refused batch 1 (police.death_20261122_000001.csv) after review" in capsys.readouterr().out
    batch = _rows(home, "select status, reason_code, published, staging_dir from batch")[0]
    assert (batch["status"], batch["reason_code"], batch["published"]) == ("refused", "REFUSED_AFTER_REVIEW", None)
    assert _rows(home, "select * from death_record") == []
    # quarantined like any refused delivery, and acknowledged: it leaves inbound/
    assert batch["staging_dir"].startswith(str(home.quarantine)) and (
        home.quarantine / FEED / f"1-{FILE}" / FILE).exists()
    assert not (home.inbound("police") / FILE).exists()
    # the partner's receipt: refused after review, the reason, and no ID, hub path or command
    receipt = _receipt(home)
    text = json.dumps(receipt, ensure_ascii=False)
    assert receipt["status"] == "refused" and receipt["reason_code"] == "REFUSED_AFTER_REVIEW"
    assert "refused whole after review" in receipt["message"] and "reason 7 is not agreed" in receipt["message"]
    assert rows[0]["GMSFHM"] not in text and str(home.home) not in text and "jinbao" not in text
    # the exchange log: the held verdict, the answer with who and why (ID masked), the refusal's receipt
    log = _log(home)
    assert [(d, s) for d, s, _, _ in log] == [("in", "held"), ("review", "refuse"), ("in", "refused")]
    assert log[1][2] == os_user() and "reason 7 is not agreed" in log[1][3] and rows[0]["GMSFHM"] not in log[1][3]
    # the sequence stays free: the partner's corrected resend is taken and published
    write_delivery(home.inbound("police"), FEED, [death_row(i) for i in range(10)])
    assert main(["run", FEED]) == 0
    assert _rows(home, "select status from batch order by id") == [{"status": "refused"}, {"status": "published"}]


def test_rejudge_after_a_mapping_fix_publishes_and_the_log_keeps_both_verdicts(sqlite_home, mappings_copy):
    _held(sqlite_home)
    _new_dereg_reason_version(mappings_copy, dt.date(2026, 11, 1))      # 7 now maps, from before the delivery
    assert main(["batches", "rejudge", "1"]) == 0
    batch = _rows(sqlite_home, "select status, accepted, rejected, published, mapping_version from batch")[0]
    assert (batch["status"], batch["accepted"], batch["rejected"], batch["published"]) == ("published", 10, 0, 10)
    assert "police.dereg_reason@2026.2" in batch["mapping_version"]
    assert len(_rows(sqlite_home, "select * from death_record")) == 10
    assert _receipt(sqlite_home)["status"] == "published" and _receipt(sqlite_home)["rejected"] == 0
    assert (sqlite_home.inbound("police") / "processed" / "1" / FILE).exists()
    log = _rows(sqlite_home, "select direction, status, who, accepted, purpose from exchange_log order by seq")
    assert [(r["direction"], r["status"], r["accepted"]) for r in log] == [
        ("in", "held", 6), ("review", "rejudge", 6), ("in", "published", 10)]
    assert log[1]["who"] == os_user() and "police.dereg_reason@2026.2" in log[1]["purpose"]


def test_rejudge_without_a_fix_holds_again_and_waits_for_another_answer(sqlite_home, capsys):
    _held(sqlite_home)
    assert main(["batches", "rejudge", "1"]) == 2                     # still held: not a success
    assert "now held; it waits for another answer" in capsys.readouterr().out
    assert _rows(sqlite_home, "select status, rejected from batch") == [{"status": "held", "rejected": 4}]
    assert (sqlite_home.inbound("police") / FILE).exists()             # not acknowledged
    assert [(d, s) for d, s, _, _ in _log(sqlite_home)] == [("in", "held"), ("review", "rejudge"), ("in", "held")]
    # another answer is taken: released as judged
    done = answer(1, "release", "reviewer@hub")
    assert done.outcome.status == "published" and done.outcome.published == 6
    assert _log(sqlite_home)[-2:] == [("review", "release", "reviewer@hub", None), ("in", "published", None, None)]


def test_only_a_held_batch_is_answered_and_a_refusal_needs_a_reason(sqlite_home, capsys):
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(i) for i in range(5)])
    assert main(["run", FEED]) == 0
    for action in (["release", "1"], ["rejudge", "1"], ["refuse", "1", "--reason", "no"]):
        assert main(["batches", *action]) == 1
        assert "batch 1 (police.death_20261122_000001.csv) is published, not held" in capsys.readouterr().err
    assert main(["batches", "release", "9"]) == 1 and "no batch 9" in capsys.readouterr().err
    with pytest.raises(CannotAnswer, match="needs a reason"):
        answer(1, "refuse", "someone", "  ")
    with pytest.raises(NotHeld):
        answer(1, "release", "someone")
    assert [(d, s) for d, s, _, _ in _log(sqlite_home)] == [("in", "published")]    # nothing answered, nothing logged
