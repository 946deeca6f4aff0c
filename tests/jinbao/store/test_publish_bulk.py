"""publish_accepted's bulk paths (PostgreSQL COPY + merge, MariaDB multi-row INSERT + merge) against
SQLite's executemany: the same staged Parquet gives the same rows on every backend, whatever the text."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from jinbao.schemas.store_tables import batch, death_record, pension_payment
from jinbao.store import bulk
from jinbao.store import publish as publishing
from jinbao.store.database import upgrade
from jinbao.store.publish import publish_accepted, source_version
from tests.conftest import server_database

STAMP = dt.datetime(2026, 11, 22, 3, 4, 5, tzinfo=dt.timezone.utc)   # whole seconds: MariaDB's DATETIME keeps no more
OLD, NEW = source_version(dt.date(2026, 11, 22), 1), source_version(dt.date(2026, 11, 23), 2)
FIXED = {"source_feed": "police.death"}
#: What partners send and the gate lets through: CSV and COPY specials, SQL quoting, printf and PyMySQL's `%`,
#: CJK, GB18030-only characters (CJK Ext. A and B, the PUA-mapped ones), emoji, spaces, empty text.
HOSTILE = [
    'O\'Brien "Bob"', "a,b,c", "back\\slash\\", "\\.", "line\nbreak\n\\.\nend", "tab\there", "cr\rlf",
    "100% %s %(x)s %%", "王小明", "𠀀𠀁𪚥", "㐀䶵", "\ue5e5ḿ€", "😀 emoji", "  spaced  ", "", "NULL", "\\N", ";--",
]


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-chunked", "mariadb"])
def store(request, tmp_path, monkeypatch):
    """An upgraded store on each backend with batches 1 and 2 (the rows' provenance).  PostgreSQL twice:
    rows sorted by Arrow in one piece, and in chunks the store sorts (a delivery too big for memory)."""
    if request.param == "sqlite":
        db = upgrade(f"sqlite:///{tmp_path / 'store.db'}")
        yield _with_batches(db)
        return
    if request.param == "postgresql-chunked":
        monkeypatch.setattr(publishing, "SORTED_IN_MEMORY", 0)
    with server_database("MariaDB" if request.param == "mariadb" else "PostgreSQL") as url:
        yield _with_batches(upgrade(url))


def _with_batches(db):
    with db.begin() as conn:
        for i in (1, 2):
            conn.execute(sa.insert(batch).values(id=i, feed="police.death", file_name=f"f{i}.csv", sha256=str(i),
                                                 sequence=i, business_date=dt.date(2026, 11, 22), encoding="GB18030",
                                                 status="published", received_at=STAMP))
    return db


def deaths(path: Path, n: int, offset: int = 0, day: int = 1, upgraded: bool = True) -> Path:
    """A staged police.death accepted Parquet as the gate writes it (columns the target lacks included)."""
    names = [HOSTILE[(i + offset) % len(HOSTILE)] for i in range(n)]
    cols = {
        "AAC002": pa.array([f"1101051949{i:07d}X" for i in range(n)], pa.string()),
        "AAC003": pa.array([None if i % 7 == 3 else s for i, s in enumerate(names)], pa.string()),
        "AAA002": pa.array([None if i % 5 == 0 else str(1 + i % 2) for i in range(n)], pa.string()),
        "AAC060": pa.array([dt.date(2026, 10, day) + dt.timedelta(days=i % 20) for i in range(n)], pa.date32()),
        "dereg_date": pa.array([None if i % 3 else dt.date(2026, 11, 3) for i in range(n)], pa.date32()),
        "dereg_reason": pa.array([None if i % 4 == 1 else "1" for i in range(n)], pa.string()),
        "AAB301": pa.array(["110105"] * n, pa.string()),
        "AAC006": pa.array([dt.date(1949, 12, 31)] * n, pa.date32()),
        "line_no": pa.array(range(2, n + 2), pa.int64()),
    }
    if upgraded:
        cols["id_upgraded"] = pa.array([i % 2 == 0 for i in range(n)], pa.bool_())
    pq.write_table(pa.table(cols), path)
    return path


def payments(path: Path, n: int) -> Path:
    """hrss.pension_roll's staging: amounts as text, cast to NUMERIC(12,2) on the way in."""
    amounts = ["0.01", "1234567890.99", "2553.93", "100", "7.5", "0.00"]
    pq.write_table(pa.table({
        "AAC002": pa.array([f"1101051949{i // 3:07d}X" for i in range(n)], pa.string()),
        "month": pa.array([dt.date(2026, 1 + i % 3, 1) for i in range(n)], pa.date32()),
        "amount": pa.array([amounts[i % len(amounts)] for i in range(n)], pa.string()),
        "AAC003": pa.array(["王"] * n, pa.string()),
        "line_no": pa.array(range(2, n + 2), pa.int64()),
    }), path)
    return path


def publish(db, table, path, batch_id=2, version=NEW, fixed=FIXED) -> int:
    with db.begin() as conn:
        return publish_accepted(conn, table, path, batch_id, STAMP, fixed, version)


def stored(db, table) -> list[tuple]:
    keys = list(table.primary_key.columns)
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(*keys))]


