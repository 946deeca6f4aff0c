"""Streaming gate throughput and peak memory vs file size, against a per-row loop.

Usage: python bench/gate_throughput.py [N ...]   (default 200000 2000000)
The file is built first; each mode then reads it in a fresh process, so peak RSS
is that run's alone ("growth" = peak minus RSS after imports).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_kb  # noqa: E402

WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def per_row_loop(path: Path) -> tuple[int, int]:
    """The obvious peer: csv.reader and Python checks, one row at a time (same rules subset)."""
    xb = {"1": "1", "2": "2", "9": "9", "0": "9"}
    received = rejected = 0
    with open(path, encoding="gb18030", errors="replace", newline="") as fh:
        rows = csv.reader(fh)
        next(rows)
        for r in rows:
            received += 1
            gid, _, sex, swrq = r[0], r[1], r[2], r[3]
            ok = len(gid) == 18 and gid[:17].isdigit()
            if ok:
                ok = "10X98765432"[sum(int(c) * w for c, w in zip(gid[:17], WEIGHTS)) % 11] == gid[17]
            ok = ok and sex in xb
            try:
                d = dt.datetime.strptime(swrq, "%Y%m%d").date()
                ok = ok and d <= dt.date(2026, 11, 22)
            except ValueError:
                ok = False
            if ok and xb[sex] in "12":
                ok = (int(gid[16]) % 2 == 1) == (xb[sex] == "1")
            rejected += not ok
    return received, rejected


def child(path: Path, mode: str) -> dict:
    from jinbao.declarations import get_feed
    from jinbao.quality.judging import gate_for, judge_delivery
    from jinbao.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = peak_rss_kb()
        t0 = time.perf_counter()
        if mode == "loop":
            received, rejected = per_row_loop(path)
        else:
            spec = get_feed("police.death")
            gate = gate_for(spec, dt.date(2026, 11, 22))
            judged = judge_delivery(path, spec.format.encoding, gate, tmp, load_settings().gate_threads)
            received, rejected = judged.received, judged.rejected
        secs = time.perf_counter() - t0
        peak = peak_rss_kb()
    return {"mode": mode, "records": received, "rejected": rejected, "seconds": round(secs, 2),
            "records_per_s": int(received / secs), "peak_rss_mb": round(peak / 1024),
            "rss_growth_mb": round((peak - base) / 1024)}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), sys.argv[3])))
        return
    from bench.synthetic_police import build
    sizes = [int(a) for a in sys.argv[1:]] or [200_000, 2_000_000]
    print(f"{'mode':<8}{'records':>10}{'rejected':>10}{'secs':>8}{'records/s':>12}{'peak MB':>9}{'growth MB':>10}")
    runs, ok = [], True
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = build(Path(tmp) / "police.death_20261122_000001.csv", n)
            results = [subprocess.run([sys.executable, __file__, "--child", str(path), mode],
                                      capture_output=True, text=True, check=True) for mode in ("gate", "loop")]
        pair = []
        for out in results:
            r = json.loads(out.stdout.strip().splitlines()[-1])
            pair.append(r)
            print(f"{r['mode']:<8}{r['records']:>10}{r['rejected']:>10}{r['seconds']:>8}{r['records_per_s']:>12,}"
                  f"{r['peak_rss_mb']:>9}{r['rss_growth_mb']:>10}")
        ok &= pair[0]["rejected"] == pair[1]["rejected"]            # the loop is the gate's check
        runs += pair
    from bench.summary import emit
    emit("gate_throughput", ok, runs=runs)
    if not ok:
        sys.exit("FAILED: the gate and the per-row loop reject different numbers of records")


if __name__ == "__main__":
    main()
