"""Publishing a judged delivery into the store: typed, chunked, idempotent.

Accepted records arrive as staged Parquet (the gate's output: text, dates,
booleans, line numbers); here they get the target table's types (amounts as
exact decimals), the declaration's fixed columns and provenance, and are
upserted chunk by chunk inside the caller's transaction, so memory depends on
the chunk, not the file.  Upserts are dialect-native (ON CONFLICT / ON
DUPLICATE KEY) so re-running a delivery can never create a second row for the
same key, whatever the backend; how each backend gets the rows is in merge.py.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Collection, Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as my_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import rejection
from jinbao.staged.key_order import key_order, last_of_each_key
from jinbao.staged.layout import REJECTED
from jinbao.staged.parquet import read_staged

#: Rows read from the staged Parquet per publish round; bounds memory in the transaction.
PUBLISH_CHUNK = 50_000
#: Up to this many accepted rows, PostgreSQL gets them in one piece sorted by key (Arrow sorts 1M IDs in
#: 0.4 s, the store took 0.9 s), about 150 MB more at the peak for 1M; beyond, chunks bound the memory:
#: in key order when the judge step left the file so, else the store sorts them (store/merge.py).
SORTED_IN_MEMORY = 1_000_000
#: Rows per executemany round trip.
EXECUTE_CHUNK = 5_000


def source_version(business_date: dt.date, sequence: int) -> int:
    """A delivery's (business date, sequence) as one sortable 64-bit number (sequences up to 12 digits)."""
    return business_date.toordinal() * 10**12 + sequence


def upsert(conn: Connection, table: sa.Table, rows: Iterable[Mapping], update: bool = True) -> int:
    """Insert rows; on a key conflict update the non-key columns (or leave the row).

    Rows carrying `source_version` replace a stored row only when they are at
    least as new, so an older delivery published late (a released held batch)
    never overwrites a newer one.
    """
    rows = list(rows)
    if not rows:
        return 0
    stmt = upsert_statement(conn, table, list(rows[0].keys()), update=update)
    for start in range(0, len(rows), EXECUTE_CHUNK):
        conn.execute(stmt, rows[start:start + EXECUTE_CHUNK])
    return len(rows)


def upsert_statement(conn: Connection, table: sa.Table, columns: list[str], select: sa.Select | None = None,
                     update: bool = True, insert_only: Collection[str] = ()):
    """The dialect's INSERT (of parameters, or `select`'s rows into `columns`) with its key-conflict clause:
    the non-key columns (but `insert_only`) are replaced only by a row at least as new as the stored one."""
    dialect = conn.dialect.name
    keys = [c.name for c in table.primary_key.columns]
    cols = [c for c in columns if c not in keys and c not in insert_only]
    versioned = "source_version" in cols
    # literal 0, not a bound parameter: PyMySQL's executemany cannot bind inside ON DUPLICATE KEY UPDATE
    stored = sa.func.coalesce(table.c.source_version, sa.literal_column("0")) if versioned else None
    if dialect in ("postgresql", "sqlite"):
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        if select is not None:
            stmt = stmt.from_select(columns, select)
        if update and cols:
            return stmt.on_conflict_do_update(
                index_elements=keys, set_={c: stmt.excluded[c] for c in cols},
                where=(stored <= stmt.excluded.source_version) if versioned else None)
        return stmt.on_conflict_do_nothing(index_elements=keys)
    if dialect in ("mysql", "mariadb"):
        stmt = my_insert(table)
        if select is not None:
            stmt = stmt.from_select(columns, select)
        target = cols if (update and cols) else keys[:1]
        if versioned and update:
            # no WHERE on ON DUPLICATE KEY UPDATE: each column keeps its value unless the row is newer;
            # source_version is assigned last, so every condition still sees the stored version.
            newer = stored <= stmt.inserted.source_version
            return stmt.on_duplicate_key_update(
                [(c, sa.case((newer, stmt.inserted[c]), else_=table.c[c])) for c in target if c != "source_version"]
                + [("source_version", sa.case((newer, stmt.inserted.source_version), else_=table.c.source_version))])
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in target})
    raise NotImplementedError(f"upsert on {dialect}")  # pragma: no cover - the three supported backends are tested


def publish_accepted(conn: Connection, target: sa.Table, accepted: Path, batch_id: int, stamp: dt.datetime,
                     fixed: Mapping[str, object], version: int, on_chunk=None,
                     rows: tuple[int, int] | None = None) -> int:
    """Upsert the staged accepted records into `target`; returns rows published.

    `version` (source_version()) orders deliveries of one source: the newest wins.
    `rows` ([start, stop)) publishes only that range of the file: one partition (jinbao/partitions.py).
    PostgreSQL and MariaDB get each chunk in bulk and merge it with one statement
    (jinbao/store/merge.py); SQLite, embedded and small, keeps executemany.
    """
    from jinbao.store.merge import merger  # cycle: merge.py imports EXECUTE_CHUNK and upsert from here

    given = {**fixed, "batch_id": batch_id, "updated_at": stamp, "source_version": version}
    given = {name: value for name, value in given.items() if name in target.c}
    published = 0
    postgresql = conn.dialect.name == "postgresql"
    in_memory = postgresql and _count(accepted, rows) <= SORTED_IN_MEMORY
    in_order = postgresql and not in_memory and _in_key_order(accepted, target, given)
    with merger(conn, target, given, in_key_order=in_memory or in_order) as merge:
        for chunk in (_whole(accepted, rows) if in_memory else chunks(accepted, rows)):
            data = prepared(target, chunk, given, in_key_order=in_memory)
            if data.num_rows:
                merge(data)
            published += data.num_rows
            if on_chunk is not None:
                on_chunk(data.num_rows)
    return published


