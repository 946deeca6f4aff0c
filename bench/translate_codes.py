"""Code translation of 10M values: Arrow index_in + take vs pandas .map vs a dict loop.

Usage: python bench/translate_codes.py [N]   (default 10_000_000)
Values are police XB codes (GB/T 2261.1, incl. 0 and an unmapped 5) on one core.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory import peak_rss_kb  # noqa: E402
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pyarrow as pa

pa.set_cpu_count(1)   # "on one core", as the target says

from jinbao.mappings.tables import code_table
from jinbao.mappings.translator import translate_codes


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    table = code_table("police.gender", dt.date(2026, 11, 22))
    rng = np.random.default_rng(1)
    values = np.array(["1", "2", "9", "0", "5"])[rng.choice(5, n, p=[0.49, 0.49, 0.01, 0.009, 0.001])]
    col = pa.array(values, pa.string())
    series = pd.Series(values, dtype="string[pyarrow]")
    runs = {}

    t = time.perf_counter()
    out, unmapped = translate_codes(col, table)
    runs["arrow index_in+take"] = time.perf_counter() - t
    n_unmapped = int(np.asarray(unmapped).sum())

    t = time.perf_counter()
    pd_out = series.map(table.forward)
    runs["pandas Series.map"] = time.perf_counter() - t

    sample = values[: n // 10]                # the loop is run on a tenth and scaled
    t = time.perf_counter()
    fwd = table.forward
    loop_out = [fwd.get(v) for v in sample]
    runs["python dict loop (1/10, scaled)"] = (time.perf_counter() - t) * 10

    assert out.null_count == n_unmapped == int(pd_out.isna().sum())
    assert loop_out[:1000] == out.slice(0, 1000).to_pylist()
    print(f"{n:,} values, {n_unmapped:,} unmapped, peak RSS {(peak_rss_kb() // 1024)} MB")
    base = runs["arrow index_in+take"]
    for name, secs in runs.items():
        print(f"{name:<34}{secs:>8.3f} s{n / secs / 1e6:>10.1f} M values/s{secs / base:>8.1f}x")
    from bench.summary import emit
    emit("translate_codes", True, values=n, unmapped=n_unmapped, seconds=runs,
         peak_mb=peak_rss_kb() // 1024)


if __name__ == "__main__":
    main()
