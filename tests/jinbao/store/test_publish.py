"""jinbao/store/publish.py: the newest delivery wins whatever the publish order, on every backend."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect, upgrade
from jinbao.store.publish import source_version, upsert
from jinbao.schemas.store_tables import death_record
from tests.deliveries import death_row, write_delivery


def test_a_released_older_batch_never_overwrites_a_newer_one(home):
    inbound = home.inbound("police")
    old = [death_row(i) for i in range(10)]
    for r in old[:3]:
        r["ZXYY"] = "7"                                   # 30 % rejected: held
    old[5]["SWRQ"] = "20261101"
    write_delivery(inbound, "police.death", old, date="20261122", seq=1)
    assert main(["run", "police.death"]) == 2
    newer = death_row(5, SWRQ="20261102")                 # the police corrected the date the next day
    write_delivery(inbound, "police.death", [newer], date="20261123", seq=2)
    assert main(["run", "police.death"]) == 0
    assert main(["batches", "release", "1"]) == 0         # the older batch is published after the newer one
    with connect(home.store_url).connect() as c:
        rows = dict(c.execute(sa.select(death_record.c.aac002, death_record.c.aac060)).all())
    assert rows[newer["GMSFHM"]] == dt.date(2026, 11, 2)  # still the newer value
    assert len(rows) == 7                                 # the release published the other six


def test_source_version_orders_by_date_then_sequence():
    assert source_version(dt.date(2026, 11, 22), 999_999_999_999) < source_version(dt.date(2026, 11, 23), 1)
    assert source_version(dt.date(2026, 11, 22), 1) < source_version(dt.date(2026, 11, 22), 2)
    assert source_version(dt.date(9999, 12, 31), 999_999_999_999) < 2**63


@pytest.mark.parametrize("backend", ["mariadb"])
def test_newest_wins_on_mariadb(backend, mariadb_url):
    db = upgrade(mariadb_url)
    base = {"aac002": "11010519491231002X", "source_feed": "police.death", "updated_at": dt.datetime.now(),
            "id_upgraded": False}
    new = {**base, "aac060": dt.date(2026, 11, 2), "source_version": source_version(dt.date(2026, 11, 23), 2)}
    old = {**base, "aac060": dt.date(2026, 11, 1), "source_version": source_version(dt.date(2026, 11, 22), 1)}
    with db.begin() as conn:
        upsert(conn, death_record, [new])
        upsert(conn, death_record, [old])
        assert conn.execute(sa.select(death_record.c.aac060, death_record.c.source_version)).one() == (
            new["aac060"], new["source_version"])
        upsert(conn, death_record, [{**new, "aac060": dt.date(2026, 11, 3)}])     # same version again: applies
        assert conn.execute(sa.select(death_record.c.aac060)).scalar() == dt.date(2026, 11, 3)