def _in_key_order(accepted: Path, target: sa.Table, given: Mapping[str, object]) -> bool:
    """The staged file is sorted by the target's key, each key once (the judge step sorts a big delivery
    in its duplicate-key pass: jinbao/staged/key_order.py)."""
    keys = [c.name for c in target.primary_key.columns if c.name not in given]
    return [k.lower() for k in key_order(accepted)] == keys


def _count(accepted: Path, rows: tuple[int, int] | None) -> int:
    return rows[1] - rows[0] if rows else pq.ParquetFile(accepted).metadata.num_rows


def _whole(accepted: Path, rows: tuple[int, int] | None) -> list[pa.Table]:
    """The staged records (or those of [start, stop)) as one table."""
    data = pa.Table.from_batches(list(chunks(accepted, rows)), schema=pq.read_schema(accepted))
    return [data]


def chunks(accepted: Path, rows: tuple[int, int] | None = None) -> Iterable[pa.RecordBatch]:
    """The staged records in chunks of at most PUBLISH_CHUNK, only those of [start, stop) when given:
    row groups wholly outside the range are never read, so a partition reads its share of the file."""
    pf = read_staged(accepted)
    if rows is None:
        yield from pf.iter_batches(batch_size=PUBLISH_CHUNK)
        return
    start, stop = rows
    offset = 0
    for group in range(pf.metadata.num_row_groups):
        size = pf.metadata.row_group(group).num_rows
        if offset < stop and start < offset + size:
            at = offset
            for chunk in pf.iter_batches(batch_size=PUBLISH_CHUNK, row_groups=[group]):
                lo, hi = max(start - at, 0), min(stop - at, chunk.num_rows)
                if lo < hi:
                    yield chunk.slice(lo, hi - lo)
                at += chunk.num_rows
        offset += size


def prepared(target: sa.Table, chunk: pa.RecordBatch | pa.Table, given: Mapping[str, object],
             in_key_order: bool = False) -> pa.Table:
    """A chunk as the target's columns: typed, lower-case names, in table order, without the columns
    `given` sets for every row, and only the last record of a key that occurs twice (sorted by key
    when asked)."""
    data = typed_for(target, chunk)
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    data = data.rename_columns([name.lower() for name in data.column_names])
    data = data.select([c.name for c in target.columns if c.name in data.column_names and c.name not in given])
    keys = [c.name for c in target.primary_key.columns if c.name in data.column_names]
    return last_per_key_sorted(data, keys) if in_key_order else last_per_key(data, keys)


def last_per_key_sorted(data: pa.Table, keys: list[str]) -> pa.Table:
    """Sorted by key (a stable sort, so a repeated key's rows keep their order), each key's last row."""
    if data.num_rows < 2 or not keys:
        return data
    return last_of_each_key(data.take(pc.sort_indices(data, [(k, "ascending") for k in keys])), keys)


def last_per_key(data: pa.Table, keys: list[str]) -> pa.Table:
    """Rows in their order, a repeated key only with its last row: one statement may not touch a row twice.
    The gate already rejects a delivery's duplicate keys, so this mostly only confirms there are none."""
    if data.num_rows < 2 or not keys:
        return data
    rows = pa.array(np.arange(data.num_rows))
    last = data.select(keys).append_column("row", rows).group_by(keys, use_threads=False).aggregate([("row", "max")])
    if last.num_rows == data.num_rows:
        return data
    return data.take(np.sort(last.column("row_max").to_numpy()))


def store_rejections(conn: Connection, rejected: Path, batch_id: int) -> int:
    """Every failed field of the delivery, for coverage reports and auditors (read chunk by chunk)."""
    stored = 0
    for chunk in read_staged(rejected).iter_batches(batch_size=PUBLISH_CHUNK):
        rej = chunk.to_pandas()
        rej["batch_id"] = batch_id
        rows = records(rej[[c.name for c in rejection.columns if c.name in rej.columns]])
        if rows:
            conn.execute(sa.insert(rejection), rows)
        stored += len(rows)
    return stored


class _Rejections:
    """jinbao/store/consumers.py IN_PUBLISH: every batch's rejections, first."""

    def applies(self, feed) -> bool:
        return True

    def run(self, conn: Connection, batch, published: int, stamp: dt.datetime) -> None:
        store_rejections(conn, batch.staging / REJECTED, batch.id)


REJECTIONS = _Rejections()


def typed_for(target: sa.Table, chunk: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """Cast string columns to the target's numeric types (amounts as exact decimals)."""
    cols, names = [], chunk.schema.names
    for name, col in zip(names, chunk.columns):
        column = target.c.get(name.lower())
        if column is not None and isinstance(column.type, sa.Numeric) and pa.types.is_string(col.type):
            col = col.cast(pa.decimal128(column.type.precision or 18, column.type.scale or 0))
        cols.append(col)
    return type(chunk).from_arrays(cols, names=names)


def records(frame) -> list[dict]:
    """DataFrame -> DB-API rows, with pandas' NaT/NaN turned into NULL."""
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")

