"""The hub's own mistakes stay in the hub: a column failing one rule throughout is held as a suspected hub
configuration error with no receipt until a person answers (quality/suspect.py), and a store missing a table
is an operator error retried on the next run, never a refusal sent to the partner (jinbao/store/errors.py)."""
from __future__ import annotations

import json
import shutil

import sqlalchemy as sa
import yaml

from jinbao.cli import main
from jinbao.held_question import question
from jinbao.settings import shipped_feeds_dir
from jinbao.store.database import connect as engine
from tests.conftest import private_home
from tests.deliveries import death_row, enrollment_row, write_delivery, write_hrss
from tests.faults.test_mapping_changed import mappings_copy  # noqa: F401 - a fixture

FEED = "police.death"
FILE = "police.death_20261122_000001.csv"


def _rows(cfg, sql: str):
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _receipts(cfg) -> list[str]:
    folder = cfg.outbound("police")
    return sorted(p.name for p in folder.glob("*receipt*")) if folder.is_dir() else []


def _set_date_format(root, fmt: str) -> None:
    """police.death's SWRQ date_format in every version of the mapping copy the hub reads."""
    from jinbao.mappings import tables

    path = root / "feeds" / f"{FEED}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for version in raw["versions"]:
        version["fields"]["SWRQ"]["date_format"] = fmt
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tables._load.cache_clear()


def test_a_wrong_date_format_holds_the_batch_without_a_receipt_until_it_is_fixed_and_rejudged(
        sqlite_home, mappings_copy, caplog):
    cfg = sqlite_home
    _set_date_format(mappings_copy, "%Y-%m-%d")                    # the agreement says YYYYMMDD
    write_delivery(cfg.inbound("police"), FEED, [death_row(i) for i in range(20)])
    assert main(["run", FEED]) == 2
    (batch,) = _rows(cfg, "select status, reason_code, message, received, rejected from batch")
    assert (batch["status"], batch["reason_code"], batch["received"], batch["rejected"]) == \
        ("held", "HUB_CONFIG_SUSPECTED", 20, 20)
    # the operator's account: feed, column, rule, mapping file, what to check, what to do next
    account = batch["message"]
    assert account.startswith("suspected hub configuration error: 20 of the 20 values of column SWRQ fail "
                              "DATE_INVALID")
    assert f"date_format '%Y-%m-%d' (YYYY-MM-DD) in mapping {mappings_copy / 'feeds' / 'police.death.yaml'}" in account
    assert "`jinbao batches rejudge 1`" in account
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "police.death: batch 1 (police.death_20261122_000001.csv) held: suspected hub configuration error" in logged
    # nothing went to the partner, the delivery waits in inbound/, nothing is in the exchange log yet
    assert _receipts(cfg) == []
    assert (cfg.inbound("police") / FILE).exists()
    assert _rows(cfg, "select * from exchange_log") == []
    # the Required Action says so and what to do
    subject, body = question(cfg, 1)
    assert subject.startswith("Suspected hub configuration error: police.death")
    assert "suspected hub configuration error" in body and "jinbao batches rejudge 1" in body
    assert "not sent: held as a suspected hub configuration error" in body
    # another run leaves it held and still silent
    assert main(["run", FEED]) == 0 and _receipts(cfg) == []
    # fixed, judged again: published, and the partner gets one receipt, the one that says published
    _set_date_format(mappings_copy, "%Y%m%d")
    assert main(["batches", "rejudge", "1"]) == 0
    (batch,) = _rows(cfg, "select status, accepted, rejected, published, reason_code from batch")
    assert (batch["status"], batch["accepted"], batch["rejected"], batch["published"], batch["reason_code"]) == \
        ("published", 20, 0, 20, None)
    assert _receipts(cfg) == ["police.death_20261122_000001.receipt.csv", "police.death_20261122_000001.receipt.json"]
    receipt = json.loads((cfg.outbound("police") / "police.death_20261122_000001.receipt.json").read_text())
    assert (receipt["status"], receipt["accepted"], receipt["reason_code"]) == ("published", 20, None)
    assert [(r["direction"], r["status"]) for r in _rows(cfg, "select direction, status from exchange_log "
                                                              "order by seq")] == [("review", "rejudge"),
                                                                                   ("in", "published")]


def test_a_code_table_missing_the_common_value_is_held_naming_the_table_and_the_values(sqlite_home):
    cfg = sqlite_home
    write_delivery(cfg.inbound("police"), FEED, [death_row(i, ZXYY="7") for i in range(12)])
    assert main(["run", FEED]) == 2
    (batch,) = _rows(cfg, "select reason_code, message from batch")
    assert batch["reason_code"] == "HUB_CONFIG_SUSPECTED" and _receipts(cfg) == []
    assert "12 of the 12 values of column ZXYY fail UNMAPPED_CODE" in batch["message"]
    assert "police.dereg_reason.yaml (version " in batch["message"] and "(values sent: 7)" in batch["message"]
    # the partner's answer if a person decides it really was the partner's: refused, with the reviewer's words only
    assert main(["batches", "refuse", "1", "--reason", "code 7 is not agreed"]) == 0
    receipt = json.loads((cfg.outbound("police") / "police.death_20261122_000001.receipt.json").read_text())
    assert receipt["reason_code"] == "REFUSED_AFTER_REVIEW" and "mapping" not in receipt["message"]


