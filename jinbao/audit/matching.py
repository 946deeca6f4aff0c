"""Death records against the pension roll on the citizen ID: one hash join, no Python per record.

`match_ids` splits death records into those whose ID is on the roll (with the roll's columns) and
the others, which the typo search (`typos.probable_typos`) then looks at.  The join is Arrow's
(Acero): a hash table on the ID column of the death records, probed by the roll's IDs on every core,
and only row numbers cross the join; the columns are gathered afterwards.  IDs are compared exactly
as strings (no normalisation: a lowercase `x` is another ID); when every ID on the roll is 18 bytes
(the usual case) they are joined as fixed 18-byte keys, viewed in place.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class IdMatch:
    """`matched`: the death records whose ID is on the roll, in their order, each followed by the
    roll's columns; `unmatched`: the other records, in their order (a null ID is never matched)."""

    matched: pa.Table
    unmatched: pa.Table


def _key(column) -> pa.ChunkedArray | pa.Array:
    return column if column.type == pa.string() else column.cast(pa.string())


def _fixed18(column) -> pa.ChunkedArray | None:
    """The roll's IDs as fixed 18-byte keys, without copying, when every one is 18 bytes (else None):
    Acero hashes and compares fixed-width keys faster than variable-length strings."""
    column = _key(column)
    chunks = []
    for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        if len(chunk) == 0:
            continue
        if chunk.null_count:
            return None
        off = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        if off[-1] - off[0] != 18 * len(chunk) or (np.diff(off) != 18).any():
            return None
        chunks.append(pa.Array.from_buffers(pa.binary(18), len(chunk),
                                            [None, chunk.buffers()[2].slice(int(off[0]), 18 * len(chunk))]))
    return pa.chunked_array(chunks, pa.binary(18))


def _keys(deaths_key, roll_key):
    """(probe keys, build keys) of one type: binary(18) when the roll allows it; a death record's ID
    of another length cannot equal an 18-byte one and becomes null (never matched)."""
    fixed = _fixed18(roll_key)
    if fixed is None:
        return _key(roll_key), _key(deaths_key)
    ids = _key(deaths_key)
    ok = pc.fill_null(pc.equal(pc.binary_length(ids), 18), False)
    return fixed, pc.if_else(ok, ids, pa.scalar(None, pa.string())).cast(pa.binary()).cast(pa.binary(18))


def match_ids(deaths: pa.Table, roll: pa.Table, *, on: str = "aac002", roll_on: str = "aac002",
              columns: Sequence[str] | None = None, suffix: str = "_roll") -> IdMatch:
    """Exact match of `deaths[on]` with `roll[roll_on]`.

    The roll holds one row per person (a person-level roll, e.g. ID, last month paid, months paid);
    an ID the roll holds twice that a death record names raises ValueError instead of doubling the
    record.  `columns`: the roll's columns to append (default: all but the key); one whose name the
    death records already use gets `suffix`.  Several records with one ID (one per death source)
    each match.
    """
    if columns is None:
        columns = [c for c in roll.column_names if c != roll_on]
    names = [c + suffix if c in deaths.column_names else c for c in columns]
    n = deaths.num_rows
    if n == 0 or roll.num_rows == 0:
        roll_row = np.full(n, -1, dtype=np.int64)
    else:
        roll_keys, death_keys = _keys(deaths[on], roll[roll_on])
        probe = pa.table({"k": roll_keys, "_r": pa.array(np.arange(roll.num_rows, dtype=np.int64))})
        build = pa.table({"k": death_keys, "_d": pa.array(np.arange(n, dtype=np.int64))})
        # Acero builds its hash table on the right-hand table: the death records, the smaller side.
        pairs = probe.join(build, "k", join_type="inner", use_threads=True)
        d = pairs["_d"].to_numpy()
        roll_row = np.full(n, -1, dtype=np.int64)
        roll_row[d] = pairs["_r"].to_numpy()
        if len(d) != np.count_nonzero(roll_row >= 0):
            counts = np.bincount(d, minlength=n)
            raise ValueError(f"the roll holds {int((counts - 1).clip(0).sum())} extra row(s) for IDs that death "
                             f"records name (first: record {int(np.flatnonzero(counts > 1)[0])}); "
                             "match against one row per person")
    found = roll_row >= 0
    matched = deaths.filter(pa.array(found))
    picked = roll.select(list(columns)).take(pa.array(roll_row[found]))
    for name, col in zip(names, picked.columns):
        matched = matched.append_column(name, col)
    return IdMatch(matched=matched, unmatched=deaths.filter(pa.array(~found)))
