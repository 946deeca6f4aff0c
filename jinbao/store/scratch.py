"""Temporary tables for set-based statements, filled in bulk: the store's merge and the register's reconciling.

A batch's rows or offers go into the store as a temporary table so that merging or reconciling
is a handful of INSERT ... SELECT / UPDATE ... FROM statements run by the
database, not a loop over people in Python.  PostgreSQL gets them by COPY (the
CSV pyarrow writes), MariaDB by multi-row INSERTs Arrow builds (both in
jinbao/store/bulk.py, shared with publishing); SQLite by executemany in chunks.  Temporary
tables belong to the connection; MariaDB keeps them past a rollback, so each
is dropped before it is made and after use (with TEMPORARY, which on MariaDB
does not commit the transaction the way a plain DROP TABLE would).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.store import bulk

#: Rows per executemany round trip.
CHUNK = 50_000


def drop(conn: Connection, name: str) -> None:
    dialect = conn.dialect.name
    if dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE IF EXISTS {name}")
    elif dialect == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def create(conn: Connection, name: str, *columns: sa.Column, key: str | tuple[str, ...] | None = None) -> sa.Table:
    """A fresh temporary table; `key` (a column or several) becomes its primary key (the join columns)."""
    drop(conn, name)
    keys = (key,) if isinstance(key, str) else tuple(key or ())
    cols = [sa.Column(c.name, c.type, primary_key=(c.name in keys)) for c in columns]
    table = sa.Table(name, sa.MetaData(), *cols, prefixes=["TEMPORARY"])
    table.create(conn)
    return table


def fill(conn: Connection, table: sa.Table, data: pa.Table) -> int:
    """Bulk-load `data` (columns named as the table's) into `table`, with statistics for the joins on it."""
    load(conn, table, data)
    if conn.dialect.name == "postgresql" and data.num_rows:
        conn.exec_driver_sql(f"ANALYZE {table.name}")
    return data.num_rows


def load(conn: Connection, table: sa.Table, data: pa.Table) -> int:
    """Bulk-load `data` into `table`: PostgreSQL COPY, MariaDB multi-row INSERTs, SQLite executemany."""
    if data.num_rows == 0:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql":
        bulk.copy_csv(conn, table.name, data)
    elif dialect in ("mysql", "mariadb"):
        bulk.insert_rows(conn, table.name, data)
    else:
        for batch in data.to_batches(max_chunksize=CHUNK):
            conn.execute(sa.insert(table), batch.to_pylist())
    return data.num_rows


def small_against(conn: Connection, table: str, rows: int) -> bool:
    """PostgreSQL: `rows` under a third of what `table` holds (its statistics): looking them up by key,
    in key order, beats reading the whole table for a hash join, which the planner does not see."""
    stored = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar() or 0
    return rows * 3 < stored


@contextmanager
def filling_what_it_checks(conn: Connection, table: str, rows: int) -> Iterator[None]:
    """PostgreSQL: for a statement that fills the table it checks `rows` keys in (INSERT ... WHERE NOT
    EXISTS, a merge's INSERT and UPDATE in one), never a nested loop that scans that table.  Planned
    while the table is empty (a new store, just vacuumed, truncated), such a scan looks free, but it
    re-reads the rows the statement adds once per row: quadratic (20,000 rows 1.8 s, 100,000 over a
    minute; tests/jinbao/store/test_vacuumed_empty_store.py).  So: a few rows against a big table are
    looked up by index (no scans), the rest join by hashing the table once (no nested loops).  Other
    backends: nothing to do."""
    if conn.dialect.name != "postgresql":
        yield
        return
    setting = "enable_seqscan" if small_against(conn, table, rows) else "enable_nestloop"
    was = conn.exec_driver_sql(f"SHOW {setting}").scalar()
    conn.exec_driver_sql(f"SET LOCAL {setting} = off")
    yield
    conn.exec_driver_sql(f"SET LOCAL {setting} = {'on' if was == 'on' else 'off'}")