def test_a_few_bad_values_are_the_partners_and_get_their_receipt(sqlite_home):
    """Under the share (or in a column with too few values) the usual verdict: published or held with a receipt."""
    cfg = sqlite_home
    rows = [death_row(i) for i in range(20)]
    for r in rows[:2]:
        r["SWRQ"] = "2026/11/01"
    write_delivery(cfg.inbound("police"), FEED, rows)
    assert main(["run", FEED]) == 0
    assert _rows(cfg, "select status, rejected from batch") == [{"status": "published", "rejected": 2}]
    csv_text = (cfg.outbound("police") / "police.death_20261122_000001.receipt.csv").read_bytes().decode("gb18030")
    assert "SWRQ=2026/11/01 is not a date in the agreed format YYYYMMDD" in csv_text
    write_delivery(cfg.inbound("police"), FEED, [death_row(i, SWRQ="2026/11/01") for i in range(20, 29)], seq=2)
    assert main(["run", FEED]) == 2                                   # 9 values: too few to suspect the hub
    assert _rows(cfg, "select reason_code from batch where id = 2") == [{"reason_code": "HELD"}]
    assert "police.death_20261122_000002.receipt.json" in _receipts(cfg)


def test_a_missing_store_table_is_retried_never_refused_and_published_once_when_it_is_back(home, capsys):
    """A target table dropped (a forgotten migration): no receipt, no refusal, the delivery stays in inbound/
    and the operator is told to run `jinbao db upgrade`; once the table is back the next run publishes it."""
    from jinbao.schemas.store_tables import TARGETS

    cfg = home
    assert main(["db", "upgrade"]) == 0
    with engine(cfg.store_url).begin() as conn:
        TARGETS["death_record"].drop(conn)
    capsys.readouterr()
    write_delivery(cfg.inbound("police"), FEED, [death_row(i) for i in range(5)])
    assert main(["run", FEED]) == 1                                   # an error, not a verdict
    err = capsys.readouterr().err
    assert "police.death: error:" in err and "run `jinbao db upgrade`" in err, err
    assert _rows(cfg, "select status, reason_code from batch") == [{"status": "judged", "reason_code": None}]
    assert _receipts(cfg) == [] and (cfg.inbound("police") / FILE).exists()
    assert main(["run", FEED]) == 1 and _receipts(cfg) == []           # still missing: still no verdict
    capsys.readouterr()
    with engine(cfg.store_url).begin() as conn:
        TARGETS["death_record"].create(conn)
    assert main(["run", FEED]) == 0
    assert _rows(cfg, "select status, published from batch") == [{"status": "published", "published": 5}]
    assert len(_rows(cfg, "select * from death_record")) == 5
    assert _receipts(cfg) == ["police.death_20261122_000001.receipt.csv", "police.death_20261122_000001.receipt.json"]
    assert not (cfg.inbound("police") / FILE).exists()
    assert main(["run", FEED]) == 0 and len(_rows(cfg, "select * from batch")) == 1    # published once


def test_an_unreachable_store_is_an_error_the_next_run_cures(sqlite_home, monkeypatch, capsys):
    cfg = sqlite_home
    write_delivery(cfg.inbound("police"), FEED, [death_row(i) for i in range(5)])
    monkeypatch.setenv("JINBAO_STORE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")   # nothing listens
    assert main(["run", FEED]) == 1
    assert "retry later: the delivery stays in inbound/" in capsys.readouterr().err
    assert _receipts(cfg) == [] and (cfg.inbound("police") / FILE).exists()
    monkeypatch.delenv("JINBAO_STORE_URL")
    assert main(["run", FEED]) == 0 and _receipts(cfg) == ["police.death_20261122_000001.receipt.csv",
                                                           "police.death_20261122_000001.receipt.json"]



def test_a_declared_range_reaches_the_partners_receipt_saying_what_was_expected(tmp_path, monkeypatch):
    """A value rule declared in a copy of the declarations, run end to end: the record outside the range is
    rejected with the declared code and a message naming the bounds; the others are published."""
    feeds = tmp_path / "feeds"
    shutil.copytree(shipped_feeds_dir(), feeds)
    path = feeds / "hrss.resident_enrollment.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  rules: []", "  rules:\n    - {rule: range, field: enrollment_year, min: 2000, max: 2030, "
        "reason: YEAR_OUT_OF_RANGE}"), encoding="utf-8")
    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(feeds))
    cfg = private_home(tmp_path, monkeypatch)
    rows = [enrollment_row(i) for i in range(5)]
    rows[2]["CBND"] = "1999"
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", rows)
    assert main(["run", "hrss.resident_enrollment"]) == 0
    assert _rows(cfg, "select status, accepted, rejected from batch") == [
        {"status": "published", "accepted": 4, "rejected": 1}]
    csv_text = (cfg.outbound("hrss") / "hrss.resident_enrollment_20261122_000001.receipt.csv").read_text("utf-8")
    assert "YEAR_OUT_OF_RANGE" in csv_text
    assert "CBND=1999: enrolment year must lie between 2000 and 2030" in csv_text
