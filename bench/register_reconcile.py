"""Reconciling a police.identity delivery into a large register on PostgreSQL, vs a per-row ORM merge.

Usage: python bench/register_reconcile.py [--people 10000000] [--records 1000000] [--orm-records 20000]
                                          [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A fresh database is filled with `people` register rows (server-side generate_series, so building
it is not what is measured).  The delivery has `records` accepted records: 90 % people already in
the register (1 in 10 with a new name, 1 in 20 with a new division), 10 % new people.  Each mode runs
in a fresh process, so peak RSS (VmHWM) is that mode's alone:
  set   jinbao.register.reconcile on every record, in one transaction, committed;
  orm   the obvious peer: a SQLAlchemy ORM session, one get() per record, the same authority,
        history and conflict rules in Python, on the first `orm-records` records of the same
        delivery, flushed and rolled back so the set-based run meets the same register.
"""
from __future__ import annotations

import argparse
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

DB = "jinbao_bench_register"
FEED = "police.identity"
BASE_DAY, DAY = dt.date(2026, 11, 1), dt.date(2026, 11, 22)


def _url(admin: str, db: str) -> str:
    from bench.fresh_db import database_url
    return database_url(admin, db)


def build(admin: str, people: int, records: int, folder: Path) -> Path:
    """The register (people rows, set by an earlier police.identity batch) and the delivery's Parquet."""
    from bench.fresh_db import fresh_database
    from jinbao.store.database import upgrade

    fresh_database(admin, DB)
    db = upgrade(_url(admin, DB))
    with db.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO batch (id, feed, file_name, sha256, sequence, business_date, encoding, status, received_at, "
            f"published_at) VALUES (1, '{FEED}', 'base.csv', 'base', 1, '{BASE_DAY}', 'GB18030', 'published', now(), now())")
        fields = ", ".join(f"{f}, {f}_source, {f}_batch, {f}_line, {f}_at" for f in
                           ("aac003", "aaa002", "aac006", "aac005", "aab301"))
        held = lambda v: f"{v}, '{FEED}', 1, mod(i, 1000000)::int + 2, now()"  # noqa: E731
        conn.exec_driver_sql(
            f"INSERT INTO register (aac002, {fields}, life_status) "
            f"SELECT '110105' || lpad(i::text, 12, '0'), "
            f"{held(chr(39) + '王' + chr(39) + ' || mod(i, 997)::text')}, {held('(1 + mod(i, 2))::text')}, "
            f"{held(chr(39) + '1950-01-01' + chr(39) + '::date + mod(i, 9000)::int')}, {held(chr(39) + '01' + chr(39))}, "
            f"{held(chr(39) + '110105' + chr(39))}, 'alive' FROM generate_series(1, {people}) AS i")
        conn.exec_driver_sql("INSERT INTO batch (id, feed, file_name, sha256, sequence, business_date, encoding, "
                             f"status, received_at, published_at) VALUES (2, '{FEED}', '{FEED}_20261122_000002.csv', "
                             f"'bench', 2, '{DAY}', 'GB18030', 'published', now(), now())")
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('batch', 'id'), 2)")
    with db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE register")
    return delivery(people, records, folder)