def as_published(path: Path, batch_id=2, version=NEW) -> list[tuple]:
    """What the rows must be, computed from the Parquet in Python (death_record's column order)."""
    out = []
    for r in pq.read_table(path).to_pylist():
        out.append((r["AAC002"], "police.death", r["AAC003"], r["AAA002"], r["AAC060"], r["AAB301"], r["dereg_date"],
                    r["dereg_reason"], None, None, None, None, r.get("id_upgraded", False), batch_id, r["line_no"],
                    STAMP, version))
    return sorted(out, key=lambda r: (r[0], r[14]))


def test_every_value_arrives_exactly(store, tmp_path):
    path = deaths(tmp_path / "a.parquet", 3 * len(HOSTILE))
    assert publish(store, death_record, path) == 3 * len(HOSTILE)
    assert stored(store, death_record) == as_published(path)


def test_exact_amounts_and_dates(store, tmp_path):
    path = payments(tmp_path / "p.parquet", 12)
    assert publish(store, pension_payment, path, fixed={"source_feed": "hrss.pension_roll"}) == 12
    rows = stored(store, pension_payment)
    assert [r[:3] for r in rows] == sorted(
        (f"1101051949{i // 3:07d}X", dt.date(2026, 1 + i % 3, 1),
         Decimal(["0.01", "1234567890.99", "2553.93", "100", "7.5", "0.00"][i % 6]).quantize(Decimal("0.01")))
        for i in range(12))
    assert all(isinstance(r[2], Decimal) for r in rows)


@pytest.mark.parametrize("order", ["older_first", "newer_first"])
def test_newest_wins_in_either_order(store, tmp_path, order):
    older, newer = deaths(tmp_path / "old.parquet", 30, offset=5, day=1), deaths(tmp_path / "new.parquet", 20, day=9)
    runs = [(older, 1, OLD), (newer, 2, NEW)]
    for path, batch_id, version in (runs if order == "older_first" else runs[::-1]):
        publish(store, death_record, path, batch_id, version)
    rows = stored(store, death_record)
    # the newer delivery holds its 20 people; the 10 only the older one sent keep the older values
    assert rows == sorted(as_published(newer) + as_published(older, 1, OLD)[20:])


def test_a_rerun_changes_nothing(store, tmp_path):
    path = deaths(tmp_path / "a.parquet", 40)
    publish(store, death_record, path)
    first = stored(store, death_record)
    assert publish(store, death_record, path) == 40
    assert stored(store, death_record) == first


