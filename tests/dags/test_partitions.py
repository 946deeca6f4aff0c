"""Partitioned publish (`partitions: N`): declared and checked at load, each partition its own idempotent
transaction, the batch published only when every partition is, and the same store as a batch published whole."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from jinbao import partitions
from jinbao.declarations import FeedError, get_feed, parse
from jinbao.engine import Engine
from jinbao.store.database import connect
from tests.airflow_env import airflow, migrated
from tests.conftest import private_home
from tests.dags.partitioned import partitioned_feeds, snapshot, timestamps
from tests.deliveries import death_row, write_delivery

DAY = dt.date(2026, 11, 22)


# ------------------------------------------------------------------------------------------ declaration
@pytest.mark.parametrize("syntax, count", [("partitions: 4", 4), ("partitions: {by: rows, count: 3}", 3),
                                           ("partitions: 1", 1), ("", 1)])
def test_a_declaration_names_its_partitions_or_publishes_whole(tmp_path, syntax, count):
    feeds = partitioned_feeds(tmp_path, "police.death", 0, syntax)
    assert parse(feeds / "police.death.yaml").partitions == count


@pytest.mark.parametrize("syntax, says", [
    ("partitions: 0", "partitions must be a whole number from 1 to 256"),
    ("partitions: 1000", "from 1 to 256"),
    ("partitions: '4'", "partitions must be a whole number, got '4'"),
    ("partitions: 2.5", "partitions must be a whole number, got 2.5"),
    ("partitions: {by: division, count: 4}", "partitions.by 'division' is not one of rows"),
    ("partitions: {by: rows}", "partitions lacks count"),
    ("partitions: {by: rows, count: 2, size: 9}", "unknown key(s) partitions.size"),
])
def test_a_bad_partitions_key_is_refused_at_load_naming_file_and_key(tmp_path, syntax, says):
    feeds = partitioned_feeds(tmp_path, "police.death", 0, syntax)
    with pytest.raises(FeedError) as err:
        parse(feeds / "police.death.yaml")
    assert "police.death.yaml" in str(err.value) and says in str(err.value)


def test_an_outbound_feed_cannot_be_partitioned(tmp_path):
    feeds = partitioned_feeds(tmp_path, "police.insured_status", 2)
    with pytest.raises(FeedError, match="partitions belong"):
        parse(feeds / "police.insured_status.yaml")


def test_shipped_feeds_publish_whole():
    from jinbao.declarations import InboundFeed, load_feeds
    assert {s.partitions for s in load_feeds().values() if isinstance(s, InboundFeed)} == {1}   # outbound: none


# ----------------------------------------------------------------------------------------------- ranges
@pytest.mark.parametrize("rows, count", [(0, 3), (1, 4), (10, 3), (12, 4), (100_003, 7)])
def test_ranges_cover_every_row_once_and_evenly(rows, count):
    r = partitions.ranges(rows, count)
    assert len(r) == count and r[0][0] == 0 and r[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(r, r[1:]))
    assert max(b - a for a, b in r) - min(b - a for a, b in r) <= 1


def test_a_range_of_the_staged_file_reads_exactly_its_rows(tmp_path, monkeypatch):
    """Across row groups and chunk boundaries: the partitions' chunks put together are the file."""
    from jinbao.store import publish
    monkeypatch.setattr(publish, "PUBLISH_CHUNK", 7)
    path = tmp_path / "accepted.parquet"
    pq.write_table(pa.table({"n": np.arange(103)}), path, row_group_size=20)
    whole = []
    for start, stop in partitions.ranges(103, 4):
        got = [v for c in publish.chunks(path, (start, stop)) for v in c.column(0).to_pylist()]
        assert got == list(range(start, stop))
        assert all(c.num_rows <= 7 for c in publish.chunks(path, (start, stop)))
        whole += got
    assert whole == list(range(103))
    assert [v for c in publish.chunks(path) for v in c.column(0).to_pylist()] == list(range(103))


# ----------------------------------------------------------------------------------------------- engine
def _rows(n: int = 40) -> list[dict]:
    rows = [death_row(i) for i in range(n)]
    rows[5]["XB"] = "5"                                   # one rejected (UNMAPPED_CODE)
    return rows


