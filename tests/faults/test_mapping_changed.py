"""A code table changes between the steps of one batch (a deployment between the receive task and
the judge task, e.g. a corrected police.dereg_reason table valid from a day before the delivery).

The mapping tables are package data (mappings/codes, mappings/feeds); the test changes a copy of
them and points jinbao.mappings.tables at the copy, as a newer installed package would appear to
the judging process.  The batch records at receive the versions in force on its business date
(batch.mapping_version); these tests check that the judge step translates with exactly those.
"""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml

from jinbao.declarations import get_feed
from jinbao.engine import Engine
from jinbao.staged.refused import DeliveryRefused
from tests.faults.conftest import FEED, drop_plain, people, rows_of
from tests.faults.invariants import assert_accounted, published_keys

BUSINESS_DATE = dt.date(2026, 11, 22)


@pytest.fixture
def mappings_copy(tmp_path, monkeypatch):
    """A private copy of the mapping tables that the hub reads from now on."""
    from jinbao.mappings import tables

    root = tmp_path / "mappings"
    shutil.copytree(tables.CODES_DIR, root / "codes")
    shutil.copytree(tables.FEEDS_DIR, root / "feeds")
    monkeypatch.setattr(tables, "CODES_DIR", root / "codes")
    monkeypatch.setattr(tables, "FEEDS_DIR", root / "feeds")
    tables._load.cache_clear()
    yield root
    tables._load.cache_clear()


def _new_dereg_reason_version(root, valid_from: dt.date) -> None:
    """police.dereg_reason 2026.2, in force from `valid_from`: the police's new code 7 means 'other' (9)."""
    from jinbao.mappings import tables

    path = root / "codes" / "police.dereg_reason.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    (old,) = raw["versions"]
    old["valid_to"] = (valid_from - dt.timedelta(days=1)).isoformat()
    new = {**old, "version": "2026.2", "valid_from": valid_from.isoformat(), "valid_to": None,
           "map": {**old["map"], "7": "9"}, "reverse_prefer": {"9": "9"}}
    raw["versions"] = [old, new]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tables._load.cache_clear()


def _delivery(cfg):
    rows = people(20)
    rows[3]["ZXYY"] = rows[7]["ZXYY"] = "7"           # unknown to police.dereg_reason 2000.1
    return drop_plain(cfg, rows, date=BUSINESS_DATE.strftime("%Y%m%d"))


def _steps(cfg, batch_id):
    eng = Engine(get_feed(FEED, cfg), cfg)
    try:
        eng.judge(batch_id)
        eng.publish(batch_id)
        try:
            eng.finish(batch_id)
        except DeliveryRefused:
            pass
    finally:
        eng.close()
    (row,) = rows_of(cfg, "select * from batch where id = :i", i=batch_id)
    return row


def test_the_mapping_version_in_force_on_the_business_date_is_recorded_at_receive_and_used(pg_home, mappings_copy):
    """A new table version valid only after the business date changes nothing for the batch."""
    from jinbao.mappings.tables import feed_mapping

    cfg = pg_home
    _delivery(cfg)
    pinned = feed_mapping("police.death", BUSINESS_DATE).label
    (batch_id,) = Engine(get_feed(FEED, cfg), cfg).receive()
    (row,) = rows_of(cfg, "select mapping_version, status from batch")
    assert row == {"mapping_version": pinned, "status": "received"}
    assert "police.dereg_reason@2000.1" in pinned

    _new_dereg_reason_version(mappings_copy, BUSINESS_DATE + dt.timedelta(days=1))
    row = _steps(cfg, batch_id)
    assert (row["mapping_version"], row["rejected"], row["published"]) == (pinned, 2, 18)
    reasons = rows_of(cfg, "select line_no, field, reason_code from rejection order by line_no")
    assert reasons == [{"line_no": 5, "field": "ZXYY", "reason_code": "UNMAPPED_CODE"},
                       {"line_no": 9, "field": "ZXYY", "reason_code": "UNMAPPED_CODE"}]
    assert_accounted(cfg, cfg.inbound("police"))


def test_a_table_changed_between_receive_and_judge_does_not_change_the_batch(pg_home, mappings_copy):
    cfg = pg_home
    _delivery(cfg)
    (batch_id,) = Engine(get_feed(FEED, cfg), cfg).receive()
    (row,) = rows_of(cfg, "select mapping_version from batch")
    pinned = row["mapping_version"]

    _new_dereg_reason_version(mappings_copy, BUSINESS_DATE - dt.timedelta(days=1))   # retroactive
    row = _steps(cfg, batch_id)
    assert_accounted(cfg, cfg.inbound("police"))
    assert row["mapping_version"] == pinned
    # judged with the pinned police.dereg_reason@2000.1: code 7 is unmapped there
    assert (row["rejected"], row["published"]) == (2, 18), (
        f"judged with another table than the pinned {pinned}: {row['rejected']} rejected")
    assert published_keys(cfg) == 18
