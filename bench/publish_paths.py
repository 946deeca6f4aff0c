"""Publishing 1M accepted police.death records into PostgreSQL: the hub against its peers, in one run.

Usage: python bench/publish_paths.py [--records 1000000] [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A synthetic delivery (bench/synthetic_police.py, no defects) is judged by the real gate, so the
staged accepted Parquet is exactly what `jinbao run` publishes.  Each mode then runs in a fresh
process (peak RSS is its own), in one committed transaction, into death_record of a fresh
database, in two rounds:
  new     death_record empty: every record is inserted;
  update  death_record already holds every record from an older delivery: every row is replaced.
Modes (same rows, same batch_id / updated_at stamp / source_version):
  executemany  SQLAlchemy on_conflict_do_update (newest wins), 5,000 rows per executemany, rows as dicts
               from the typed Arrow table (built before the clock starts);
  copy         plain COPY of the typed rows straight into death_record (round "new" only: it cannot merge);
  ceiling      COPY of all typed rows into a temporary table + ONE INSERT ... SELECT ... ON CONFLICT DO
               UPDATE (newest wins), the typed rows built before the clock starts;
  hub          jinbao.store.publish.publish_accepted from the staged Parquet (reading, typing and
               everything else included; up to 1M records sorted by key with Arrow and merged in key
               order without ON CONFLICT, docs/store.md, so it may beat this "ceiling").
Every mode's rows are kept; the run exits non-zero when the hub's rows differ from the ceiling's.
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

DB = "jinbao_bench_publish"
FEED, DAY, SEQ = "police.death", dt.date(2026, 11, 22), 2
MODES = ("executemany", "copy", "ceiling", "hub")


def _url(admin: str, db: str) -> str:
    from bench.fresh_db import database_url
    return database_url(admin, db)


def build(admin: str, records: int, folder: Path) -> Path:
    """A fresh database with the two batches, and the staged accepted Parquet of a judged delivery."""
    from bench.synthetic_police import build as delivery
    from jinbao.declarations import get_feed
    from jinbao.quality.judging import ACCEPTED, gate_for, judge_delivery
    from jinbao.settings import load_settings
    from bench.fresh_db import fresh_database
    from jinbao.store.database import upgrade

    fresh_database(admin, DB)
    with upgrade(_url(admin, DB)).begin() as conn:
        for batch_id, seq in ((1, 1), (2, SEQ)):
            conn.exec_driver_sql(
                "INSERT INTO batch (id, feed, file_name, sha256, sequence, business_date, encoding, status, "
                f"received_at, published_at) VALUES ({batch_id}, '{FEED}', 'f{seq}.csv', 's{seq}', {seq}, '{DAY}', "
                "'GB18030', 'published', now(), now())")
    spec = get_feed(FEED)
    csv = delivery(folder / f"{FEED}_20261122_000002.csv", records, defect_share=0.0)
    judge_delivery(csv, spec.format.encoding, gate_for(spec, DAY), folder, load_settings().gate_threads,
                   keys=("aac002",))
    return folder / ACCEPTED


def typed_rows(path: Path, batch_id: int, stamp: dt.datetime, version: int):
    """Every accepted record as death_record's columns, provenance included (what the peers start from)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jinbao.schemas.store_tables import death_record
    from jinbao.store.publish import prepared

    given = {"source_feed": FEED, "batch_id": batch_id, "updated_at": stamp, "source_version": version}
    data = pa.concat_tables(prepared(death_record, b, given) for b in pq.ParquetFile(path).iter_batches(50_000))
    for name, value in given.items():
        data = data.append_column(name, pa.repeat(pa.scalar(value), data.num_rows))
    return data, given


