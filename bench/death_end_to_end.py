"""A police.death delivery end to end through the real engine on PostgreSQL, with the life-status step timed.

Usage: python bench/death_end_to_end.py [--records 1000000] [--defect-share 0.01]
                                        [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The death feeds publish into death_record and then settle the life status of the batch's people
(jinbao/register/life.py); issue 26 found them several times slower than police.identity.  Per size,
outside the measured process: a police.death file (bench/synthetic_police.py, GB18030, `defect-share`
of the records with one defect) is dropped plain into the police's inbound/ and a fresh database made.
Then a fresh process runs receive -> judge -> publish -> finish as `jinbao run police.death` does,
each stage timed by wrapping the function the engine calls (bench/end_to_end.py's clock), with the
register's reconciliation split into `reconcile` (fields, new people, conflicts) and `life`
(jinbao/register/life.py: derive and settle; new people take their status in `reconcile`'s insert).

Checked: the batch is published, received = accepted + rejected, death_record and the register hold every
accepted person, each of them deceased (police reason 1) with one life_status_history row; otherwise exit 1.
The last line is a BENCH-JSON summary.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_kb  # noqa: E402

FEED, DAY, DB = "police.death", dt.date(2026, 11, 22), "jinbao_bench_death_e2e"
NAME = f"{FEED}_{DAY:%Y%m%d}_000001.csv"
#: end_to_end's stages and, timed apart inside `reconcile` and `rejections`, the life status and the evidence
STAGES = ("fetch", "decrypt", "judge", "dup-keys", "after-judge", "publish", "rejections", "evidence", "reconcile",
          "life", "subsidies", "receipt", "other")


def child(home: Path, url: str) -> dict:
    import sqlalchemy as sa

    import jinbao.audit.evidence as evidence
    import jinbao.register.life as life
    from jinbao.declarations import load_feeds
    from jinbao.engine import Engine
    from jinbao.settings import load_settings

    import bench.end_to_end as e2e

    cfg = load_settings({"JINBAO_HOME": str(home), "JINBAO_STORE_URL": url, "JINBAO_TRANSPORT": "local"})
    eng = Engine(load_feeds(cfg)[FEED], cfg)                      # migrates the fresh database: not timed
    e2e.STAGES = STAGES
    batch_id, outcome, total, clock, _ = e2e.timed_run(eng, extra=(
        (evidence, "keep_rejected", "evidence"), (life, "derive", "life"), (life, "settle", "life")))
    ids = [batch_id]
    with eng.db.connect() as conn:
        count = lambda q: conn.execute(sa.text(q)).scalar_one()  # noqa: E731
        deaths = count("SELECT count(*) FROM death_record")
        register = count("SELECT count(*) FROM register")
        deceased = count("SELECT count(*) FROM register WHERE life_status = 'deceased' "
                         "AND life_status_source = 'police.death'")
        history = count("SELECT count(*) FROM life_status_history")
        row = conn.execute(sa.text("SELECT status, received, accepted, rejected FROM batch WHERE id = :i"),
                           {"i": ids[0]}).one()
    checks = {"published": row[0] == "published", "counted": row[1] == row[2] + row[3],
              "death_record": deaths == row[2], "register": register == row[2], "deceased": deceased == row[2],
              "history": history == row[2]}
    return {"records": row[1], "accepted": row[2], "rejected": row[3], "status": str(outcome.status),
            "seconds": total, "records_per_s": row[1] / total, "stages": clock.seconds,
            "stage_peak_mb": {k: v / 1024 for k, v in clock.rss.items() if v},
            "peak_mb": peak_rss_kb() / 1024, "checks": checks, "ok": all(checks.values())}


def run_size(n: int, args) -> dict:
    from bench.fresh_db import fresh_database
    from bench.synthetic_police import build

    home = Path(tempfile.mkdtemp(prefix=f"jinbao-death-e2e-{n}-"))
    try:
        inbound = home / "exchange_zone" / "police" / "inbound"
        inbound.mkdir(parents=True)
        build(inbound / NAME, n, defect_share=args.defect_share)
        url = fresh_database(args.url, DB)
        res = subprocess.run([sys.executable, __file__, "--child", str(home), url], capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stderr[-4000:])
            return {"records": n, "ok": False, "error": res.stderr.strip().splitlines()[-1:]}
        return json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), sys.argv[3])))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, nargs="+", default=[1_000_000])
    p.add_argument("--defect-share", type=float, default=0.01)
    p.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    results = [run_size(n, args) for n in args.records]
    for r in results:
        if "seconds" not in r:
            print(f"{r['records']:>12,}  FAILED: {r.get('error')}")
            continue
        bad = [k for k, v in r["checks"].items() if not v]
        print(f"{r['records']:>12,} records, {r['rejected']:,} rejected: {r['seconds']:.1f} s, "
              f"{r['records_per_s']:,.0f} records/s, peak {r['peak_mb']:,.0f} MB  "
              f"{'ok' if not bad else 'FAILED: ' + ', '.join(bad)}")
        for s in STAGES:
            print(f"  {s:<11} {r['stages'][s]:>7.2f} s {100 * r['stages'][s] / r['seconds']:>5.1f}%  "
                  f"peak {r['stage_peak_mb'].get(s, 0):>6,.0f} MB")
    from bench.summary import emit
    emit(bench="death_end_to_end", ok=all(r.get("ok") for r in results), runs=results)
    sys.exit(0 if all(r.get("ok") for r in results) else 1)


if __name__ == "__main__":
    main()
