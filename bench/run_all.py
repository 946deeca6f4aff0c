"""`make bench`: every benchmark in bench/, one after another, each in its own process, then ONE table.

Usage: python bench/run_all.py [--quick] [--only NAME ...] [--save DIR] [--table-from DIR]

Each benchmark prints its own report (see BENCHMARKS.md for the figures and the commands that
produced them) and, last, one `BENCH-JSON {...}` line (bench/summary.py); this script shows their
output as it comes, gathers those lines and ends with one table: the end-to-end run (records/s, peak
memory, each stage's share of the time) and every stage against its peers.  A benchmark whose
correctness check fails exits non-zero, and so does this (the table says which).

--quick      smaller sizes (minutes instead of about an hour) to iterate; the figures are not comparable
--only       run only these benchmarks (names as in BENCHES: end_to_end, translate_codes, ...)
--save DIR   keep each benchmark's summary as DIR/<name>.json
--table-from DIR   print the table from summaries saved earlier, running nothing
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.summary import parse  # noqa: E402

#: name: (script, arguments, quick arguments); sizes that finish in minutes on a 2-core machine.
BENCHES = {
    "end_to_end": ("end_to_end.py", [],                              # 1M and 10M sealed police.identity, ~15 min
                   ["--records", "100000", "1000000"]),
    "death_end_to_end": ("death_end_to_end.py", [], ["--records", "100000"]),    # 1M police.death, ~3 min
    # every inbound feed at 1M beside dlt, then the two biggest by the agreement at 10M (hub only), ~40 min
    "feeds": ("feeds.py", ["--records", "1000000", "--big", "10000000", "hrss.pension_roll", "hrss.contribution"],
              ["--records", "100000"]),
    "translate_codes": ("translate_codes.py", ["10000000"], ["1000000"]),
    "gate_vs_ge": ("gate_vs_ge.py", ["1000000"], ["100000"]),        # GE runs ~2 min on 1M
    "gate_throughput": ("gate_throughput.py", ["200000", "2000000"], ["200000"]),
    "publish_paths": ("publish_paths.py", [], ["--records", "100000"]),          # PostgreSQL, ~7 min
    "death_match": ("death_match.py", [], ["--people", "1000000", "--deaths", "100000", "--repeat", "1"]),
    "register_reconcile": ("register_reconcile.py", [],                          # PostgreSQL, ~2 min
                           ["--people", "1000000", "--records", "100000", "--orm-records", "2000"]),
    "audit_accuracy": ("audit_accuracy.py", ["--people", "200000"],              # PostgreSQL, 4 generated days
                       ["--people", "20000"]),
    "long_line": ("long_line.py", ["1024", "200"], ["200"]),                     # SQLite, 3 GB of disk, ~1 min
    "small_delivery": ("small_delivery.py", ["--records", "2000", "--runs", "5"],  # PostgreSQL, ~1 min
                       ["--records", "2000", "--runs", "2"]),
    "report_scale": ("report_scale.py", ["--people", "1000000", "--deaths", "100000"],   # PostgreSQL
                     ["--people", "100000", "--deaths", "10000"]),
    "airflow_overhead": ("airflow_overhead.py", ["--records", "2000"], ["--records", "2000"]),   # ~1 min
}


def run(name: str, quick: bool) -> dict:
    script, full, small = BENCHES[name]
    args = small if quick else full
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    proc = subprocess.Popen([sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True,
                            bufsize=1)
    out = []
    for line in proc.stdout:
        sys.stdout.write(line)
        out.append(line)
    code = proc.wait()
    summary = parse("".join(out)) or {"bench": name, "ok": False, "error": "no BENCH-JSON line"}
    summary["exit"] = code
    summary["ok"] = bool(summary.get("ok")) and code == 0
    summary["command"] = f"python bench/{script} {' '.join(args)}".strip()
    return summary


# ------------------------------------------------------------------ the table
def _rate(n: float, secs: float, unit: str = "") -> str:
    r = n / secs if secs else 0
    return f"{r / 1e6:,.2f}M{unit}/s" if r >= 1e6 else f"{r / 1e3:,.1f}k{unit}/s"


#: The end-to-end stages in the order they run ("other" is everywhere in between).
IN_ORDER = ("fetch", "decrypt", "judge", "dup-keys", "after-judge", "publish", "rejections", "reconcile", "subsidies",
            "receipt")


def _peak_stage(run: dict) -> str:
    """The first stage, in running order, whose highest RSS is within 3 % of the run's peak: memory
    an allocator keeps stays counted in every later stage, so the first one is what raised it."""
    peaks = run["stage_peak_mb"]
    top = max(peaks.values())
    return next((st for st in IN_ORDER if peaks.get(st, 0) >= 0.97 * top), max(peaks, key=peaks.get))


#: The benchmarks table() draws rows for; any other summary, or one with an error, gets a FAILED row.
TABLED = ("end_to_end", "death_end_to_end", "feeds", "gate_vs_ge", "gate_throughput", "translate_codes", "publish_paths",
          "death_match", "register_reconcile", "audit_accuracy", "long_line", "small_delivery", "report_scale",
          "airflow_overhead")


def feed_rows(f: dict) -> list[tuple[str, str, str, str, str]]:
    """One row per inbound feed beside dlt (bench/feeds.py), then the 10M runs against their 1M peak."""
    rows = []
    for r in f.get("runs", []) + f.get("big", []):
        hub, peer = r["hub"], r.get("dlt")
        what = f"end to end, {r['records']:,} {r['feed']}"
        if "seconds" not in hub:
            rows.append((what, "did not finish", "", "", "FAILED: " + str(hub.get("error", ""))[:60]))
            continue
        bad = [k for k, v in hub["checks"].items() if not v] + (["dlt"] if peer is not None and not peer.get("ok")
                                                                 else [])
        if peer is None:                      # a 10M run: its peak against the 1M one
            small = next((x["hub"] for x in f.get("runs", []) if x["feed"] == r["feed"] and "peak_mb" in x["hub"]),
                         None)
            growth = hub["peak_mb"] / small["peak_mb"] if small else float("nan")
            rows.append((what, f"{hub['records_per_s']:,.0f} rec/s",
                         f"{hub['seconds']:.0f} s, peak {hub['peak_mb']:,.0f} MB ({growth:.2f}x the 1M)",
                         "aim >= 100k rec/s, peak <= 1.20x",
                         ("ok" if hub["records_per_s"] >= 100_000 and growth <= 1.2 else "below the aim")
                         if not bad else "FAILED: " + ", ".join(bad)))
            continue
        ratio = peer["seconds"] / hub["seconds"] if "seconds" in peer else float("nan")
        met = hub["records_per_s"] >= 100_000 and ratio >= 1.5
        rows.append((what, f"{hub['records_per_s']:,.0f} rec/s",
                     f"{hub['seconds']:.0f} s, peak {hub['peak_mb']:,.0f} MB; dlt {peer.get('records_per_s', 0):,.0f}"
                     f" rec/s", f"{ratio:.2f}x dlt (aim >= 100k, >= 1.5x)",
                     ("ok" if met else "below the aim") if not bad else "FAILED: " + ", ".join(bad)))
    return rows


def table(s: dict[str, dict], quick: bool = False, live: bool = True) -> str:
    rows: list[tuple[str, str, str, str, str]] = []      # stage, jinbao, peers, ratio, check

    def check(name: str) -> str:
        return "ok" if s[name]["ok"] else "FAILED"

    e2e = s.get("end_to_end")
    lines = []
    if e2e:
        runs = [r for r in e2e.get("runs", []) if "seconds" in r]
        for r in e2e.get("runs", []):
            if "seconds" not in r:
                rows.append((f"end to end {r['records']:,}", "did not finish", "", "", "FAILED"))
        for r in runs:
            rows.append((f"end to end, {r['records']:,} sealed police.identity", f"{r['records_per_s']:,.0f} rec/s",
                         f"{r['seconds']:.0f} s, peak {r['peak_mb']:,.0f} MB", "aim >= 100k rec/s",
                         "ok" if r["ok"] else "FAILED: " + ", ".join(k for k, v in r["checks"].items() if not v)))
        if len(runs) > 1:
            ratio = runs[-1]["peak_mb"] / runs[0]["peak_mb"]
            rows.append((f"  peak memory {runs[-1]['records']:,} / {runs[0]['records']:,}", f"{ratio:.2f}x", "",
                         "aim <= 1.20x", "ok" if ratio <= 1.2 else "over the aim"))
        if runs:
            stages = list(runs[0]["stages"])
            head = "  stage share of the time  " + "".join(f"{r['records']:>14,}" for r in runs)
            lines = [head] + [f"    {st:<23}" + "".join(
                f"{100 * r['stages'][st] / r['seconds']:>6.1f}% {r['stages'][st]:>5.0f}s" for r in runs)
                for st in stages if any(r["stages"][st] >= 0.05 for r in runs)]
            lines += ["    peak RSS in the stage  " + "".join(
                f"{max(r['stage_peak_mb'].values()):>9,.0f} MB" for r in runs)]
            lines += ["    peak first reached in  " + "".join(f"{_peak_stage(r):>14}" for r in runs)]
    for r in s.get("death_end_to_end", {}).get("runs", []):
        if "seconds" not in r:
            rows.append((f"end to end {r['records']:,} police.death", "did not finish", "", "", "FAILED"))
            continue
        rows.append((f"end to end, {r['records']:,} police.death", f"{r['records_per_s']:,.0f} rec/s",
                     f"{r['seconds']:.0f} s (life status {r['stages']['life']:.0f} s), peak {r['peak_mb']:,.0f} MB",
                     "aim >= 100k rec/s", "ok" if r["ok"] else "FAILED"))
    if "feeds" in s:
        rows += feed_rows(s["feeds"])
    if "gate_vs_ge" in s:
        g = s["gate_vs_ge"]
        sec, n = g["seconds"], g["records"]
        rows.append((f"gate (verdict), {n:,} police.death", f"{_rate(n, sec['fast_n'], ' rec')} ({g['threads']} thr)",
                     f"GE COMPLETE {_rate(n, sec['ge_complete'], ' rec')}, BOOLEAN_ONLY "
                     f"{_rate(n, sec['ge_boolean'], ' rec')}",
                     f"{sec['ge_complete'] / sec['fast_1']:.0f}x / {sec['ge_boolean'] / sec['fast_1']:.0f}x (1 thr)",
                     check("gate_vs_ge") + (" (same lines)" if g["ok"] else "")))
        rows.append(("  GE expectations", f"{sum(g['builtin'].values())} built-in",
                     f"{sum(g['custom'].values())} custom: {', '.join(g['custom'])}", "", ""))
    if "gate_throughput" in s:
        for r in s["gate_throughput"]["runs"]:
            if r["mode"] == "gate":
                loop = next(x for x in s["gate_throughput"]["runs"] if x["mode"] == "loop"
                            and x["records"] == r["records"])
                rows.append((f"judge step (file -> Parquet), {r['records']:,}", f"{r['records_per_s']:,} rec/s",
                             f"per-row loop {loop['records_per_s']:,} rec/s",
                             f"{r['records_per_s'] / loop['records_per_s']:.1f}x", check("gate_throughput")))
    if "translate_codes" in s:
        t = s["translate_codes"]
        sec, n = t["seconds"], t["values"]
        arrow = sec["arrow index_in+take"]
        rows.append((f"translation, {n:,} codes (1 core)", _rate(n, arrow, " val"),
                     f"pandas map {_rate(n, sec['pandas Series.map'], ' val')}, dict loop "
                     f"{_rate(n, sec['python dict loop (1/10, scaled)'], ' val')}",
                     f"{sec['pandas Series.map'] / arrow:.1f}x / {sec['python dict loop (1/10, scaled)'] / arrow:.1f}x",
                     check("translate_codes")))
    if "publish_paths" in s:
        for round_, res in s["publish_paths"]["rounds"].items():
            speed = {m: r["rows"] / r["seconds"] for m, r in res.items()}
            peers = ", ".join(f"{m} {speed[m] / 1e3:,.1f}k" for m in ("executemany", "copy", "ceiling") if m in speed)
            rows.append((f"publish ({round_}), {res['hub']['rows']:,} police.death", f"{speed['hub'] / 1e3:,.1f}k rows/s",
                         peers + " rows/s", f"{speed['hub'] / speed['executemany']:.2f}x em / "
                         f"{speed['hub'] / speed['ceiling']:.2f}x ceiling", check("publish_paths")))
    if "death_match" in s:
        d = s["death_match"]
        p, a = d["pandas"], d["arrow"]
        rows.append((f"death match, {d['deaths']:,} vs {d['people']:,} roll", f"{min(a['match_s']):.2f} s",
                     f"pandas merge {min(p['match_s']):.2f} s", f"{min(p['match_s']) / min(a['match_s']):.1f}x",
                     check("death_match")))
        rows.append((f"  probable typos on {a['unmatched']:,}", f"{min(a['typo_s']):.2f} s", "", "",
                     f"{a['typos']:,} found"))
    if "register_reconcile" in s:
        r = s["register_reconcile"]
        st, orm = r["set"], r["orm"]
        rows.append((f"register, {st['records']:,} into {r['people']:,}", _rate(st["records"], st["seconds"], " rec"),
                     f"per-row ORM {_rate(orm['records'], orm['seconds'], ' rec')}",
                     f"{(st['records'] / st['seconds']) / (orm['records'] / orm['seconds']):.0f}x",
                     check("register_reconcile")))
    if "audit_accuracy" in s:
        a = s["audit_accuracy"]
        kinds: dict[str, list[int]] = {}
        for month in a["scores"].values():
            for kind, (tp, fp, fn) in month.items():
                k = kinds.setdefault(kind, [0, 0, 0])
                k[0], k[1], k[2] = k[0] + tp, k[1] + fp, k[2] + fn
        peer = [sum(m[i] for m in a["peer"].values()) for i in range(3)]

        def pr(tp: int, fp: int, fn: int) -> str:
            return (f"precision {100 * tp / (tp + fp) if tp + fp else 100:.1f} %, "
                    f"recall {100 * tp / (tp + fn) if tp + fn else 100:.1f} %")
        for kind, (tp, fp, fn) in kinds.items():
            rows.append((f"death report {kind}, {a['people']:,} people", pr(tp, fp, fn),
                         f"{tp + fn:,} expected" + (f"; life-status peer {pr(*peer)}" if kind == "paid_after_death"
                                                     else ""),
                         "aim 100 % / 100 %", "ok" if fp == fn == 0 else "FAILED"))
    if "long_line" in s:
        aim = s["long_line"].get("aim_mb", 300)
        runs = s["long_line"]["runs"]
        base = next((r for r in runs if r["shape"] == "records only" and "peak_mb" in r), None)
        for r in runs:
            if r["shape"] == "records only":
                continue
            what = f"one {r['mib']:,} MiB line{' among 10' if r['shape'] == 'line' else ', no line end'} (police.death)"
            if "peak_mb" not in r:
                rows.append((what, "did not finish", "", "", "FAILED: " + str(r.get("error", ""))[:60]))
                continue
            judged = (f"judge {r['judge_mib_per_s']:,.0f} MiB/s" if r["shape"] == "line"
                      else f"judge {r['judge_seconds']:.2f} s")
            rows.append((what, f"peak {r['peak_mb']:,} MB",
                         (f"the 10 alone {base['peak_mb']:,} MB; " if base else "") +
                         f"run {r['mib_per_s']:,.0f} MiB/s, {judged}",
                         f"aim peak <= {aim} MB", ("ok" if r["peak_mb"] <= aim else "over the aim")
                         if r["ok"] else "FAILED: " + r["outcome"]))
    if "small_delivery" in s:
        sd = s["small_delivery"]
        for feed, r in sd["feeds"].items():
            what = f"small delivery, `jinbao run` {sd['records']:,} {feed}"
            if not r.get("ok"):
                rows.append((what, "did not finish", "", "", "FAILED: " + str(r.get("error", ""))[:60]))
                continue
            rows.append((what, f"{r['median_s']:.2f} s median", f"best {r['best_s']:.2f} s of {len(r['seconds'])}, "
                         f"{sd['transport']}", f"aim <= {sd['aim_s']:.0f} s",
                         "ok" if r["within_aim"] else "over the aim"))
    if "report_scale" in s:
        r = s["report_scale"]
        rows.append((f"death report, {r['people']:,} pensioners x {r['months']}, {r['deaths']:,} deaths",
                     f"{r['report_s']:.1f} s, peak {r['report_peak_mb']:,.0f} MB",
                     f"DuckDB paid after death {r['duckdb_s']:.2f} s"
                     + (f" (+ Parquet export {r['duckdb_export_s']:.0f} s)" if "duckdb_export_s" in r else ""),
                     f"aim <= 60 s, <= 2,048 MB",
                     ("ok" if r["report_s"] <= 60 and r["report_peak_mb"] <= 2048 else "over the aim")
                     if r["ok"] else "FAILED"))
        t = r["typo"]
        rows.append((f"  typo search, {t['candidates']:,} records vs {t['pensioners']:,}",
                     f"{t['search_s']:.2f} s (+ read {t['read_s'] + t['pensioners_s']:.1f} s)", "", "",
                     f"{t['found']:,} found, {t['missed']} missed"))
    if "airflow_overhead" in s:
        a = s["airflow_overhead"]
        # the second run on the same Airflow is the steady state; the first pays the scheduler's start once
        steady = a.get("second", {}).get("trigger_to_success_s", a["airflow_s"])
        rows.append((f"small delivery under Airflow, {a['records']:,} police.death",
                     f"{steady:.1f} s trigger to success", f"`jinbao run` {a['plain_s']:.1f} s; first run after "
                     f"the scheduler starts {a['airflow_s']:.1f} s", f"{steady / a['plain_s']:.1f}x (aim <= 3x)",
                     ("ok" if steady <= 3 * a["plain_s"] else "over the aim") if a["ok"] else "FAILED: run not green"))
    for name, summary in s.items():
        if name not in TABLED or "error" in summary:
            rows.append((name, "", "", "", "FAILED: " + str(summary.get("error", "exit " + str(summary.get("exit"))))))
    widths = [max(len(r[i]) for r in rows + [("stage", "jinbao", "peers", "ratio", "check")]) for i in range(5)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    when = (f"{dt.date.today()}, {os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end") if live else "from saved summaries"
    out = [f"make bench{' --quick (small sizes: not comparable)' if quick else ''}, {when}",
           fmt.format("stage", "jinbao", "peers", "ratio", "check"), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    out += lines
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="+", choices=list(BENCHES))
    ap.add_argument("--save", type=Path)
    ap.add_argument("--table-from", type=Path)
    args = ap.parse_args()
    if args.table_from:
        summaries = {p.stem: json.loads(p.read_text()) for p in sorted(args.table_from.glob("*.json"))}
    else:
        summaries = {}
        for name in args.only or BENCHES:
            summaries[name] = run(name, args.quick)
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"{name}.json").write_text(json.dumps(summaries[name], indent=1))
    print("\n" + table(summaries, args.quick, live=not args.table_from))
    failed = [n for n, x in summaries.items() if not x.get("ok")]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
