"""Moving Arrow data into PostgreSQL and MariaDB in bulk, without a Python object per value.

Publishing a million records row by row spends most of its time turning
values into Python objects and back into SQL (Arrow -> pandas -> dicts ->
executemany: ~28k rows/s).  Here the database receives text that Arrow's C++
code wrote for whole columns at once:

* PostgreSQL: CSV (pyarrow's writer) through `COPY ... FROM STDIN` into a
  temporary table; the caller merges it with one statement.  CSV rather than
  binary COPY because pyarrow writes it natively and the server parses it at
  roughly the speed it can merge anyway; an unquoted empty field is NULL and a
  quoted one an empty string, so NULLs and empty text stay apart.
* MariaDB: multi-row `INSERT ... VALUES (...), (...)` whose literals are built
  with Arrow compute (escaped, quoted, joined), in statements bounded by the
  server's max_allowed_packet.  Not `LOAD DATA LOCAL INFILE`: that needs the
  client's local_infile capability on every store connection, which also lets
  the server ask the client for any file it names.
"""
from __future__ import annotations

import io
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy.engine import Connection

#: Rows per CSV block written into one COPY.
COPY_BLOCK = 50_000
#: Upper bound of one multi-row INSERT on MariaDB (also kept under half its max_allowed_packet).
STATEMENT_BYTES = 8 << 20


def copy_csv(conn: Connection, name: str, data: pa.Table) -> int:
    """COPY `data` (columns named as the table's) into PostgreSQL table `name`, in the caller's transaction."""
    if data.num_rows == 0:
        return 0
    cols = ", ".join(data.schema.names)
    cursor = conn.connection.driver_connection.cursor()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with cursor.copy(f"COPY {name} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        for block in data.to_batches(max_chunksize=COPY_BLOCK):
            buf = io.BytesIO()
            pacsv.write_csv(block, buf, options)
            copy.write(buf.getbuffer())
    return data.num_rows


class MariaText:
    """Arrow columns as MariaDB literals, for statements sent without bound parameters.

    PyMySQL formats every statement with `%` even when there are no parameters, so each `%`
    in the text is doubled.
    """

    def __init__(self, conn: Connection):
        mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode, @@SESSION.max_allowed_packet").one()
        self.backslash = "NO_BACKSLASH_ESCAPES" not in (mode[0] or "").upper()
        self.limit = min(STATEMENT_BYTES, int(mode[1]) // 2)

    def column(self, values: pa.ChunkedArray | pa.Array) -> pa.Array:
        kind = values.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = values
            if self.backslash:
                text = pc.replace_substring(text, "\\", "\\\\")
                text = pc.replace_substring(text, "\x00", "\\0")
            text = pc.replace_substring(pc.replace_substring(text, "'", "''"), "%", "%%")
            text = pc.binary_join_element_wise("'", text, "'", "")
        elif pa.types.is_date(kind):
            text = pc.binary_join_element_wise("'", values.cast(pa.string()), "'", "")
        elif pa.types.is_boolean(kind):
            text = pc.if_else(values, "1", "0")
        elif pa.types.is_integer(kind) or pa.types.is_decimal(kind):
            text = values.cast(pa.string())
        else:
            raise TypeError(f"no MariaDB literal for Arrow type {kind}")
        return pc.fill_null(text, "NULL")

    def rows(self, data: pa.Table) -> pa.Array:
        """`(v1, v2, ...)` per row."""
        cols = [self.column(data.column(i).combine_chunks()) for i in range(data.num_columns)]
        return pc.binary_join_element_wise("(", pc.binary_join_element_wise(*cols, ", "), ")", "")

    def statements(self, head: str, data: pa.Table) -> Iterator[str]:
        """`head VALUES (...), (...)`, split so that no statement exceeds the size limit."""
        rows = self.rows(data)
        if len(rows) == 0:
            return
        sizes = pc.binary_length(rows).to_numpy(zero_copy_only=False).astype(np.int64) + 2
        ends = np.cumsum(sizes)
        start = 0
        while start < len(rows):
            base = ends[start - 1] if start else 0
            stop = max(int(np.searchsorted(ends, base + self.limit, side="right")), start + 1)
            part = rows.slice(start, stop - start)
            values = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(part)], pa.int32()), part), ", ")
            yield f"{head} VALUES {values[0].as_py()}"
            start = stop

    @staticmethod
    def execute(conn: Connection, statement: str) -> int:
        """Through the driver's cursor: PyMySQL turns `%%` back into `%` and sends the text as it is."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            return cursor.execute(statement, ())
        finally:
            cursor.close()


def insert_rows(conn: Connection, name: str, data: pa.Table) -> int:
    """Multi-row INSERTs of `data` into MariaDB table `name` (columns named as the table's)."""
    text = MariaText(conn)
    head = f"INSERT INTO {name} ({', '.join(data.schema.names)})"
    for statement in text.statements(head, data):
        text.execute(conn, statement)
    return data.num_rows
