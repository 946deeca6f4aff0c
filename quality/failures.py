"""Collects failed fields for a chunk of records as column masks.

Each check contributes a boolean mask over the chunk; only at the end are
the masks turned into rows (one per failed field), so a chunk with no
failures costs no row materialisation at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.quality.reasons import messages

FAILURE_SCHEMA = pa.schema([
    ("row", pa.int64()),          # index inside the chunk
    ("field", pa.string()),       # partner column as sent
    ("reason_code", pa.string()),
    ("value", pa.string()),       # as sent; null for personal fields
    ("message", pa.string()),
])


@dataclass
class Failures:
    n: int
    parts: list[pa.Table] = field(default_factory=list)

    def add(self, mask, field_name: str, reason: str, values: pa.Array | None = None,
            expected: str | tuple[str, str] | None = None, detail: pa.Array | None = None) -> None:
        """Record `reason` on `field_name` for every row where mask is true.

        `values` are the values as sent; pass None for personal data (IDs,
        names) so that they never appear in a receipt.  `expected`: what was
        agreed (a date layout, the code values, a declared bound), which the
        message states (quality/reasons.py EXPECTED).  `detail`: per row, text
        the message ends with (a division's successor), where one reason's
        message differs from row to row.
        """
        mask = _as_numpy(mask)
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return
        idx = pa.array(rows, pa.int64())
        vals = values.take(idx).cast(pa.string()) if values is not None else pa.nulls(rows.size, pa.string())
        text = messages(reason, field_name, vals, expected, shown=values is not None)
        if detail is not None:
            text = pc.binary_join_element_wise(text, pc.fill_null(detail.take(idx).cast(pa.string()), ""), " — ")
        self.parts.append(pa.table({
            "row": idx,
            "field": pa.array([field_name] * rows.size, pa.string()),
            "reason_code": pa.array([reason] * rows.size, pa.string()),
            "value": vals,
            "message": text,
        }, schema=FAILURE_SCHEMA))

    def table(self) -> pa.Table:
        if not self.parts:
            return FAILURE_SCHEMA.empty_table()
        return pa.concat_tables(self.parts).sort_by([("row", "ascending")])

    def rejected_mask(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for t in self.parts:
            out[t.column("row").to_numpy()] = True
        return out


def _as_numpy(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
