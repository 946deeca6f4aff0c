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
    ok = pc.fill_null(pc.equal(pc.binary_length(values), width), False)
    fixed = pc.if_else(ok, values, "0" * width).cast(pa.binary()).cast(pa.binary(width))
    buf = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * width
    return buf[start:start + len(fixed) * width].reshape(-1, width), ok.to_numpy(zero_copy_only=False)
