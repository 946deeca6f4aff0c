"""The quality gate vs the same rules as a Great Expectations checkpoint, same data, same run.

Usage: python bench/gate_vs_ge.py [N]   (default 1_000_000 police.death records, 20 % defective)
Prints records/s for the fast path (quality.verdict.judge over Arrow batches in
memory, on one thread and on the engine's default thread pool), for GE with result_format COMPLETE + unexpected_index_column_names,
and for GE with BOOLEAN_ONLY, plus the ratios, and checks that the fast path
and GE COMPLETE reject exactly the same lines.
"""
from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory import peak_rss_kb  # noqa: E402

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from bench.synthetic_police import build
from jinbao.declarations import get_feed
from jinbao.mappings.tables import feed_mapping
from jinbao.quality.verdict import Gate, judge
from jinbao.schemas.dictionary import partner_schema

CHUNK = 131_072


def main() -> None:
    import logging
    logging.disable(logging.WARNING)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    day = dt.date(2026, 11, 22)
    spec = get_feed("police.death")
    gate = Gate(feed_mapping("police.death", day), partner_schema("police.death"), day,
                spec.quality.rules)
    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp) / "police.death_20261122_000001.csv", n)
        table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(encoding="gb18030"),
                              convert_options=pcsv.ConvertOptions(column_types={c: pa.string()
                                                                                for c in gate.schema.names}))
    batches = table.combine_chunks().to_batches(max_chunksize=CHUNK)
    lines = [np.arange(2 + i * CHUNK, 2 + i * CHUNK + b.num_rows) for i, b in enumerate(batches)]
    judge(batches[0], lines[0], gate)                           # warm caches (reference lists)

    from jinbao.quality.parallel import judge_stream
    from jinbao.settings import load_settings
    fast_lines, rejected = set(), 0
    for b, ln in zip(batches, lines):
        v = judge(b, ln, gate)
        rejected += v.rejected_records
        fast_lines.update(v.rejected.column("line_no").to_pylist())
    workers = load_settings().gate_threads

    def best_of(k: int, threads: int) -> float:
        """Fastest of k runs: the fast path takes under a second, so noise matters; GE runs once."""
        times = []
        for _ in range(k):
            t = time.perf_counter()
            assert sum(v.rejected_records for _, v in judge_stream(zip(batches, lines), gate, threads)) == rejected
            times.append(time.perf_counter() - t)
        return min(times)
    fast, parallel = best_of(3, 1), best_of(3, workers)

    from jinbao.quality import ge_check
    t = time.perf_counter()
    frame = __import__("pandas").concat([ge_check.ge_frame(b, ln, gate) for b, ln in zip(batches, lines)],
                                        ignore_index=True)
    prep = time.perf_counter() - t
    t = time.perf_counter()
    _, ge_lines = ge_check.run(frame, gate, "COMPLETE", name="complete")
    complete = time.perf_counter() - t
    t = time.perf_counter()
    ge_check.run(frame, gate, "BOOLEAN_ONLY", name="boolean")
    boolean = time.perf_counter() - t
    agree = set().union(*ge_lines.values()) == fast_lines

    print(f"{n:,} records, {rejected:,} rejected ({rejected / n:.1%}); GE and fast path agree: {agree}")
    print(f"{'run':<36}{'seconds':>9}{'records/s':>14}{'vs 1 thread':>12}")
    for name, secs in (("fast path, 1 thread", fast), (f"fast path, {workers} threads (engine default)", parallel),
                       ("GE COMPLETE + unexpected index", complete),
                       ("GE BOOLEAN_ONLY", boolean), ("(GE frame preparation)", prep)):
        print(f"{name:<36}{secs:>9.2f}{int(n / secs):>14,}{secs / fast:>11.1f}x")
    print(f"peak RSS {(peak_rss_kb() // 1024)} MB")
    builtin, custom = expectation_kinds(gate)
    print(f"GE suite: {sum(builtin.values())} built-in expectations ({', '.join(sorted(builtin))}); "
          f"{sum(custom.values())} custom, only where GE has no built-in ({', '.join(sorted(custom))})")
    from bench.summary import emit
    emit("gate_vs_ge", agree, records=n, rejected=rejected, threads=workers,
         seconds={"fast_1": fast, "fast_n": parallel, "ge_complete": complete, "ge_boolean": boolean,
                  "ge_prep": prep}, builtin=builtin, custom=custom, peak_mb=peak_rss_kb() // 1024)
    if not agree:
        sys.exit("FAILED: GE COMPLETE and the fast path reject different lines")


def expectation_kinds(gate) -> tuple[dict, dict]:
    """The suite's expectation types, counted, split into GE's own and the hub's custom ones
    (quality/ge_expectations.py: the GB 11643 citizen ID and GB 32100 credit code check characters)."""
    import inspect
    import re

    from great_expectations.expectations.expectation import Expectation

    from jinbao.quality import ge_expectations
    from jinbao.quality.suites import suite_specs

    ours = {re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name, obj in vars(ge_expectations).items()
            if inspect.isclass(obj) and issubclass(obj, Expectation) and obj.__module__ == ge_expectations.__name__}
    builtin, custom = {}, {}
    for spec in suite_specs(gate):
        kinds = custom if spec.type in ours else builtin
        kinds[spec.type] = kinds.get(spec.type, 0) + 1
    return builtin, custom


if __name__ == "__main__":
    main()
