"""One kind's findings as CSV, written from its shown columns (jinbao/audit/shown.py) by Arrow compute:
a province's report has hundreds of thousands of rows, and csv.writer goes cell by cell.

The bytes are csv.writer's (QUOTE_MINIMAL, CRLF): a field holding a comma, a quote or a line break
is quoted with its quotes doubled; amounts with exactly two decimals and no grouping, dates
YYYY-MM-DD, months YYYY-MM, and a text that Excel would run as a formula starts with "'".

Imports inside functions: none.
"""
from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit.render import _FORMULA_START, COLUMNS, Column

#: Rows per block: the text of a block is joined in one piece.
BLOCK = 200_000


def _text(col: Column, values: pa.Array) -> pa.Array:
    """A column as the text of its CSV fields (null: the field is empty)."""
    kind = values.type
    if col.form == "month" and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
        return pc.strftime(values.cast(pa.timestamp("s")), "%Y-%m")
    if pa.types.is_date(kind):
        return pc.strftime(values.cast(pa.timestamp("s")), "%Y-%m-%d")
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind):
        return values.cast(pa.string())           # decimal128(14, 2): "2000.20", "-1.00", "0.00"
    if pa.types.is_null(kind):
        return values.cast(pa.string())
    text = values.cast(pa.string())
    formula = pc.fill_null(pc.starts_with(text, _FORMULA_START[0]), False)
    for start in _FORMULA_START[1:]:
        formula = pc.or_(formula, pc.fill_null(pc.starts_with(text, start), False))
    return pc.if_else(formula, pc.binary_join_element_wise("'", text, ""), text)


def quoted(text: pa.Array) -> pa.Array:
    """csv.writer's QUOTE_MINIMAL: quoted when holding a comma, a quote, CR or LF; nulls as ''."""
    text = pc.fill_null(text, "")
    needs = pc.match_substring_regex(text, r'[,"\r\n]')
    wrapped = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, wrapped, text)


def csv_text(table: pa.Table, kind: str) -> bytes:
    """`table` (shown columns of `kind`) as CSV: UTF-8 with a BOM, a header row, CRLF line ends."""
    columns = COLUMNS[kind]
    head = io.StringIO()
    csv.writer(head, lineterminator="\r\n").writerow([c.label for c in columns])
    parts = [head.getvalue().encode("utf-8-sig")]
    for start in range(0, table.num_rows, BLOCK):
        block = table.slice(start, BLOCK)
        fields = [quoted(_text(c, block.column(c.field).combine_chunks())) for c in columns]
        lines = pc.binary_join_element_wise(*fields, ",")
        parts.append(("\r\n".join(lines.to_pylist()) + "\r\n").encode("utf-8"))
    return b"".join(parts)
