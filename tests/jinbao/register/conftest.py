"""Publishing hand-made accepted records the way the engine does (target table, then the register),
without the gate: each test says exactly what every source offered, in which batch."""
from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from jinbao import ledger
from jinbao.ledger import Status
from jinbao.register.reconcile import Offered, reconcile
from jinbao.schemas.store_tables import TARGETS
from jinbao.store.database import upgrade
from jinbao.store.publish import publish_accepted, source_version
from tests.deliveries import citizen_id

TARGET = {"police.identity": ("person", {}), "police.death": ("death_record", {}),
          "health.death_certificate": ("death_record", {}), "civil_affairs.cremation": ("death_record", {}),
          "civil_affairs.assistance": ("assistance", {}), "hrss.pension_roll": ("pension_payment", {})}
#: What a target table needs beyond a person (keys of the feed's own table).
DEFAULTS = {"civil_affairs.assistance": {"assistance_category": "01", "start_date": dt.date(2026, 1, 1)}}
DATES = {"month", "AAC006", "AAC060", "dereg_date", "start_date", "change_date", "cremation_date"}


class Hub:
    """A store and a way to publish offers into it; `snapshot()` reads back everything reconciled."""

    def __init__(self, url: str, folder):
        self.db, self.folder, self.seq = upgrade(url), folder, itertools.count(1)

    def publish(self, feed: str, rows: list[dict], day: str = "2026-11-22", seq: int | None = None,
                stamp: dt.datetime | None = None) -> Offered:
        seq = seq or next(self.seq)
        rows = [{**DEFAULTS.get(feed, {}), **r} for r in rows]
        business = dt.date.fromisoformat(day)
        stamp = stamp or ledger.now()
        cols = sorted({k for r in rows for k in r})
        data = pa.table({c: pa.array([r.get(c) for r in rows], pa.date32() if c in DATES else pa.string())
                         for c in cols}).append_column("line_no", pa.array(range(2, len(rows) + 2), pa.int64()))
        path = self.folder / f"{feed}-{seq}.parquet"
        pq.write_table(data, path)
        table, fixed = TARGET[feed]
        with self.db.begin() as conn:
            batch_id = ledger.insert(conn, feed=feed, file_name=f"{feed}_{business:%Y%m%d}_{seq:06d}.csv",
                                     sha256=f"{seq:064d}", sequence=seq, business_date=business, encoding="UTF-8",
                                     mapping_version=f"{feed}@test", rules_version="test", status=Status.PUBLISHED,
                                     published_at=stamp)
            publish_accepted(conn, TARGETS[table], path, batch_id, stamp, {"source_feed": feed, **fixed},
                             source_version(business, seq))
            offered = Offered(feed, batch_id, business, seq, stamp)
            self.last = reconcile(conn, path, offered)
        self.paths = getattr(self, "paths", {})
        self.paths[batch_id] = (path, offered)
        return offered

    def again(self, offered: Offered):
        """Reconcile a batch a second time (as a replayed publish would)."""
        path, _ = self.paths[offered.batch_id]
        with self.db.begin() as conn:
            return reconcile(conn, path, offered)

    def rows(self, sql: str) -> list[tuple]:
        with self.db.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

    def snapshot(self) -> dict:
        return {t: self.rows(f"select * from {t} order by 1, 2") for t in
                ("register", "register_history", "conflict", "life_status_history")}

    def status(self, pid: str) -> tuple:
        (row,) = self.rows(f"select life_status, life_status_date, life_status_source from register "
                           f"where aac002 = '{pid}'")
        return (row[0], str(row[1]) if row[1] else None, row[2])

    def history(self, pid: str) -> list[tuple]:
        return [(a, b, str(c) if c else None, d) for a, b, c, d in self.rows(
            f"select from_status, to_status, effective_date, source_feed from life_status_history "
            f"where aac002 = '{pid}' order by id")]


@pytest.fixture
def hub(store_url, tmp_path):
    return Hub(store_url, tmp_path)


def person(i: int, **fields) -> dict:
    """A person as a feed offers them, in hub codes."""
    male = i % 2 == 0
    pid = citizen_id(i, male=male, birth="19450301")
    return {"AAC002": pid, "AAC003": "王" + "伟芳娜敏静丽强磊军秀"[i % 10], "AAA002": "1" if male else "2",
            "AAC006": dt.date(1945, 3, 1), "AAB301": "110105", **fields}


def death(i: int, when: str, **fields) -> dict:
    return person(i, AAC060=dt.date.fromisoformat(when), **fields)
