"""A sealed police.identity delivery end to end through the real engine on PostgreSQL, 1M and 10M records.

Usage: python bench/end_to_end.py [--records 1000000 10000000] [--defect-share 0.01]
                                  [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep DIR]

Per size, outside the measured process: a synthetic police.identity file (GB18030, unique valid IDs,
`defect-share` of the records with one defect each: a wrong check character or an unmapped gender code)
is built with numpy in blocks, sealed as the police seal it (CMS to the hub's certificate, signed
manifest; exchange_zone/envelope.seal_delivery) and dropped into the police's inbound/.  Then a fresh
process with JINBAO_TRANSPORT=local+cms and a fresh database runs the engine's four steps,
receive -> judge -> publish -> finish, exactly as `jinbao run police.identity` does, and times each
stage by wrapping the functions the engine calls (no engine code changes):

  fetch       copy from the drop zone into staging (LocalTransport.fetch)
  decrypt     signature check, streamed CMS decryption and sha256 (envelope.decrypt_file)
  judge       parse + transcode + translate + every rule + staged Parquet (quality.judging.judge_delivery),
              of which `dup-keys` is the pass that rejects keys occurring twice
  after-judge the store-backed checks after the gate (quality/judge_step.py AFTER_JUDGE: finance's
              payments against the subsidy lines, subsidies.hooks.judged)
  publish     accepted records into `person` (store.publish.publish_accepted: COPY + merge)
  rejections  failed fields into `rejection` (store.publish.store_rejections)
  reconcile   the register (register.reconcile)
  subsidies   the subsidies hook in the publish transaction (subsidies.hooks.published)
  receipt     finish: receipt written and sent sealed (exchange_zone.receipts.send_receipt), ack
  other       the rest (ledger, admission, commits, logging)

Peak memory is VmHWM of that process; a sampler thread also notes the highest RSS seen in each stage.
The run is checked: received/accepted/rejected equal what was planted, `person` and the register hold
every accepted person, the batch is published and its receipt sent; otherwise the bench exits 1.
The last line of output is a JSON summary (`make bench` gathers it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_kb  # noqa: E402

FEED, DAY, DB = "police.identity", dt.date(2026, 11, 22), "jinbao_bench_e2e"
NAME = f"{FEED}_{DAY:%Y%m%d}_000001.csv"
STAGES = ("fetch", "decrypt", "judge", "dup-keys", "after-judge", "publish", "rejections", "reconcile", "subsidies",
          "receipt", "other")


# ------------------------------------------------------------------ the file
def build(path: Path, n: int, defect_share: float) -> dict:
    """The delivery, written block by block (bench/synthetic_feeds.py); returns what was planted."""
    from bench.synthetic_feeds import write

    return write(path, FEED, n, defect_share)


def prepare(home: Path, n: int, defect_share: float) -> dict:
    """Keys, the delivery sealed into the police's inbound/; returns the planted counts and sizes."""
    from jinbao.exchange_zone import envelope
    from jinbao.keys import hub_cert, init_keys, partner_key
    from jinbao.settings import load_settings

    cfg = load_settings({"JINBAO_HOME": str(home)})
    init_keys(home, ("police",))
    work = home / "bench-plain"
    work.mkdir(parents=True, exist_ok=True)
    plain = work / NAME
    t0 = time.perf_counter()
    facts = build(plain, n, defect_share)
    t1 = time.perf_counter()
    envelope.seal_delivery(plain, FEED, 1, n, "GB18030", hub_cert(home), partner_key(home, "police"),
                           cfg.inbound("police"))
    t2 = time.perf_counter()
    facts.update(plain_mb=plain.stat().st_size / 2**20, build_s=t1 - t0, seal_s=t2 - t1)
    plain.unlink()
    return facts


# ------------------------------------------------------------------ the run
class Clock:
    """Seconds and highest RSS per stage; stages nest (the innermost one running is charged)."""

    def __init__(self):
        self.seconds = {s: 0.0 for s in STAGES}
        self.rss = {s: 0 for s in STAGES}
        self.stack = ["other"]
        self.stop = threading.Event()

    def wrap(self, owner, attr: str, stage: str) -> None:
        original = getattr(owner, attr)
        clock = self

        def timed(*args, **kwargs):
            clock.stack.append(stage)
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t0
                clock.stack.pop()
                clock.seconds[stage] += spent
                if clock.stack[-1] != "other":          # the outer stage is charged only its own time
                    clock.seconds[clock.stack[-1]] -= spent
        setattr(owner, attr, timed)

    def sample(self) -> None:
        while not self.stop.wait(0.05):
            kb = _rss_kb()
            stage = self.stack[-1]
            self.rss[stage] = max(self.rss[stage], kb)


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