def delivery(people: int, records: int, folder: Path) -> Path:
    """The accepted records of the delivery, as the gate stages them (seeded: the same every run)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    known = records - records // 10
    numbers = np.concatenate([rng.choice(np.arange(1, people + 1), known, replace=False),
                              np.arange(people + 1, people + 1 + records - known)])
    rng.shuffle(numbers)
    ids = np.char.add("110105", np.char.zfill(numbers.astype(str), 12))
    name_changed, county_changed = rng.random(records) < 0.1, rng.random(records) < 0.05
    names = np.char.add("王", (numbers % 997).astype(str)).astype(object)
    names[name_changed] = np.char.add("李", (numbers[name_changed] % 991).astype(str))
    births = np.datetime64("1950-01-01") + (numbers % 9000).astype("timedelta64[D]")
    data = pa.table({
        "AAC002": pa.array(ids.astype(object), pa.string()), "AAC003": pa.array(names, pa.string()),
        "AAA002": pa.array((1 + numbers % 2).astype(str).astype(object), pa.string()),
        "AAC006": pa.array(births, pa.date32()), "AAC005": pa.array(["01"] * records, pa.string()),
        "AAB301": pa.array(np.where(county_changed, "310115", "110105").astype(object), pa.string()),
        "line_no": pa.array(np.arange(2, records + 2), pa.int64())})
    path = folder / "accepted.parquet"
    pq.write_table(data, path)
    return path


def run_set(url: str, path: Path) -> dict:
    from jinbao.ledger import now
    from jinbao.register.reconcile import Offered, reconcile
    from jinbao.store.database import connect

    db = connect(url)
    base, t0 = peak_rss_kb(), time.perf_counter()
    with db.begin() as conn:
        done = reconcile(conn, path, Offered(FEED, 2, DAY, 2, now()))
    secs = time.perf_counter() - t0
    return {"records": done.people, "new": done.new, "taken": done.taken, "conflicts": done.conflicts,
            "seconds": secs, "peak": peak_rss_kb(), "base": base}


def run_orm(url: str, path: Path, limit: int) -> dict:
    """Per record: get the register row, apply the same authority rules in Python, add history rows."""
    import pyarrow.parquet as pq
    from sqlalchemy.orm import Session, registry

    from jinbao.ledger import now
    from jinbao.register.authority import authority
    from jinbao.schemas.store_tables import conflict, register, register_history
    from jinbao.store.database import connect

    class Person:
        pass

    class History:
        pass

    class Conflict:
        pass

    mapper = registry()
    mapper.map_imperatively(Person, register)
    mapper.map_imperatively(History, register_history)
    mapper.map_imperatively(Conflict, conflict)
    auth = authority()
    fields = auth.offers(FEED)
    rows = pq.read_table(path).slice(0, limit).to_pylist()
    base, t0 = peak_rss_kb(), time.perf_counter()
    stamp = now()
    new = taken = conflicts = 0
    with Session(connect(url)) as session:
        for rec in rows:
            p = session.get(Person, rec["AAC002"])
            if p is None:
                p = Person(aac002=rec["AAC002"], life_status="alive")
                session.add(p)
                new += 1
            for f in fields:
                value, holder = rec[f.upper()], getattr(p, f"{f}_source")
                if value is None:
                    continue
                held = getattr(p, f)
                if holder is None or auth.rank(f, holder) > auth.rank(f, FEED) or holder == FEED:
                    if held != value or holder != FEED:
                        if held is not None and held != value:
                            session.add(History(aac002=p.aac002, field=f, value=str(held), source_feed=holder,
                                                batch_id=getattr(p, f"{f}_batch"), line_no=getattr(p, f"{f}_line"),
                                                set_at=getattr(p, f"{f}_at"), replaced_by_batch=2, replaced_at=stamp))
                        for k, v in ((f, value), (f"{f}_source", FEED), (f"{f}_batch", 2),
                                     (f"{f}_line", rec["line_no"]), (f"{f}_at", stamp)):
                            setattr(p, k, v)
                        taken += 1
                elif held != value:
                    session.merge(Conflict(aac002=p.aac002, field=f, offered_source=FEED, value_offered=str(value),
                                           offered_batch=2, value_held=str(held), held_source=holder,
                                           held_batch=getattr(p, f"{f}_batch"), first_seen=stamp, last_seen=stamp))
                    conflicts += 1
        session.flush()
        secs = time.perf_counter() - t0
        session.rollback()
    return {"records": len(rows), "new": new, "taken": taken, "conflicts": conflicts, "seconds": secs,
            "peak": peak_rss_kb(), "base": base}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--orm-records", type=int, default=20_000)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PARQUET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    url = _url(args.url, DB)
    if args.child:
        mode, path = args.child
        out = run_orm(url, Path(path), args.orm_records) if mode == "orm" else run_set(url, Path(path))
        print(json.dumps(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = build(args.url, args.people, args.records, Path(tmp))
        print(f"register of {args.people:,} people and a {args.records:,}-record {FEED} delivery built "
              f"in {time.perf_counter() - t0:.0f} s")
        print(f"{'mode':<6}{'records':>10}{'new':>9}{'fields set':>12}{'conflicts':>11}{'secs':>8}{'records/s':>11}"
              f"{'peak MB':>9}{'growth MB':>10}")
        results = {}
        for mode in ("orm", "set"):
            res = subprocess.run([sys.executable, __file__, "--url", args.url, "--orm-records", str(args.orm_records),
                                  "--child", mode, str(path)], capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"{mode} failed:\n{res.stderr[-3000:]}")
            r = results[mode] = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"{mode:<6}{r['records']:>10,}{r['new']:>9,}{r['taken']:>12,}{r['conflicts']:>11,}"
                  f"{r['seconds']:>8.1f}{int(r['records'] / r['seconds']):>11,}{r['peak'] // 1024:>9}"
                  f"{(r['peak'] - r['base']) // 1024:>10}")
    from bench.summary import emit
    ok = results["set"]["new"] == args.records // 10 and results["set"]["records"] == args.records
    emit("register_reconcile", ok, people=args.people, **results)
    if not ok:
        sys.exit(f"FAILED: {results['set']['new']:,} new people, {args.records // 10:,} planted")


if __name__ == "__main__":
    main()
