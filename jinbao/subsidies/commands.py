"""`jinbao subsidies summary --year Y [--csv FILE]`: the year's lines per owing division and level.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

from pathlib import Path


def cmd_summary(args) -> int:
    import pyarrow.csv as pcsv

    from jinbao.settings import load_settings
    from jinbao.store.database import upgrade
    from jinbao.subsidies.summary import render, summary

    db = upgrade(load_settings().store_url)
    with db.connect() as conn:
        table = summary(conn, args.year)
    print(render(table, args.year))
    if args.csv:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        out = table.cast(table.schema)   # amounts stay exact decimals: written as 2-decimal text
        pcsv.write_csv(out, path)
        print(f"written to {path}")
    return 0


def add_commands(sub, kw) -> None:
    s = sub.add_parser("subsidies", help="resident medical insurance subsidies (前个人后财政)", **kw)
    ss = s.add_subparsers(dest="subsidies_command", required=True)
    p = ss.add_parser("summary", help="per owing division and level: lines, due, paid, in arrears", **kw)
    p.add_argument("--year", type=int, required=True, help="the subsidy year, e.g. 2026")
    p.add_argument("--csv", help="also write the table to this CSV file")
    p.set_defaults(func=cmd_summary)