def run(url: str, path: Path, mode: str, round_: str, stamp: dt.datetime) -> dict:
    import sqlalchemy as sa

    from jinbao.store import scratch
    from jinbao.schemas.store_tables import death_record
    from jinbao.store import bulk
    from jinbao.store.database import connect
    from jinbao.store.publish import EXECUTE_CHUNK, publish_accepted, source_version, upsert_statement

    db = connect(url)
    with db.begin() as conn:
        conn.exec_driver_sql("TRUNCATE death_record")
        if round_ == "update":      # the same people from the older batch 1, with other values to replace
            older = {"aac003": "aac003 || '旧'", "aac060": "aac060 - 1", "batch_id": "1",
                     "updated_at": "updated_at - interval '1 day'", "source_version": str(source_version(DAY, 1))}
            cols = [c.name for c in death_record.columns]
            conn.exec_driver_sql(f"INSERT INTO death_record ({', '.join(cols)}) "
                                 f"SELECT {', '.join(older.get(c, c) for c in cols)} FROM kept_ceiling_new")
    with db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE death_record")
    version = source_version(DAY, SEQ)
    data = given = None
    if mode != "hub":
        data, given = typed_rows(path, 2, stamp, version)
    base, t0 = peak_rss_kb(), time.perf_counter()
    with db.begin() as conn:
        if mode == "hub":
            rows = publish_accepted(conn, death_record, path, 2, stamp, {"source_feed": FEED}, version)
        elif mode == "executemany":
            stmt = upsert_statement(conn, death_record, data.column_names)
            for block in data.to_batches(max_chunksize=EXECUTE_CHUNK):
                conn.execute(stmt, block.to_pylist())
            rows = data.num_rows
        elif mode == "copy":
            rows = bulk.copy_csv(conn, "death_record", data)
        else:
            names = [n for n in data.column_names if n not in given]
            staged = scratch.create(conn, "ceiling_rows", *[death_record.c[n] for n in data.column_names])
            bulk.copy_csv(conn, staged.name, data)
            select = sa.select(*[staged.c[n] for n in names], *[staged.c[n] for n in given])
            conn.execute(upsert_statement(conn, death_record, [*names, *given], select=select))
            rows = data.num_rows
    secs = time.perf_counter() - t0
    peak = peak_rss_kb()
    with db.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS kept_{mode}_{round_}")
        conn.exec_driver_sql(f"CREATE TABLE kept_{mode}_{round_} AS SELECT * FROM death_record")
    return {"rows": rows, "seconds": secs, "peak": peak, "base": base}


def differing(url: str, a: str, b: str) -> int:
    """Rows in one kept table and not the other (every column, duplicates counted)."""
    from jinbao.store.database import connect

    with connect(url).connect() as conn:
        return conn.exec_driver_sql(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) x) + "
            f"(SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}) y)").scalar()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "ROUND", "PARQUET", "STAMP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    url = _url(args.url, DB)
    if args.child:
        mode, round_, path, stamp = args.child
        print(json.dumps(run(url, Path(path), mode, round_, dt.datetime.fromisoformat(stamp))))
        return
    import pyarrow.parquet as pq

    stamp = dt.datetime.now(dt.timezone.utc).isoformat()
    failed, rounds = False, {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = build(args.url, args.records, Path(tmp))
        accepted = pq.read_metadata(path).num_rows
        print(f"{accepted:,} accepted {FEED} records staged (of {args.records:,} judged) and a fresh database "
              f"in {time.perf_counter() - t0:.0f} s")
        for round_ in ("new", "update"):
            print(f"\nround {round_}: {'empty death_record' if round_ == 'new' else 'every row held by an older batch'}")
            print(f"{'mode':<13}{'rows':>11}{'secs':>8}{'rows/s':>10}{'x executemany':>15}{'x ceiling':>11}"
                  f"{'peak MB':>9}{'growth MB':>10}")
            results = {}
            for mode in ("ceiling", "executemany", "copy", "hub"):   # ceiling first: round update starts from it
                if mode == "copy" and round_ == "update":
                    continue
                res = subprocess.run([sys.executable, __file__, "--url", args.url, "--child", mode, round_,
                                      str(path), stamp], capture_output=True, text=True)
                if res.returncode:
                    sys.exit(f"{mode} failed:\n{res.stderr[-3000:]}")
                results[mode] = json.loads(res.stdout.strip().splitlines()[-1])
            for mode in MODES:
                if mode not in results:
                    continue
                r = results[mode]
                speed = r["rows"] / r["seconds"]
                ratio = {m: speed / (results[m]["rows"] / results[m]["seconds"]) for m in ("executemany", "ceiling")}
                print(f"{mode:<13}{r['rows']:>11,}{r['seconds']:>8.1f}{int(speed):>10,}{ratio['executemany']:>14.2f}x"
                      f"{ratio['ceiling']:>10.2f}x{r['peak'] // 1024:>9}{(r['peak'] - r['base']) // 1024:>10}")
            diffs = {m: differing(url, f"kept_{m}_{round_}", f"kept_ceiling_{round_}") for m in results if m != "ceiling"}
            for mode, diff in diffs.items():
                print(f"  {mode}: {'rows equal the ceiling' if not diff else f'{diff:,} rows differ from the ceiling'}")
            failed |= diffs["hub"] > 0
            rounds[round_] = {m: {"rows": r["rows"], "seconds": r["seconds"], "peak_mb": r["peak"] // 1024}
                              for m, r in results.items()}
    from bench.summary import emit
    emit("publish_paths", not failed, rounds=rounds)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
