"""A small daily delivery is quick: `jinbao run FEED` of a 2,000-record delivery on PostgreSQL, <= 2 s.

Usage: python bench/small_delivery.py [--records 2000] [--runs 5] [--feeds police.death hrss.pension_roll]
                                      [--transport local|local+cms] [--admin postgresql+psycopg://...]

What a partner's daily file costs from the operator's side: a fresh `jinbao run FEED --date D` process,
timed from its start to its exit (Python's start, imports, settings and declarations, the store's
migration check, receive -> judge -> publish (with the register) -> finish, the receipt).  Each run gets
a fresh PostgreSQL database, migrated before the clock starts (`jinbao db upgrade`, as a running hub's
store is), and a fresh JINBAO_HOME with the delivery waiting in the partner's inbound/.
  police.death       bench/synthetic_police.py (5 % defective): the feed the hub exists for (death_record,
                     rejected death evidence, life status and its history in the register)
  hrss.pension_roll  the first N records of `jinbao generate`'s roll: pensioners' months into
                     pension_payment and the register's person fields (its bigger paths: offers, source
                     values, authority, conflicts)
Both partners deliver in plain files to their drop zone (their declarations' `transport: {kind: local}`);
`--transport local+cms` seals each delivery as end_to_end.py does (CMS to the hub, signed manifest) and
runs with JINBAO_TRANSPORT=local+cms.  Every run is checked: exit 0, the batch published with the
delivery's record count received.  Prints seconds per run, the median and the best, the <= 2 s check on
the median, the run's CPU seconds (user + system, the figure to compare on a busy shared machine, where
the wall clock also counts waiting for a core) and one BENCH-JSON line (bench/run_all.py).  Under Airflow: bench/airflow_overhead.py.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fresh_db import fresh_database  # noqa: E402
from bench.summary import emit  # noqa: E402

BIN = Path(sys.executable).parent
DB = "jinbao_bench_small"
AIM_S = 2.0
#: feed -> (partner, business date, the delivery's encoding)
FEEDS = {"police.death": ("police", "2026-11-22", "GB18030"),
         "hrss.pension_roll": ("hrss", "2026-11-30", "UTF-8")}


def _env(home: Path, url: str, transport: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
    env.update(JINBAO_HOME=str(home), JINBAO_STORE_URL=url)
    if transport != "local":
        env["JINBAO_TRANSPORT"] = transport
    return env


def delivery(feed: str, n: int, work: Path) -> Path:
    """The feed's plain delivery of exactly n records, built once (not timed)."""
    partner, day, _ = FEEDS[feed]
    if feed == "police.death":
        from bench.synthetic_police import build

        path = work / f"police.death_{day.replace('-', '')}_000001.csv"
        build(path, n, defect_share=0.05)
        return path
    gen = work / "generated-home"                 # about 5 roll months per person: enough people for n rows
    subprocess.run([str(BIN / "jinbao"), "generate", "--date", day, "--people", str(max(n // 4, 50)),
                    "--feed", feed, "--every-feed"], env=_env(gen, f"sqlite:///{gen / 'store.db'}", "local"), check=True,
                   capture_output=True)
    made = next((gen / "exchange_zone" / partner / "inbound").glob(f"{feed}_*.csv"))
    lines = made.read_bytes().splitlines(keepends=True)
    if len(lines) - 1 < n:
        raise SystemExit(f"the generator made {len(lines) - 1} {feed} records, fewer than {n}")
    path = work / f"{feed}_{day.replace('-', '')}_000001.csv"    # sequence 1, as its sealed manifest says
    path.write_bytes(b"".join(lines[:n + 1]))
    return path


def sealed(plain: Path, feed: str, n: int, keys: Path, work: Path) -> list[Path]:
    """The delivery as a partner seals it (CMS to the hub's certificate, signed manifest)."""
    from jinbao.exchange_zone import envelope
    from jinbao.keys import hub_cert, partner_key

    partner, _, encoding = FEEDS[feed]
    out = work / "sealed"
    out.mkdir(exist_ok=True)
    return envelope.seal_delivery(plain, feed, 1, n, encoding, hub_cert(keys), partner_key(keys, partner), out)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def one_run(feed: str, files: list[Path], n: int, keys: Path | None, args, work: Path) -> tuple[float, float]:
    """Wall seconds and the process's CPU seconds (user + system: on a shared machine, what the run itself
    cost when the wall clock also counts waiting for the cores)."""
    partner, day, _ = FEEDS[feed]
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    inbound = home / "exchange_zone" / partner / "inbound"
    inbound.mkdir(parents=True)
    for f in files:
        shutil.copy(f, inbound / f.name)
    if keys is not None:
        shutil.copytree(keys / "keys", home / "keys")
    env = _env(home, fresh_database(args.admin, args.db), args.transport)
    subprocess.run([str(BIN / "jinbao"), "db", "upgrade"], env=env, check=True, capture_output=True)
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run([str(BIN / "jinbao"), "run", feed, "--date", day], env=env, capture_output=True,
                          text=True)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    said = re.search(rf"{re.escape(feed)}: \S+ batch \d+ published: received (\d+)", done.stdout)
    if done.returncode != 0 or not said or int(said.group(1)) != n:
        raise SystemExit(f"{feed}: the run did not publish {n} records (exit {done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--feeds", nargs="+", default=list(FEEDS), choices=list(FEEDS))
    ap.add_argument("--transport", default="local", choices=("local", "local+cms"))
    ap.add_argument("--admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db", default=DB, help="the database each run gets afresh (dropped at the end)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="jinbao-small-"))
    results, ok = {}, True
    try:
        keys = None
        if args.transport != "local":
            from jinbao.keys import init_keys

            keys = work / "keys-home"
            init_keys(keys, tuple(FEEDS[f][0] for f in args.feeds))
        print(f"`jinbao run FEED` of a {args.records:,}-record delivery, {args.transport}, PostgreSQL, "
              f"fresh process and migrated database per run; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")
        for feed in args.feeds:
            plain = delivery(feed, args.records, work)
            files = sealed(plain, feed, args.records, keys, work) if keys else [plain]
            try:
                timed = [one_run(feed, files, args.records, keys, args, work) for _ in range(args.runs)]
            except SystemExit as exc:
                print(exc, file=sys.stderr)
                results[feed] = {"ok": False, "error": str(exc).splitlines()[0]}
                ok = False
                continue
            seconds, cpu = [w for w, _ in timed], [c for _, c in timed]
            median = statistics.median(seconds)
            results[feed] = {"ok": True, "seconds": seconds, "median_s": median, "best_s": min(seconds),
                             "cpu_s": cpu, "median_cpu_s": statistics.median(cpu), "within_aim": median <= AIM_S}
            print(f"{feed:<18} " + " ".join(f"{s:.2f}" for s in seconds) + f"  median {median:.2f} s, best "
                  f"{min(seconds):.2f} s  (aim <= {AIM_S:.0f} s: {'met' if median <= AIM_S else 'NOT met'}); "
                  f"CPU median {statistics.median(cpu):.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        eng = sa.create_engine(args.admin, isolation_level="AUTOCOMMIT")    # the last run's database
        with eng.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
        eng.dispose()
    load = os.getloadavg()
    print(f"load average {' '.join(f'{x:.1f}' for x in load)} at the end")
    emit("small_delivery", ok, records=args.records, runs=args.runs, transport=args.transport, aim_s=AIM_S,
         feeds=results, load=[round(x, 2) for x in load])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