def _home(tmp_path, monkeypatch, name: str, store_url: str | None, feeds=None):
    (tmp_path / name).mkdir()
    private_home(tmp_path / name, monkeypatch, store_url)
    if feeds is not None:
        monkeypatch.setenv("JINBAO_FEEDS_DIR", str(feeds))
    else:
        monkeypatch.delenv("JINBAO_FEEDS_DIR", raising=False)
    from jinbao.settings import load_settings
    return load_settings()


def _whole(tmp_path, monkeypatch, store_url, rows) -> dict:
    cfg = _home(tmp_path, monkeypatch, "whole", store_url)
    write_delivery(cfg.inbound("police"), "police.death", rows)
    [o] = Engine(get_feed("police.death", cfg), cfg).run(DAY)
    assert o.status == "published"
    return snapshot(cfg.store_url)


@pytest.fixture
def second_store(store_url):
    """Another store on the same backend as `store_url`, for the whole-batch run to compare with."""
    if store_url.startswith("sqlite"):
        yield store_url.replace("store.db", "whole.db")
        return
    from tests.conftest import server_database
    with server_database("PostgreSQL") as url:
        yield url


def test_partitions_publish_the_same_store_as_the_whole_batch_and_rerun_changes_nothing(
        tmp_path, monkeypatch, store_url, second_store):
    rows = _rows()
    expected = _whole(tmp_path, monkeypatch, second_store, rows)

    feeds = partitioned_feeds(tmp_path, "police.death", 3)
    cfg = _home(tmp_path, monkeypatch, "parted", store_url, feeds)
    write_delivery(cfg.inbound("police"), "police.death", rows)
    eng = Engine(get_feed("police.death", cfg), cfg)
    [batch] = eng.receive(DAY)
    eng.judge(batch)
    assert eng.partitions(batch) == [0, 1, 2]
    assert eng.partitions(batch) == [0, 1, 2]                 # the plan is fixed: asking again changes nothing
    assert [eng.publish_partition(batch, p) for p in (0, 1)] == [13, 13]

    # not every partition is done: publish refuses to mark the batch, which stays judged (never refused)
    with pytest.raises(partitions.PartitionsPending, match=r"partition\(s\) 2 of 3"):
        eng.publish(batch)
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select status, published from batch")).one() == ("judged", None)
        assert conn.execute(sa.text("select count(*) from death_record")).scalar() == 26

    # a partition run again rewrites the same rows with the same stamp: nothing changes, timestamps included
    before = timestamps(cfg.store_url, "death_record")
    assert eng.publish_partition(batch, 1) == 13
    assert timestamps(cfg.store_url, "death_record") == before

    assert eng.publish_partition(batch, 2) == 13
    o = eng.publish(batch)
    assert (o.status, o.received, o.accepted, o.rejected, o.published) == ("published", 40, 39, 1, 39)
    eng.finish(batch)
    assert snapshot(cfg.store_url) == expected
    with connect(cfg.store_url).connect() as conn:   # the batch and its rows carry one stamp
        stamps = conn.execute(sa.text("select distinct updated_at from death_record")).all()
        assert len(stamps) == 1
    # after publishing, a partition or publish run again does nothing
    assert eng.publish_partition(batch, 0) == 0 and eng.publish(batch).published == 39
    assert snapshot(cfg.store_url) == expected


