"""Every inbound feed end to end on PostgreSQL, one row per feed, beside dlt loading the same file.

Usage: python bench/feeds.py [--records 1000000] [--feeds FEED ...] [--big 10000000 FEED ...]
                             [--defect-share 0.01] [--db feeds_bench] [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Per feed (bench/synthetic_feeds.py): a delivery valid by the agreement (encoding, codes, dates and
genders agreeing with the ID, real divisions, check characters) with `defect-share` of its records
carrying one defect each, sealed as the partner seals it into its inbound/.  A feed whose declaration
runs it `after:` others gets their deliveries too (finance's payments pay the subsidy lines of the
enrolments of the same people: 1M payments are three levels of 333,334 enrolments).  Then:

  hub   a fresh process with JINBAO_TRANSPORT=local+cms and a fresh database, migrated and the
        prerequisites run through the engine before the clock; receive -> judge -> publish -> finish
        timed as `jinbao run FEED` does, by stage (bench/end_to_end.py), peak RSS after the
        prerequisites; checked: received/accepted/rejected equal what was planted, the target holds
        the accepted rows, the batch is published and its receipt sent (finance: the lines paid).
  dlt   a fresh process and a fresh database: the plain file read with pyarrow.csv in its encoding,
        every column a string (a reader left to infer would take a digits-only ID column for
        integers and fail on the first X), then dlt.pipeline(destination="postgres").run(table,
        write_disposition="merge", primary_key=<the target's key in partner columns>,
        loader_file_format="csv"), timed including the read; its schema and table made by a run of the
        file's first 10 records before the clock (the hub's database is migrated before it too);
        checked: it holds one row per distinct key of the file.

Aim per feed: >= 100k records/s and >= 1.5x dlt.  `--big N FEED ...`: those feeds again at N records
(hub only), with the peak held against the first size's (aim <= 1.2x).  Which are biggest by the
agreement: hrss.pension_roll (every pensioner x the last 12 months, restated monthly) and
hrss.contribution (every employee x month); police.identity is the province's population but daily
and incremental.  The last line of output is a JSON summary (`make bench` gathers it).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_kb, reset_peak_rss  # noqa: E402
from bench.synthetic_feeds import FEEDS, write  # noqa: E402

DAY = "20261122"
AIM_RATE, AIM_RATIO, AIM_PEAK = 100_000, 1.5, 1.2
BIG = ["hrss.pension_roll", "hrss.contribution"]


def delivery_name(feed: str) -> str:
    return f"{feed}_{DAY}_000001.csv"


def prerequisites(feed: str, n: int) -> dict[str, int]:
    """The deliveries a feed needs in the store first, and their sizes: the people its records name."""
    syn = FEEDS[feed]
    people = math.ceil(n / syn.per_person)
    return {p: people * FEEDS[p].per_person for p in syn.after}


def prepare(home: Path, feed: str, n: int, defect_share: float) -> dict:
    """Keys; the feed's delivery and its prerequisites' (without defects) sealed into the inbound/ of their
    partners; the plain file of the feed kept for dlt.  Returns the planted counts and sizes."""
    from jinbao.exchange_zone import envelope
    from jinbao.keys import hub_cert, init_keys, partner_key
    from jinbao.settings import load_settings

    cfg = load_settings({"JINBAO_HOME": str(home)})
    before = prerequisites(feed, n)
    init_keys(home, tuple({FEEDS[f].partner for f in [feed, *before]}))
    work = home / "bench-plain"
    work.mkdir(parents=True, exist_ok=True)
    facts: dict = {}
    for f, size in [*before.items(), (feed, n)]:
        syn, plain = FEEDS[f], work / delivery_name(f)
        t0 = time.perf_counter()
        planted = write(plain, f, size, defect_share if f == feed else 0.0)
        t1 = time.perf_counter()
        envelope.seal_delivery(plain, f, 1, size, syn.encoding, hub_cert(home), partner_key(home, syn.partner),
                               cfg.inbound(syn.partner))
        if f == feed:
            facts.update(planted, plain=str(plain), plain_mb=plain.stat().st_size / 2**20, build_s=t1 - t0,
                         seal_s=time.perf_counter() - t1)
        else:
            plain.unlink()
            facts.setdefault("before", {})[f] = size
    return facts


# ------------------------------------------------------------------ the hub (a fresh process)
def hub_child(home: Path, url: str, feed: str, facts: dict) -> dict:
    from bench.end_to_end import timed_run
    from jinbao.declarations import load_feeds
    from jinbao.engine import Engine
    from jinbao.quality.judge_step import record_keys
    from jinbao.settings import load_settings

    cfg = load_settings({"JINBAO_HOME": str(home), "JINBAO_STORE_URL": url, "JINBAO_TRANSPORT": "local+cms"})
    specs = load_feeds(cfg)
    for before in facts.get("before", {}):                  # outside the clock
        outcomes = Engine(specs[before], cfg).run()
        assert [str(o.status) for o in outcomes] == ["published"], (before, outcomes)
    spec = specs[feed]
    eng = Engine(spec, cfg)                                 # migrates the fresh database: not timed
    exact = reset_peak_rss()                                # the prerequisites' peak is not the feed's
    batch_id, outcome, total, clock, base = timed_run(eng)
    target = spec.target.table
    with eng.db.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT count(*) FROM {target} WHERE batch_id = :i"),
                            {"i": batch_id}).scalar_one()
        row = conn.execute(sa.text("SELECT status, received, accepted, rejected, published, receipt_at IS NOT NULL "
                                   "FROM batch WHERE id = :i"), {"i": batch_id}).one()
        checks = {
            "published": row[0] == "published", "received": row[1] == facts["records"],
            "accepted": row[2] == facts["accepted"], "rejected": row[3] == facts["rejected"],
            "target rows": rows == facts["accepted"] == row[4],
            "receipt sent": bool(row[5]) and bool(list(cfg.outbound(spec.partner).glob("*.receipt.json.p7m"))),
        }
        if target == "subsidy_payment":
            paid = conn.execute(sa.text("SELECT count(*) FROM subsidy_line WHERE paid_batch = :i"),
                                {"i": batch_id}).scalar_one()
            checks["lines paid"] = paid == facts["accepted"]
        if target == "person":
            checks["register rows"] = conn.execute(sa.text("SELECT count(*) FROM register")).scalar_one() \
                == facts["accepted"]
    return {"records": row[1], "accepted": row[2], "rejected": row[3], "status": str(outcome.status),
            "key": list(record_keys(spec)), "seconds": total, "records_per_s": row[1] / total,
            "stages": clock.seconds, "stage_peak_mb": {k: v / 1024 for k, v in clock.rss.items() if v},
            "peak_mb": peak_rss_kb() / 1024, "peak_exact": exact, "base_mb": base / 1024, "checks": checks,
            "ok": all(checks.values())}


# ------------------------------------------------------------------ dlt (a fresh process)
def dlt_child(plain: Path, url: str, feed: str, work: Path) -> dict:
    import dlt
    import pyarrow as pa
    import pyarrow.csv as pcsv

    syn = FEEDS[feed]
    with open(plain, "rb") as f:
        header = f.readline().decode(syn.encoding.lower()).strip().replace('"', "").split(",")
    dataset = feed.replace(".", "_")
    credentials = sa.make_url(url).set(drivername="postgresql")
    if credentials.password is None:            # dlt insists on one; the server trusts local connections anyway
        credentials = credentials.set(password="unused")
    credentials = credentials.render_as_string(hide_password=False)
    pipeline = dlt.pipeline(pipeline_name=f"bench_{dataset}", destination=dlt.destinations.postgres(credentials),
                            dataset_name=dataset, pipelines_dir=str(work))
    # its schema, state and tables made before the clock, as the hub's database is migrated before it
    strings = pcsv.ConvertOptions(column_types={c: pa.string() for c in header})
    first = pcsv.open_csv(plain, read_options=pcsv.ReadOptions(encoding=syn.encoding.lower(), block_size=1 << 16),
                          convert_options=strings).read_next_batch().slice(0, 10)
    pipeline.run(pa.Table.from_batches([first]), table_name="delivery", write_disposition="merge",
                 primary_key=syn.key, loader_file_format="csv")
    t0 = time.perf_counter()
    table = pcsv.read_csv(plain, read_options=pcsv.ReadOptions(encoding=syn.encoding.lower()),
                          convert_options=strings)
    t1 = time.perf_counter()
    info = pipeline.run(table, table_name="delivery", write_disposition="merge", primary_key=syn.key,
                        loader_file_format="csv")
    total = time.perf_counter() - t0
    assert not info.has_failed_jobs, info
    eng = sa.create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT count(*) FROM {dataset}.delivery")).scalar_one()
    eng.dispose()
    # a merge keeps one row per key: two defective records may share one (a person's two months both '2026-13')
    keys = table.group_by(syn.key).aggregate([]).num_rows
    return {"records": table.num_rows, "seconds": total, "read_s": t1 - t0, "records_per_s": table.num_rows / total,
            "rows": rows, "keys": keys, "peak_mb": peak_rss_kb() / 1024, "ok": rows == keys}


# ------------------------------------------------------------------ one feed
def _child(args: list[str]) -> dict:
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr[-4000:])
        return {"ok": False, "error": (res.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_feed(feed: str, n: int, args, with_dlt: bool = True) -> dict:
    from bench.fresh_db import fresh_database

    home = Path(tempfile.mkdtemp(prefix=f"jinbao-feeds-{feed}-{n}-"))
    try:
        facts = prepare(home, feed, n, args.defect_share)
        hub = _child(["--hub", str(home), fresh_database(args.url, f"{args.db}_hub"), feed, json.dumps(facts)])
        out = {"feed": feed, "records": n, "planted": {k: facts[k] for k in ("accepted", "rejected")},
               "before": facts.get("before", {}), "plain_mb": facts["plain_mb"], "build_s": facts["build_s"],
               "hub": hub}
        if with_dlt:
            out["dlt"] = _child(["--dlt", facts["plain"], fresh_database(args.url, f"{args.db}_dlt"), feed,
                                 str(home / "dlt")])
        out["ok"] = hub.get("ok", False) and (not with_dlt or out["dlt"].get("ok", False))
        return out
    finally:
        shutil.rmtree(home, ignore_errors=True)


def aims(r: dict) -> dict:
    hub, peer = r["hub"], r.get("dlt", {})
    got = {"rate": hub.get("records_per_s", 0) >= AIM_RATE}
    if "seconds" in peer:
        got["vs dlt"] = peer["seconds"] / hub["seconds"] >= AIM_RATIO
    return got


def report(results: list[dict], big: list[dict], stages: bool = True) -> None:
    print(f"{'feed':<30} {'records':>10} {'rejected':>8} {'hub s':>7} {'hub rec/s':>10} {'peak MB':>8} "
          f"{'dlt s':>7} {'dlt rec/s':>10} {'ratio':>6}  aim (>= 100k rec/s, >= 1.5x dlt)  checks")
    for r in results:
        hub, peer = r["hub"], r.get("dlt", {})
        if "seconds" not in hub:
            print(f"{r['feed']:<30} {r['records']:>10,}  FAILED: {hub.get('error')}")
            continue
        ratio = peer["seconds"] / hub["seconds"] if "seconds" in peer else float("nan")
        got = aims(r)
        bad = [k for k, v in hub["checks"].items() if not v] + ([] if peer.get("ok") else ["dlt"])
        print(f"{r['feed']:<30} {hub['records']:>10,} {hub['rejected']:>8,} {hub['seconds']:>7.1f} "
              f"{hub['records_per_s']:>10,.0f} {hub['peak_mb']:>8,.0f} {peer.get('seconds', float('nan')):>7.1f} "
              f"{peer.get('records_per_s', 0):>10,.0f} {ratio:>5.2f}x  "
              f"{'ok' if all(got.values()) else 'below: ' + ', '.join(k for k, v in got.items() if not v):<34} "
              f"{'ok' if not bad else 'FAILED: ' + ', '.join(bad)}")
    for r in big:
        hub = r["hub"]
        small = next((x for x in results if x["feed"] == r["feed"] and "peak_mb" in x["hub"]), None)
        if "seconds" not in hub:
            print(f"{r['feed']:<30} {r['records']:>10,}  FAILED: {hub.get('error')}")
            continue
        growth = hub["peak_mb"] / small["hub"]["peak_mb"] if small else float("nan")
        print(f"{r['feed']:<30} {hub['records']:>10,} {hub['rejected']:>8,} {hub['seconds']:>7.1f} "
              f"{hub['records_per_s']:>10,.0f} {hub['peak_mb']:>8,.0f}  peak {growth:.2f}x the smaller run "
              f"(aim <= {AIM_PEAK}x)  {'ok' if hub['ok'] else 'FAILED'}")
    from bench.end_to_end import STAGES
    done = [r for r in results + big if "seconds" in r["hub"]]
    if done and stages:
        print(f"\nstage share of the hub's time (s, %)\n{'feed':<30} {'records':>10} " +
              " ".join(f"{s:>13}" for s in STAGES))
        for r in done:
            st, secs = r["hub"]["stages"], r["hub"]["seconds"]
            print(f"{r['feed']:<30} {r['records']:>10,} " +
                  " ".join(f"{st[s]:>6.1f} {100 * st[s] / secs:>5.1f}%" for s in STAGES))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--hub":
        print(json.dumps(hub_child(Path(sys.argv[2]), sys.argv[3], sys.argv[4], json.loads(sys.argv[5]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--dlt":
        print(json.dumps(dlt_child(Path(sys.argv[2]), sys.argv[3], sys.argv[4], Path(sys.argv[5]))))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--feeds", nargs="+", default=list(FEEDS), choices=list(FEEDS))
    p.add_argument("--big", nargs="+", default=[], metavar="N_OR_FEED",
                   help="a size, then the feeds to run again at it (hub only): 10000000 " + " ".join(BIG))
    p.add_argument("--defect-share", type=float, default=0.01)
    p.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--db", default="feeds_bench", help="the run's databases: DB_hub and DB_dlt, made afresh per feed")
    args = p.parse_args()
    big_n, big_feeds = (int(args.big[0]), args.big[1:]) if args.big else (0, [])
    need = max(args.records, big_n) * 60 * 4 / 2**30
    free = shutil.disk_usage(tempfile.gettempdir()).free / 2**30
    if free < need + 5:
        sys.exit(f"only {free:.0f} GiB free for about {need:.0f} GiB of files")
    results, big = [], []
    for feed in args.feeds:
        print(f"--- {feed}, {args.records:,} records", flush=True)
        results.append(run_feed(feed, args.records, args))
        report(results[-1:], [], stages=False)          # as it comes: a long run stopped early keeps its rows
    for feed in big_feeds:
        print(f"--- {feed}, {big_n:,} records (hub only)", flush=True)
        big.append(run_feed(feed, big_n, args, with_dlt=False))
        report(results, big[-1:], stages=False)
    print()
    report(results, big)
    eng = sa.create_engine(args.url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        for db in (f"{args.db}_hub", f"{args.db}_dlt"):
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    eng.dispose()
    ok = all(r["ok"] for r in results + big)
    for r in results:
        r["aims"] = aims(r) if "seconds" in r["hub"] else {}
    from bench.summary import emit
    emit("feeds", ok, records=args.records, runs=results, big=big)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
