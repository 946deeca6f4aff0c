"""The findings of one kind as people read them, column by column: the one conversion the CSV, the
workbook and the page share (render.rows() is this table's rows).

A province's report holds hundreds of thousands of rows, so nothing here goes value by value over a
whole column: IDs are masked by Arrow compute, codes get their words once per distinct code, and a
text is cleaned in Python only when Arrow finds something to clean in it (an ID or a control
character).  The values are the ones render.rows() always gave: IDs masked unless full_ids, codes
with their words, feeds by their titles, amounts exact decimals to the fen, dates dates.

Imports inside functions: none.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit import findings
from jinbao.audit.findings import month_end
from jinbao.audit.render import (BOOL_WORDS, COLUMNS, FEN, GENDER_WORDS, KIND_WORDS, _table, clean_text,
                                 division_name, feed_titles, masked_difference, reason_text, source_names)
from jinbao.privacy import _ID_CANDIDATE, mask_ids

#: What clean_text may change in a text: an ID inside it, or a control character other than tab,
#: line feed and carriage return (jinbao.display._CONTROLS_BUT_LAYOUT).
_TO_CLEAN = _ID_CANDIDATE + r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
YUAN = pa.decimal128(14, 2)


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def per_value(values: pa.Array, fn: Callable, kind: pa.DataType = pa.string()) -> pa.Array:
    """fn over each distinct value of `values` (nulls stay null), then spread back over the rows."""
    values = _array(values)
    if len(values) == 0:
        return pa.array([], kind)
    encoded = pc.dictionary_encode(values)
    words = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], kind)
    return words.take(encoded.indices)


def cleaned(values: pa.Array) -> pa.Array:
    """clean_text over a column: only the texts Arrow finds an ID or a control character in go
    through Python."""
    values = _array(values)
    if len(values) == 0:
        return values.cast(pa.string())
    values = values.cast(pa.string())
    found = pc.fill_null(pc.match_substring_regex(values, _TO_CLEAN), False)
    if not pc.any(found).as_py():
        return values
    changed = per_value(values.filter(found), clean_text)
    return pc.replace_with_mask(values, found, changed)


def shown(report: findings.Report, kind: str, full_ids: bool = False) -> pa.Table:
    """The kind's columns (render.COLUMNS) as people read them, one Arrow column per field."""
    columns = COLUMNS[kind]
    table = _table(report, kind)
    on = month_end(report.month)
    titles = feed_titles() if any(c.form == "sources" for c in columns) else {}
    out: dict[str, pa.Array] = {}
    for col in columns:
        if col.field == "division_name":
            names = per_value(table.column("division"), lambda code: division_name(code, on))
            out[col.field] = pc.fill_null(names, "") if len(names) else names
            continue
        value = _array(table.column(col.field))
        if col.form == "id":
            out[col.field] = value if full_ids else mask_ids(value.cast(pa.string()))
        elif col.form == "birth":
            out[col.field] = value if full_ids else pc.year(value)
        elif col.form == "difference":        # a probable typo's: a handful of rows
            refs = pc.coalesce(table.column("id_reported"), table.column("aac002"), "").to_pylist()
            out[col.field] = pa.array([clean_text(v if full_ids else masked_difference(v, len(ref)))
                                       for v, ref in zip(value.to_pylist(), refs)], pa.string())
        elif col.form == "gender":
            out[col.field] = per_value(value, lambda v: f"{v} {GENDER_WORDS.get(v, '')}".strip())
        elif col.form == "kind":
            out[col.field] = per_value(value, lambda v: clean_text(f"{KIND_WORDS.get(v, '')} {v}".strip()))
        elif col.form == "bool":
            out[col.field] = per_value(value, lambda v: BOOL_WORDS[bool(v)])
        elif col.form == "sources":
            out[col.field] = per_value(value, lambda v: source_names(v, titles))
        elif col.form == "reasons":
            out[col.field] = per_value(value, reason_text)
        elif col.form == "yuan":
            out[col.field] = _yuan(value)
        elif col.form in ("text", "division", "file"):
            out[col.field] = cleaned(value)
        else:
            out[col.field] = value
    return pa.table(out)


def _yuan(values: pa.Array) -> pa.Array:
    """Exact amounts to the fen (Decimal.quantize's rounding, half to even, should a value carry more)."""
    if pa.types.is_decimal(values.type) and values.type.scale <= 2:
        return values.cast(YUAN)
    return pa.array([None if v is None else Decimal(v).quantize(FEN) for v in values.to_pylist()], YUAN)
