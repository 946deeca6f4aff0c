"""How a chunk of accepted records reaches its table, per backend.

PostgreSQL and MariaDB: the chunk is bulk-loaded into a temporary table
(PostgreSQL COPY of Arrow-written CSV, MariaDB multi-row INSERTs built by
Arrow; jinbao/store/bulk.py) and merged with ONE `INSERT ... SELECT` carrying
the same key-conflict clause as `upsert` (newest wins), with the declaration's
fixed columns and provenance as constants of that statement.  The server then
does per row what executemany made Python do per row, and the chunk crosses
the wire once, as text the database parses fast.

SQLite is embedded, single-writer and used for small stores: executemany of
the same upsert is simple and fast enough there.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Mapping

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.register import scratch
from jinbao.store.publish import EXECUTE_CHUNK, upsert, upsert_statement

#: The temporary table a chunk is loaded into before the merge.
ROWS = "publish_rows"


@contextmanager
def merger(conn: Connection, target: sa.Table, given: Mapping[str, object]) -> Iterator[Callable[[pa.Table], None]]:
    """A function that upserts one prepared chunk (prepared() in publish.py) into `target`, with `given`
    (column -> value) on every row.  Its temporary table is dropped when the block ends without error;
    after an error the transaction is rolled back anyway (MariaDB keeps the table, the next create drops it)."""
    if conn.dialect.name == "sqlite":
        yield lambda data: _executemany(conn, target, given, data)
        return
    merge = _SetBased(conn, target, given)
    yield merge
    merge.close()


def _executemany(conn: Connection, target: sa.Table, given: Mapping[str, object], data: pa.Table) -> None:
    for block in data.to_batches(max_chunksize=EXECUTE_CHUNK):
        for name, value in given.items():
            block = block.append_column(name, pa.repeat(pa.scalar(value), block.num_rows))
        upsert(conn, target, block.to_pylist())


class _SetBased:
    """COPY (or multi-row INSERT) into a temporary table, then one INSERT ... SELECT ... ON CONFLICT / ON
    DUPLICATE KEY UPDATE per chunk."""

    def __init__(self, conn: Connection, target: sa.Table, given: Mapping[str, object]):
        self.conn, self.target, self.given = conn, target, dict(given)
        self.rows: sa.Table | None = None
        self.statement = None

    def __call__(self, data: pa.Table) -> None:
        if self.rows is None:
            self.rows = scratch.create(self.conn, ROWS, *[self.target.c[name] for name in data.column_names])
            self.statement = self._merge(data.column_names)
        elif self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql(f"TRUNCATE {ROWS}")
        else:   # not TRUNCATE: MariaDB commits the transaction before one
            self.conn.execute(sa.delete(self.rows))
        scratch.load(self.conn, self.rows, data)
        self.conn.execute(self.statement)

    def _merge(self, names: list[str]):
        target, rows = self.target, self.rows
        # a column the table fills by default (id_upgraded) gets it on insert and is left alone on update,
        # as executemany does with a column the rows do not carry
        defaults = {c.name: c.default.arg for c in target.columns
                    if c.name not in names and c.name not in self.given and c.default is not None
                    and c.default.is_scalar}
        constants = {**self.given, **defaults}
        select = sa.select(*[rows.c[n] for n in names],
                           *[sa.literal(value, target.c[name].type).label(name) for name, value in constants.items()])
        return upsert_statement(self.conn, target, [*names, *constants], select=select, insert_only=set(defaults))

    def close(self) -> None:
        if self.rows is not None:
            scratch.drop(self.conn, ROWS)