#: --without: stages a diagnostic run leaves out, to see what the rest of the path costs (never in `make bench`).
SKIPPABLE = {"dup-keys": ("jinbao.quality.judging", "_reject_duplicate_keys", 0),
             "subsidies": ("jinbao.subsidies.hooks", "published", None)}


def instrument(clock: "Clock", extra=()) -> None:
    """Charge each function the engine calls to its stage (no engine code changes); `extra`: more
    (owner, attribute, stage) for a benchmark that times a step inside one of these apart."""
    import jinbao.exchange_zone.envelope as envelope
    import jinbao.exchange_zone.finish as finish
    import jinbao.quality.judging as judging
    import jinbao.register.reconcile as reconcile
    import jinbao.store.publish as publish
    import jinbao.subsidies.hooks as hooks
    from jinbao.connectors.local import LocalTransport

    for owner, attr, stage in ((LocalTransport, "fetch", "fetch"), (envelope, "decrypt_file", "decrypt"),
                               (judging, "judge_delivery", "judge"), (judging, "_reject_duplicate_keys", "dup-keys"),
                               (hooks, "judged", "after-judge"),
                               (publish, "publish_accepted", "publish"), (publish, "store_rejections", "rejections"),
                               (reconcile, "reconcile", "reconcile"), (hooks, "published", "subsidies"),
                               (finish, "send_receipt", "receipt"), *extra):
        clock.wrap(owner, attr, stage)


def timed_run(eng, extra=()) -> tuple[int, object, float, "Clock", int]:
    """receive -> judge -> publish -> finish of the one waiting delivery, as `jinbao run` does, timed by
    stage with RSS sampled; (batch id, outcome, seconds, clock, RSS in kB before the clock)."""
    clock = Clock()
    instrument(clock, extra)
    sampler = threading.Thread(target=clock.sample, daemon=True)
    base = peak_rss_kb()
    sampler.start()
    t0 = time.perf_counter()
    ids = eng.receive()
    assert len(ids) == 1, ids
    eng.judge(ids[0])
    eng.publish(ids[0])
    outcome = eng.finish(ids[0])
    total = time.perf_counter() - t0
    clock.stop.set()
    sampler.join()
    eng.close()
    clock.seconds["other"] = total - sum(v for k, v in clock.seconds.items() if k != "other")
    return ids[0], outcome, total, clock, base


def child(home: Path, url: str, facts: dict, without: list[str]) -> dict:
    import sqlalchemy as sa

    from jinbao.declarations import load_feeds
    from jinbao.engine import Engine
    from jinbao.settings import load_settings

    import importlib
    for stage in without:                    # the synthetic IDs are unique and nobody is enrolled: nothing lost
        module, attr, value = SKIPPABLE[stage]
        setattr(importlib.import_module(module), attr, lambda *a, _v=value, **k: _v)
    cfg = load_settings({"JINBAO_HOME": str(home), "JINBAO_STORE_URL": url, "JINBAO_TRANSPORT": "local+cms"})
    spec = load_feeds(cfg)[FEED]
    eng = Engine(spec, cfg)                                 # migrates the fresh database: not timed
    batch_id, outcome, total, clock, base = timed_run(eng)
    with eng.db.connect() as conn:
        person = conn.execute(sa.text("SELECT count(*) FROM person")).scalar_one()
        register = conn.execute(sa.text("SELECT count(*) FROM register")).scalar_one()
        row = conn.execute(sa.text("SELECT status, received, accepted, rejected, published, receipt_at IS NOT NULL "
                                   "FROM batch WHERE id = :i"), {"i": batch_id}).one()
    checks = {
        "published": row[0] == "published", "received": row[1] == facts["records"],
        "accepted": row[2] == facts["accepted"], "rejected": row[3] == facts["rejected"],
        "person rows": person == facts["accepted"] == row[4], "register rows": register == facts["accepted"],
        "receipt sent": bool(row[5]) and bool(list(cfg.outbound("police").glob("*.receipt.json.p7m"))),
    }
    return {"records": row[1], "accepted": row[2], "rejected": row[3], "status": str(outcome.status),
            "seconds": total, "records_per_s": row[1] / total, "stages": clock.seconds,
            "stage_peak_mb": {k: v / 1024 for k, v in clock.rss.items() if v},
            "peak_mb": peak_rss_kb() / 1024, "base_mb": base / 1024, "checks": checks, "ok": all(checks.values())}