def test_jinbao_run_publishes_a_partitioned_feed_like_the_whole_batch(tmp_path, monkeypatch, store_url, second_store):
    """`jinbao run` of a partitioned feed runs its partitions one after another: same store, register included."""
    from tests.deliveries import pension_row, write_hrss
    rows = [pension_row(i) for i in range(30)] + [pension_row(i, month="2026-10") for i in range(10)]
    cfg = _home(tmp_path, monkeypatch, "whole", second_store)
    write_hrss(cfg.inbound("hrss"), "hrss.pension_roll", rows)
    assert [o.status for o in Engine(get_feed("hrss.pension_roll", cfg), cfg).run(DAY)] == ["published"]
    expected = snapshot(cfg.store_url, ("batch", "register", "source_value", "conflict"))
    whole_roll = snapshot(cfg.store_url, ("pension_payment",))
    assert expected["register"]                                   # the roll takes part in the register

    feeds = partitioned_feeds(tmp_path, "hrss.pension_roll", 4)
    cfg = _home(tmp_path, monkeypatch, "parted", store_url, feeds)
    write_hrss(cfg.inbound("hrss"), "hrss.pension_roll", rows)
    from jinbao.cli import main
    assert main(["run", "hrss.pension_roll", "--date", "2026-11-22"]) == 0
    assert snapshot(cfg.store_url, ("batch", "register", "source_value", "conflict")) == expected
    assert snapshot(cfg.store_url, ("pension_payment",)) == whole_roll
    assert len(list((cfg.staging / "hrss.pension_roll").glob("*/partitions/*.done"))) == 4


def test_a_failed_partition_leaves_the_batch_judged_and_a_retry_completes_it(tmp_path, monkeypatch):
    feeds = partitioned_feeds(tmp_path, "police.death", 2)
    cfg = _home(tmp_path, monkeypatch, "parted", None, feeds)
    write_delivery(cfg.inbound("police"), "police.death", _rows(20))
    eng = Engine(get_feed("police.death", cfg), cfg)
    [batch] = eng.receive(DAY)
    eng.judge(batch)
    parts = eng.partitions(batch)
    from jinbao.store import publish as store_publish
    real = store_publish.publish_accepted

    def broken(*args, rows=None, **kw):
        if rows and rows[0] > 0:
            raise ValueError("value too long for type character varying(3)")
        return real(*args, rows=rows, **kw)
    monkeypatch.setattr(store_publish, "publish_accepted", broken)
    assert eng.publish_partition(batch, parts[0]) == 10
    with pytest.raises(ValueError):
        eng.publish_partition(batch, parts[1])
    with pytest.raises(partitions.PartitionsPending):
        eng.publish(batch)
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select status from batch")).scalar() == "judged"     # not refused
    monkeypatch.setattr(store_publish, "publish_accepted", real)
    assert eng.publish_partition(batch, parts[1]) == 9                                    # the retry
    assert eng.publish(batch).status == "published"
    assert eng.finish(batch).published == 19


def test_a_held_batch_has_no_partitions_and_is_released_whole(tmp_path, monkeypatch):
    feeds = partitioned_feeds(tmp_path, "police.death", 3)
    cfg = _home(tmp_path, monkeypatch, "parted", None, feeds)
    rows = _rows(10)
    for r in rows[:4]:
        r["ZXYY"] = "7"
    write_delivery(cfg.inbound("police"), "police.death", rows)
    eng = Engine(get_feed("police.death", cfg), cfg)
    [batch] = eng.receive(DAY)
    assert eng.judge(batch).status == "held"
    assert eng.partitions(batch) == []
    from jinbao.release import release_batch
    assert release_batch(batch).status == "published"
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from death_record")).scalar() == 5


# -------------------------------------------------------------------------------------------------- DAG
def test_airflow_dags_test_publishes_a_partitioned_feed_like_the_cli(tmp_path, monkeypatch):
    """The DAG of a partitioned feed: plan, one publish_partition per partition, then publish and finish;
    a run with nothing waiting skips them all and is still green."""
    rows = _rows(30)
    expected = _whole(tmp_path, monkeypatch, None, rows)
    feeds = partitioned_feeds(tmp_path, "police.death", 3)
    cfg = _home(tmp_path, monkeypatch, "parted", None, feeds)
    write_delivery(cfg.inbound("police"), "police.death", rows)
    migrated(cfg)
    run = airflow(cfg, "dags", "test", "police.death", "2026-11-23")
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert snapshot(cfg.store_url) == expected
    for part in (1, 2, 3):
        assert f"published partition {part} of 3 of police.death_20261122_000001.csv" in log
    assert "publishes in 3 partitions of 10, 10, 9 records" in log
    assert "29 records into death_record" in log and "(published) sent to police" in log
    empty = airflow(cfg, "dags", "test", "police.death", "2026-11-23")
    assert empty.returncode == 0, (empty.stdout + empty.stderr)[-4000:]
