"""Temporary tables for set-based reconciliation, filled in bulk.

A batch's offers go into the store as a temporary table so that reconciling
is a handful of INSERT ... SELECT / UPDATE ... FROM statements run by the
database, not a loop over people in Python.  PostgreSQL gets them by COPY (the
CSV pyarrow writes); SQLite and MariaDB by executemany in chunks.  Temporary
tables belong to the connection; MariaDB keeps them past a rollback, so each
is dropped before it is made and after use (with TEMPORARY, which on MariaDB
does not commit the transaction the way a plain DROP TABLE would).
"""
from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: Rows per executemany round trip / per COPY write.
CHUNK = 50_000


def drop(conn: Connection, name: str) -> None:
    dialect = conn.dialect.name
    if dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE IF EXISTS {name}")
    elif dialect == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def create(conn: Connection, name: str, *columns: sa.Column, key: str | None = None) -> sa.Table:
    """A fresh temporary table; `key` becomes its primary key (the join column)."""
    drop(conn, name)
    cols = [sa.Column(c.name, c.type, primary_key=(c.name == key)) for c in columns]
    table = sa.Table(name, sa.MetaData(), *cols, prefixes=["TEMPORARY"])
    table.create(conn)
    return table


def fill(conn: Connection, table: sa.Table, data: pa.Table) -> int:
    """Bulk-load `data` (columns named as the table's) into `table`."""
    if data.num_rows == 0:
        return 0
    if conn.dialect.name == "postgresql":
        cols = ", ".join(data.schema.names)
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            for batch in data.to_batches(max_chunksize=CHUNK):
                buf = io.BytesIO()
                pacsv.write_csv(pa.Table.from_batches([batch]), buf,
                                pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                copy.write(buf.getvalue())
        conn.exec_driver_sql(f"ANALYZE {table.name}")
    else:
        for batch in data.to_batches(max_chunksize=CHUNK):
            conn.execute(sa.insert(table), batch.to_pylist())
    return data.num_rows