def run_size(n: int, args) -> dict:
    from bench.fresh_db import fresh_database

    home = Path(tempfile.mkdtemp(prefix=f"jinbao-e2e-{n}-", dir=args.keep))
    try:
        facts = prepare(home, n, args.defect_share)
        url = fresh_database(args.url, DB)
        res = subprocess.run([sys.executable, __file__, "--child", str(home), url, json.dumps(facts),
                              ",".join(args.without)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stderr[-4000:])
            return {"records": n, "ok": False, "error": res.stderr.strip().splitlines()[-1:]}
        r = json.loads(res.stdout.strip().splitlines()[-1])
        r.update(plain_mb=facts["plain_mb"], build_s=facts["build_s"], seal_s=facts["seal_s"], without=args.without)
        return r
    finally:
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)


def report(results: list[dict]) -> None:
    print(f"{'records':>12} {'rejected':>9} {'file MB':>8} {'seconds':>8} {'records/s':>10} {'peak MB':>8} "
          f"{'growth MB':>9}  checks")
    for r in results:
        if "seconds" not in r:
            print(f"{r['records']:>12,}  FAILED: {r.get('error')}")
            continue
        bad = [k for k, v in r["checks"].items() if not v]
        print(f"{r['records']:>12,} {r['rejected']:>9,} {r['plain_mb']:>8,.0f} {r['seconds']:>8.1f} "
              f"{r['records_per_s']:>10,.0f} {r['peak_mb']:>8,.0f} {r['peak_mb'] - r['base_mb']:>9,.0f}  "
              f"{'ok' if not bad else 'FAILED: ' + ', '.join(bad)}")
    ok = [r for r in results if "seconds" in r]
    if not ok:
        return
    print(f"\n{'stage':<12}" + "".join(f"{r['records']:>22,}" for r in ok))
    print(f"{'':<12}" + "".join(f"{'s   share  peak MB':>22}" for r in ok))
    for s in STAGES:
        print(f"{s:<12}" + "".join(
            f"{r['stages'][s]:>8.1f} {100 * r['stages'][s] / r['seconds']:>5.1f}% "
            f"{r['stage_peak_mb'].get(s, 0):>7,.0f}" for r in ok))
    if len(ok) > 1:
        small, big = ok[0], ok[-1]
        print(f"\npeak memory {big['records']:,} / {small['records']:,}: {big['peak_mb'] / small['peak_mb']:.2f}x "
              f"(aim <= 1.20x); records/s {small['records_per_s']:,.0f} and {big['records_per_s']:,.0f} "
              f"(aim >= 100,000)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]),
                               [s for s in sys.argv[5].split(",") if s])))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--defect-share", type=float, default=0.01)
    p.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--keep", help="make the working folders under this directory and keep them")
    p.add_argument("--without", nargs="+", default=[], choices=sorted(SKIPPABLE),
                   help="diagnosis only: leave these stages out (the summary says so)")
    args = p.parse_args()
    need = max(args.records) * 60 * 5 / 2**30           # plain + sealed + staged copies, roughly
    free = shutil.disk_usage(args.keep or tempfile.gettempdir()).free / 2**30
    if free < need + 5:
        sys.exit(f"only {free:.0f} GiB free for about {need:.0f} GiB of files")
    results = []
    for n in args.records:
        print(f"--- {n:,} records", flush=True)
        results.append(run_size(n, args))
    print()
    report(results)
    summary = {"bench": "end_to_end", "ok": all(r.get("ok") for r in results), "runs": results}
    if args.without:
        print(f"DIAGNOSTIC RUN without {', '.join(args.without)}: not the hub's figures")
    from bench.summary import emit
    emit(**summary)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
