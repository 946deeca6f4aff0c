"""How right the auditors' death report is on a generated province: precision and recall per finding.

Usage: python bench/audit_accuracy.py [--people 200000] [--days 4] [--first 2026-11-29]
                                      [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --sqlite]

Generates `days` business days of one story (`jinbao generate --since first`: the generator plants
every audit case and writes the auditors' answer key, jinbao/generator/audit_truth.py), runs each
day with `jinbao run all` into a fresh store, then makes the report (`jinbao.audit.deaths.find`)
for every month the run covers and scores each keyed kind against the key, row for row:
precision = found rows the key holds / found rows, recall = key rows found / key rows.  Aim: 100 %
both ways for every kind.

The peer is the obvious report an engineer would write first, on the same store in the same run:
the register's life status (deceased, its date in force) joined to the roll, "paid for a month after
the month of death"; scored by person against the key's paid-after-death people.  It misses the
people whose sources disagree (paid after the earliest date, not the one in force) and can count a
death dated after the report month.

Prints a table, the time of each step and the peak RSS, then one BENCH-JSON line (bench/summary.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_kb  # noqa: E402
from bench.summary import emit  # noqa: E402

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def naive_paid_after_death(conn, month: dt.date) -> set[str]:
    """The first report anyone writes: register deceased, paid for a month after the death month."""
    import sqlalchemy as sa

    from jinbao.audit.findings import month_end
    from jinbao.schemas.store_tables import pension_payment, register

    r, pp = register.c, pension_payment.c
    rows = conn.execute(sa.select(r.aac002, r.life_status_date, pp.month)
                        .join_from(register, pension_payment, pp.aac002 == r.aac002)
                        .where(r.life_status == "deceased", pp.month <= month)).all()
    out = set()
    for pid, died, paid in rows:
        died = died if isinstance(died, dt.date) else dt.date.fromisoformat(str(died)[:10])
        paid = paid if isinstance(paid, dt.date) else dt.date.fromisoformat(str(paid)[:10])
        if died <= month_end(month) and paid > died.replace(day=1):
            out.add(pid)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2026, 11, 29))
    ap.add_argument("--url", default=ADMIN, help="an AUTOCOMMIT URL to the server's postgres database")
    ap.add_argument("--sqlite", action="store_true", help="the embedded store instead of PostgreSQL")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="jinbao-audit-accuracy-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["JINBAO_HOME"] = str(home)
        os.environ.pop("JINBAO_TRANSPORT", None)
        if args.sqlite:
            os.environ.pop("JINBAO_STORE_URL", None)
        else:
            from bench.fresh_db import fresh_database
            os.environ["JINBAO_STORE_URL"] = fresh_database(args.url, "jinbao_bench_audit")
        import sqlalchemy as sa

        from jinbao.audit.deaths import find
        from jinbao.cli import main as jinbao
        from jinbao.generator import audit_truth, generate
        from jinbao.settings import load_settings
        from jinbao.store.database import connect

        cfg = load_settings()
        days = [args.first + dt.timedelta(days=i) for i in range(args.days)]
        seconds = {"generate": 0.0, "run all": 0.0, "report": 0.0}
        print(f"{args.people:,} people, {len(days)} days {days[0]}..{days[-1]}, "
              f"store {'SQLite' if args.sqlite else 'PostgreSQL'}", flush=True)
        for on in days:
            t = time.perf_counter()
            generate(cfg, on, people=args.people, since=args.first)
            seconds["generate"] += time.perf_counter() - t
            t = time.perf_counter()
            code = jinbao(["run", "all"])
            seconds["run all"] += time.perf_counter() - t
            print(f"  {on}: generated and run (exit {code})", flush=True)
        months = sorted({on.replace(day=1) for on in days})
        truth = cfg.generated / "truth"
        scores, peer = {}, {}
        with connect(cfg.store_url).connect() as conn:
            batches = {i: audit_truth.text(d) for i, d in conn.execute(sa.text("select id, business_date from batch"))}
            for month in months:
                t = time.perf_counter()
                report = find(conn, month, audit_truth.TOLERANCE)
                seconds["report"] += time.perf_counter() - t
                scores[f"{month:%Y-%m}"] = audit_truth.score(report, truth, month, batches)
                key = {row[0] for row in audit_truth.expected_rows(truth, "paid_after_death", month)}
                naive = naive_paid_after_death(conn, month)
                peer[f"{month:%Y-%m}"] = (len(naive & key), len(naive - key), len(key - naive))

    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f} %" if b else "-"

    print(f"\n{'month':<8} {'finding':<20} {'expected':>9} {'found':>7} {'tp':>7} {'fp':>5} {'fn':>5} "
          f"{'precision':>10} {'recall':>8}")
    ok = True
    for month, kinds in scores.items():
        for kind, (tp, fp, fn) in kinds.items():
            ok &= fp == 0 and fn == 0
            print(f"{month:<8} {kind:<20} {tp + fn:>9,} {tp + fp:>7,} {tp:>7,} {fp:>5,} {fn:>5,} "
                  f"{pct(tp, tp + fp):>10} {pct(tp, tp + fn):>8}")
        tp, fp, fn = peer[month]
        print(f"{month:<8} {'peer: life status':<20} {tp + fn:>9,} {tp + fp:>7,} {tp:>7,} {fp:>5,} {fn:>5,} "
              f"{pct(tp, tp + fp):>10} {pct(tp, tp + fn):>8}   (paid after death, by person)")
    print("\n" + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + f"; peak RSS {peak_rss_kb() / 1024:,.0f} MB")
    emit("audit_accuracy", ok, people=args.people, days=len(days), scores=scores, peer=peer, seconds=seconds,
         peak_mb=peak_rss_kb() / 1024)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