def test_chunk_boundaries_and_repeated_keys(store, tmp_path, monkeypatch):
    """Chunks of 7 over 30 records, one key sent twice within a chunk and one in two chunks: the
    temporary table is reused, the last line of a key wins, every chunk counts what it published
    (PostgreSQL, sorting the delivery in one piece, sees the key in two chunks once)."""
    monkeypatch.setattr(publishing, "PUBLISH_CHUNK", 7)
    monkeypatch.setattr(bulk, "STATEMENT_BYTES", 300)          # MariaDB: several INSERTs per chunk too
    data = pq.read_table(deaths(tmp_path / "a.parquet", 30))
    ids = data.column("AAC002").to_pylist()
    ids[3], ids[15] = ids[1], ids[9]                             # within chunk 0; chunks 1 and 2
    pq.write_table(data.set_column(0, "AAC002", pa.array(ids, pa.string())), path := tmp_path / "dup.parquet")
    whole = store.dialect.name == "postgresql" and publishing.SORTED_IN_MEMORY >= 30
    assert publish(store, death_record, path) == (28 if whole else 29)    # chunks: 6 + 7 + 7 + 7 + 2
    last = {}
    for row in sorted(as_published(path), key=lambda r: r[14]):  # by line: the later one stays
        last[row[0]] = row
    assert stored(store, death_record) == sorted(last.values(), key=lambda r: r[0])
    assert len(last) == 28


def test_a_column_the_delivery_lacks_gets_its_default(store, tmp_path):
    path = deaths(tmp_path / "a.parquet", 5, upgraded=False)
    publish(store, death_record, path)
    assert [r[12] for r in stored(store, death_record)] == [False] * 5


def test_nothing_accepted(store, tmp_path):
    pq.write_table(pa.table({"line_no": pa.array([], pa.int64())}), path := tmp_path / "none.parquet")
    assert publish(store, death_record, path) == 0
    assert stored(store, death_record) == []


def _other_publisher_inserts(db, path: Path, line: int, version: int) -> tuple[sa.engine.Connection, object]:
    """Another transaction inserting the row of `line` (1-based among the records) as an older delivery
    sent it: its open connection and transaction, not yet committed."""
    row = as_published(path, batch_id=1, version=version)[line - 1]
    conn = db.connect()
    txn = conn.begin()
    conn.execute(sa.insert(death_record).values(dict(zip([c.name for c in death_record.columns], row))))
    return conn, txn


@pytest.fixture(params=["postgresql", "postgresql-chunked"])
def pg_store(request, monkeypatch):
    """PostgreSQL only: its merge is an INSERT and an UPDATE, not INSERT ... ON CONFLICT."""
    if request.param == "postgresql-chunked":
        monkeypatch.setattr(publishing, "SORTED_IN_MEMORY", 0)
    with server_database("PostgreSQL") as url:
        yield _with_batches(upgrade(url))


@pytest.mark.parametrize("commit", ["before the merge", "while the merge waits"])
def test_a_concurrent_publisher_of_a_new_key(pg_store, tmp_path, commit):
    """PostgreSQL merges new keys with a plain INSERT: another transaction's row for one of them,
    committed before the merge statement or while it waits on that key, is still replaced by the newer
    delivery, as INSERT ... ON CONFLICT would (the second case through the savepoint and ON CONFLICT)."""
    store = pg_store
    path = deaths(tmp_path / "a.parquet", 12)
    other, txn = _other_publisher_inserts(store, path, 5, OLD)
    timer = None

    def loaded(_rows):           # called after the rows are loaded, before the merge statement runs
        nonlocal timer
        if commit == "before the merge":
            txn.commit()
        else:
            timer = threading.Timer(1.0, txn.commit)
            timer.start()
    try:
        with store.begin() as conn:
            assert publish_accepted(conn, death_record, path, 2, STAMP, FIXED, NEW, on_chunk=loaded) == 12
    finally:
        if timer is not None:
            timer.join()
        other.close()
    assert stored(store, death_record) == as_published(path)


def test_a_concurrent_newer_row_stays(pg_store, tmp_path):
    """Newest wins against a row another transaction committed just before the merge, too."""
    store = pg_store
    path = deaths(tmp_path / "a.parquet", 12)
    newest = source_version(dt.date(2026, 11, 30), 1)
    other, txn = _other_publisher_inserts(store, path, 5, newest)
    try:
        with store.begin() as conn:
            publish_accepted(conn, death_record, path, 2, STAMP, FIXED, NEW, on_chunk=lambda _rows: txn.commit())
    finally:
        other.close()
    expected = as_published(path)
    expected[4] = as_published(path, batch_id=1, version=newest)[4]
    assert stored(store, death_record) == expected
