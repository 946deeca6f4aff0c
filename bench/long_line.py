"""A monstrous line: throughput and peak memory of a police.death run on a 1 GiB (and 200 MiB) line.

Usage: python bench/long_line.py [MIB ...]   (default 1024 200; `make bench QUICK=1`: 200)

Per size, two deliveries are written into a temporary JINBAO_HOME (a MiB at a time; the line is
GB18030 Chinese text with commas and doubled quotes after an opening quote that is never closed):

  line         a header, 5 ordinary records, one line of MIB MiB, 5 ordinary records
  no line end  MIB MiB without a single line end: its first line, the header, is the monster

and once, as the peer, the same 10 records without the line (`records only`): what a run costs anyway
(the process, the gate's tables, the store), so what a line adds is the difference.  Each runs in a
fresh process through the real engine on SQLite with the local transport,
receive -> judge -> publish -> finish, as `jinbao run police.death` does.  Reported: the seconds of the
whole run and of the judge step (`quality.judging.judge_delivery`), the file's MiB per second through
each, the process's peak RSS (VmHWM) and its growth over the RSS after imports, and the judge step's
own peak (bench/memory.py `PeakRss`).  Issue 23 aims at a peak of at most 300 MB for a 1 GiB line.

Checked (exit 1 otherwise): `line` is published with 11 received, 10 accepted and line 7 rejected
LINE_TOO_LONG; `no line end` is refused HEADER_MISMATCH naming line 1; `records only` publishes 10.
The last line of output is the BENCH-JSON summary (bench/summary.py) that `make bench` gathers.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import PeakRss, peak_rss_kb, rss_kb  # noqa: E402

FEED = "police.death"
NAME = f"{FEED}_20261122_000001.csv"
COLUMNS = ["GMSFHM", "XM", "XB", "SWRQ", "ZXRQ", "ZXYY", "HJDZ_XZQH"]
MIB = 1 << 20
AIM_MB = 300
#: A run that takes longer has hung (a 1 GiB line takes seconds).
TIMEOUT_S = 900
SHAPES = ("line", "no line end")
BASELINE = "records only"


def write(path: Path, mib: int, shape: str) -> int:
    """The delivery; returns its size in bytes."""
    from tests.deliveries import death_row

    pattern = '张三,"李四""王五,'.encode("gb18030")
    piece = pattern * (MIB // len(pattern))
    rows = [",".join(death_row(i)[c] for c in COLUMNS).encode("gb18030") + b"\n" for i in range(10)]
    with open(path, "wb") as fh:
        if shape == BASELINE:
            fh.write(",".join(COLUMNS).encode() + b"\n" + b"".join(rows))
            return path.stat().st_size
        if shape == "line":
            fh.write(",".join(COLUMNS).encode() + b"\n" + b"".join(rows[:5]) + rows[5].split(b",")[0] + b',"')
        for _ in range(mib):
            fh.write(piece)
        if shape == "line":
            fh.write(b"\n" + b"".join(rows[5:]))
    return path.stat().st_size


def child(home: Path) -> dict:
    import sqlalchemy as sa

    import jinbao.quality.judging as judging
    from jinbao.declarations import load_feeds
    from jinbao.engine import Engine
    from jinbao.settings import load_settings

    cfg = load_settings({"JINBAO_HOME": str(home), "JINBAO_TRANSPORT": "local"})
    eng = Engine(load_feeds(cfg)[FEED], cfg)                     # migrates the fresh store: not timed
    judge = {}
    original = judging.judge_delivery

    def measured(*args, **kwargs):
        t, peak = time.perf_counter(), PeakRss()
        try:
            with peak:
                return original(*args, **kwargs)
        finally:
            judge.update(seconds=time.perf_counter() - t, peak_mb=peak.peak_mb, growth_mb=peak.growth_mb,
                         sampled=peak.sampled)
    judging.judge_delivery = measured
    base = rss_kb()
    t0 = time.perf_counter()
    (outcome,) = eng.run()                                        # receive, judge, publish, finish
    seconds = time.perf_counter() - t0
    batch_id = outcome.batch_id
    peak = peak_rss_kb()
    with eng.db.connect() as conn:
        row = dict(conn.execute(sa.text("SELECT status, received, accepted, rejected, published, reason_code, message "
                                        "FROM batch WHERE id = :i"), {"i": batch_id}).mappings().one())
        rejections = [tuple(r) for r in conn.execute(sa.text(
            "SELECT line_no, reason_code FROM rejection WHERE batch_id = :i ORDER BY line_no"), {"i": batch_id})]
    eng.close()
    return {"seconds": seconds, "judge": judge, "peak_mb": peak / 1024, "base_mb": base / 1024,
            "batch": row, "rejections": rejections}


def run(mib: int, shape: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="jinbao-long-line-") as tmp:
        home = Path(tmp)
        inbound = home / "exchange_zone" / "police" / "inbound"
        inbound.mkdir(parents=True)
        size = write(inbound / NAME, mib, shape)
        try:
            out = subprocess.run([sys.executable, __file__, "--child", str(home)], capture_output=True, text=True,
                                 cwd=ROOT, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"shape": shape, "mib": mib, "bytes": size, "ok": False, "error": f"no end within {TIMEOUT_S} s"}
    if out.returncode != 0:
        return {"shape": shape, "mib": mib, "bytes": size, "ok": False, "error": out.stderr[-2000:]}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    b = r["batch"]
    if shape == "line":
        ok = (b["status"], b["received"], b["accepted"], b["rejected"], b["published"], r["rejections"]) == \
            ("published", 11, 10, 1, 10, [[7, "LINE_TOO_LONG"]])
        outcome = f"{b['status']}: {b['received']} received, line 7 {r['rejections'][0][1] if r['rejections'] else '-'}"
    elif shape == BASELINE:
        ok = (b["status"], b["received"], b["published"], r["rejections"]) == ("published", 10, 10, [])
        outcome = f"{b['status']}: {b['published']} published"
    else:
        ok = (b["status"], b["reason_code"]) == ("refused", "HEADER_MISMATCH") and "line 1" in (b["message"] or "")
        outcome = f"{b['status']} {b['reason_code']}"
    judge = r["judge"]
    return {"shape": shape, "mib": mib, "bytes": size, "seconds": round(r["seconds"], 2),
            "mib_per_s": round(size / MIB / r["seconds"], 1), "judge_seconds": round(judge["seconds"], 2),
            "judge_mib_per_s": round(size / MIB / judge["seconds"], 1) if judge["seconds"] else None,
            "peak_mb": round(r["peak_mb"]), "growth_mb": round(r["peak_mb"] - r["base_mb"]),
            "judge_peak_mb": round(judge["peak_mb"]), "judge_growth_mb": round(judge["growth_mb"]),
            "outcome": outcome, "ok": ok, "within_aim": r["peak_mb"] <= AIM_MB}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2])), default=str))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [1024, 200]
    print(f"{'shape':<13}{'MiB':>5}{'run s':>8}{'MiB/s':>8}{'judge s':>9}{'MiB/s':>8}{'peak MB':>9}{'growth MB':>11}"
          f"{'judge peak':>12}  outcome")
    runs = []
    for mib, shape in [(0, BASELINE), *((mib, shape) for mib in sizes for shape in SHAPES)]:
        r = run(mib, shape)
        runs.append(r)
        if "error" in r:
            print(f"{shape:<13}{mib:>5}  FAILED: {r['error']}")
            continue
        judged = r["judge_mib_per_s"] if shape == "line" else "-"
        print(f"{shape:<13}{mib:>5}{r['seconds']:>8}{r['mib_per_s']:>8}{r['judge_seconds']:>9}{judged:>8}"
              f"{r['peak_mb']:>9}{r['growth_mb']:>11}{r['judge_peak_mb']:>12}  "
              f"{r['outcome']}{'' if r['ok'] else '  CHECK FAILED'}")
    ok = all(r["ok"] for r in runs)
    top = max((r["peak_mb"] for r in runs if "peak_mb" in r and r["shape"] != BASELINE), default=0)
    print(f"highest peak {top} MB (aim <= {AIM_MB} MB: {'met' if top <= AIM_MB else 'NOT met'})")
    from bench.summary import emit
    emit("long_line", ok, aim_mb=AIM_MB, runs=runs)
    if not ok:
        sys.exit("FAILED: a delivery did not end as it should (see CHECK FAILED above)")


if __name__ == "__main__":
    main()
