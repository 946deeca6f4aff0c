"""Partner record batch -> hub record batch, through one pinned FeedMapping.

Everything is whole-column Arrow compute: code values through `index_in` +
`take` against the table's keys, dates through `strptime`.  A value that
cannot be translated never silently becomes null: it is recorded as a failed
field (UNMAPPED_CODE, DATE_INVALID) on the partner's column, which rejects the
record, and the receipt names the column the partner knows and what was agreed
(the table's codes, the date layout).
"""
from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.formats import citizen_id
from jinbao.formats.fixed_width import parse_numeric_date
from jinbao.mappings.tables import CodeTable, FeedMapping, date_layout

_TRIM = " \t\r\u3000\ufeff"


class FailedFields(Protocol):
    """Where a failed field is recorded: the gate's collector (quality/failures.py) is one.  Said here
    as what the translator calls, so that mappings need nothing of the quality gate that uses them."""

    def add(self, mask, field_name: str, reason: str, values: pa.Array | None = None,
            expected: str | None = None, detail: pa.Array | None = None) -> None: ...


def _has_trimmable(col: pa.Array) -> bool:
    """Whether any byte of the column could be trimmable whitespace: a scan of the raw
    UTF-8 buffer, far cheaper than trimming, and usually false for partner files."""
    if len(col) == 0 or col.buffers()[2] is None:
        return False
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + len(col) + 1]
    raw = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]   # this slice only
    return bool(((raw == 0x20) | (raw == 0x09) | (raw == 0x0D)
                 | (raw == 0xE3) | (raw == 0xEF)).any())      # E3/EF: lead bytes of U+3000, U+FEFF


def normalise(col: pa.Array) -> pa.Array:
    """Trim whitespace (incl. full-width spaces) and turn empty strings into nulls."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if _has_trimmable(col):
        col = pc.utf8_trim(col, _TRIM)
    empty = pc.equal(pc.binary_length(col), 0)
    if not pc.any(empty).as_py():
        return col
    return pc.if_else(empty, pa.scalar(None, pa.string()), col)


def translate_codes(col: pa.Array, table: CodeTable, reverse: bool = False) -> tuple[pa.Array, pa.Array]:
    """Return (translated, unmapped mask); unmapped = had a value but no entry in the table."""
    mapping = table.reverse if reverse else table.forward
    keys = pa.array(list(mapping.keys()), pa.string())
    values = pa.array(list(mapping.values()), pa.string())
    idx = pc.index_in(col, value_set=keys)
    out = pc.take(values, idx)
    unmapped = pc.and_(pc.is_valid(col), pc.is_null(idx))
    return out, unmapped


def parse_dates(col: pa.Array, fmt: str) -> tuple[pa.Array, pa.Array]:
    """Return (date32 column, invalid mask) for values in `fmt`; 2023-02-30 is invalid."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    fast = parse_numeric_date(col, fmt)
    if fast is not None:
        dates = pa.array(fast, pa.date32())
        return dates, pc.and_(col.is_valid(), dates.is_null())
    parsed = pc.strptime(col, format=fmt, unit="s", error_is_null=True)
    # Arrow's strptime rolls 2023-02-30 over to 2023-03-02.  For formats ending
    # in a zero-padded day the check is cheap: exact width and the same day back.
    # Other formats fall back to formatting the result and comparing (slower).
    width = len(dt.date(2000, 1, 1).strftime(fmt))
    if fmt.endswith("%d"):
        day = pc.cast(pc.if_else(pc.utf8_is_digit(pc.utf8_slice_codeunits(col, -2)),
                                 pc.utf8_slice_codeunits(col, -2), None), pa.int64())
        same = pc.and_(pc.equal(pc.utf8_length(col), width), pc.equal(pc.day(parsed), day))
    else:
        same = pc.equal(pc.strftime(parsed, format=fmt), col)
    parsed = pc.if_else(pc.fill_null(same, False), parsed, pa.scalar(None, parsed.type))
    dates = pc.cast(parsed, pa.date32())
    invalid = pc.and_(pc.is_valid(col), pc.is_null(dates))
    return dates, invalid


def normalise_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Every column trimmed, empty strings as nulls: done once per batch, used by every rule."""
    return pa.RecordBatch.from_arrays([normalise(c) for c in batch.columns], schema=batch.schema)


def translate(batch: pa.RecordBatch, mapping: FeedMapping, failures: FailedFields,
              clean: pa.RecordBatch | None = None) -> pa.Table:
    """Translate one batch to hub codes; failed fields go into `failures`.

    The result has one column per hub code of the mapping (dates as date32,
    everything else as strings) plus `id_upgraded`.  `clean` is the batch
    already normalised (normalise_batch), when the caller has it.
    """
    out: dict[str, pa.Array] = {}
    upgraded = pa.array([False] * batch.num_rows)
    for rule in mapping.fields:
        if rule.partner not in batch.schema.names:      # an optional column the partner left out
            out[rule.hub] = pa.nulls(batch.num_rows, pa.date32() if rule.date_format else pa.string())
            continue
        col = clean.column(rule.partner) if clean is not None else normalise(batch.column(rule.partner))
        if rule.hub == "AAC002":
            col = pc.utf8_upper(col)
            if mapping.upgrade_15_digit_ids:
                col, mask = citizen_id.upgrade_15(col)
                upgraded = pa.array(mask)
        if rule.codes:
            table = mapping.code_tables[rule.codes]
            col, unmapped = translate_codes(col, table)
            failures.add(unmapped, rule.partner, "UNMAPPED_CODE", batch.column(rule.partner), table.agreed())
        elif rule.date_format:
            col, invalid = parse_dates(col, rule.date_format)
            failures.add(invalid, rule.partner, "DATE_INVALID", batch.column(rule.partner),
                         date_layout(rule.date_format))
        out[rule.hub] = col
    out["id_upgraded"] = upgraded
    return pa.table(out)


def unmapped_outbound(hub: pa.Table, mapping: FeedMapping) -> dict[str, pa.Array]:
    """Per partner column with a code table: which records hold a hub value it cannot send back."""
    return {rule.partner: translate_codes(hub.column(rule.hub).combine_chunks(), mapping.code_tables[rule.codes],
                                          reverse=True)[1]
            for rule in mapping.fields if rule.codes and rule.hub in hub.column_names}


def to_partner(hub: pa.Table, mapping: FeedMapping) -> tuple[pa.Table, pa.Array]:
    """Outbound: hub codes back to partner names and codes.

    Returns (partner table, blocked mask).  A hub value with no reverse
    mapping blocks its record rather than sending something wrong.
    """
    cols: dict[str, pa.Array] = {}
    blocked = pa.array(np.zeros(hub.num_rows, dtype=bool))
    for rule in mapping.fields:
        if rule.hub not in hub.column_names:
            continue
        col = hub.column(rule.hub).combine_chunks()
        if rule.codes:
            col, unmapped = translate_codes(col, mapping.code_tables[rule.codes], reverse=True)
            blocked = pc.or_(blocked, unmapped)
        elif rule.date_format:
            col = pc.strftime(pc.cast(col, pa.timestamp("s")), format=rule.date_format)
        cols[rule.partner] = col
    return pa.table(cols), blocked
