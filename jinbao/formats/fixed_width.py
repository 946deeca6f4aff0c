"""Fixed-width codes (citizen IDs, credit codes) as a numpy byte matrix.

Check-character arithmetic is a weighted sum over character positions; with
the column as an n × width uint8 matrix that sum is one matrix product for
millions of codes, instead of a Python loop over strings.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def byte_matrix(values, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (bytes[n, width], ok[n]) where ok marks values of exactly `width` bytes.

    Values of another length (or null) are replaced by '0's so the matrix stays
    rectangular; callers must mask them with `ok`.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    if len(values) and values.null_count == 0 and values.buffers()[2] is not None:
        # Usual case, every value exactly `width` bytes: the data buffer already is the matrix.
        offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset:values.offset + len(values) + 1]
        if offsets[-1] - offsets[0] == width * len(values) and (np.diff(offsets) == width).all():
            data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
            return data.reshape(-1, width), np.ones(len(values), dtype=bool)
    ok = pc.fill_null(pc.equal(pc.binary_length(values), width), False)
    fixed = pc.if_else(ok, values, "0" * width).cast(pa.binary()).cast(pa.binary(width))
    buf = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * width
    return buf[start:start + len(fixed) * width].reshape(-1, width), ok.to_numpy(zero_copy_only=False)


def digits_value(mat: np.ndarray, ok: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """(int value, all-digits mask) of byte positions start..stop-1 of each row, column at a time."""
    value = np.zeros(len(mat), dtype=np.int32)
    digits = ok.copy()
    for i in range(start, stop):
        d = mat[:, i] - np.uint8(48)          # non-digits wrap to >= 208
        digits &= d <= 9
        value *= 10
        value += d                            # garbage where not digits: callers mask with `digits`
    return value, digits


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_FIRST_YEAR, _LAST_YEAR = 1800, 2200
#: Days from 1970-01-01 to 1 January of each year in [1800, 2200).
_YEAR_START = ((np.arange(_FIRST_YEAR, _LAST_YEAR) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
               .astype(np.int64)).astype(np.int32)
#: Days before the first of each month (index 1..12), common and leap years.
_MONTH_START = np.array([np.concatenate([[0, 0], np.cumsum(_DAYS_IN_MONTH[1:12])]),
                         np.concatenate([[0, 0], np.cumsum(_DAYS_IN_MONTH[1:12] + (np.arange(1, 12) == 2))])],
                        dtype=np.int32)


def civil_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """datetime64[D] of each (year, month, day), NaT where not ok or the date does not exist.

    Days since the epoch from two small tables (year starts, month starts), so a
    column costs a few gathers; February 30 is NaT here, not March 2 as Arrow's
    strptime makes it.  Years outside 1800-2199 are NaT.
    """
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    real_month = (month >= 1) & (month <= 12)
    month = np.where(real_month, month, 0)
    dim = _DAYS_IN_MONTH[month] + ((month == 2) & leap)
    exists = ok & real_month & (year >= _FIRST_YEAR) & (year < _LAST_YEAR) & (day >= 1) & (day <= dim)
    y = np.clip(year, _FIRST_YEAR, _LAST_YEAR - 1) - _FIRST_YEAR
    days = _YEAR_START[y] + _MONTH_START[leap.astype(np.int8), month] + day - 1     # table lookups only
    out = np.where(exists, days, 0).astype("datetime64[D]")
    out[~exists] = np.datetime64("NaT")
    return out


_FIELDS = {"%Y": 4, "%m": 2, "%d": 2}


def parse_numeric_date(values: pa.Array, fmt: str) -> np.ndarray | None:
    """Dates in a purely numeric format (%Y%m%d, %Y-%m-%d, ...) as datetime64[D] with NaT for invalid.

    A format without a day (%Y-%m, %Y%m: a month) gives the first day of the month.
    Returns None for formats this cannot do (names of months, %y, a day without a
    month, a non-ASCII literal such as %Y年%m月%d日, ...), so the caller falls back to strptime.
    """
    layout, pos, i = {}, 0, 0
    literals = []
    while i < len(fmt):
        token = fmt[i:i + 2]
        if token in _FIELDS:
            layout[token] = (pos, pos + _FIELDS[token])
            pos, i = pos + _FIELDS[token], i + 2
        elif fmt[i] == "%" or not fmt[i].isascii():     # a literal like 年 is several bytes wide
            return None
        else:
            literals.append((pos, fmt[i]))
            pos, i = pos + 1, i + 1
    if not {"%Y", "%m"} <= set(layout):
        return None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    mat, ok = byte_matrix(values, pos)
    for at, char in literals:
        ok = ok & (mat[:, at] == ord(char))
    parts = {}
    for token, (a, b) in layout.items():
        parts[token], digits = digits_value(mat, ok, a, b)
        ok = ok & digits
    day = parts["%d"] if "%d" in parts else np.ones(len(mat), dtype=np.int32)
    return civil_dates(parts["%Y"], parts["%m"], day, ok)


def rows_with_digits(col: pa.Array) -> np.ndarray:
    """True for strings holding an ASCII (0-9) or full-width (０-９) digit.

    A scan of the UTF-8 buffer: ASCII digit bytes never occur inside multi-byte
    characters, and full-width digits are EF BC 90..99.  Hits are mapped to rows
    through the offsets, so the cost is one pass over the bytes, not a regex per row.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    out = np.zeros(len(col), dtype=bool)
    if len(col) == 0 or col.buffers()[2] is None:
        return out
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + len(col) + 1]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    hit = (data >= 0x30) & (data <= 0x39)
    if len(data) >= 3:
        fw = (data[:-2] == 0xEF) & (data[1:-1] == 0xBC) & (data[2:] >= 0x90) & (data[2:] <= 0x99)
        hit[:-2] |= fw
    pos = np.flatnonzero(hit) + offsets[0]
    out[np.searchsorted(offsets, pos, side="right") - 1] = True
    return out & col.is_valid().to_numpy(zero_copy_only=False)
