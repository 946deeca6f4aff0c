"""`jinbao mappings check|coverage|suggest`: every table well-formed, values received without a
mapping, a value map proposed by linking records to the register.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

from jinbao.settings import load_settings


def cmd_mappings(args) -> int:
    if args.action == "check":
        from jinbao.mappings.check import check_all
        problems = check_all()
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s)" if problems else "all mapping tables are well-formed")
        return 1 if problems else 0
    from jinbao.declarations import get_feed
    from jinbao.store.database import upgrade
    cfg = load_settings()
    db = upgrade(cfg.store_url)
    spec = get_feed(args.feed, cfg)
    if args.action == "coverage":
        from jinbao.mappings.coverage import unmapped_values
        gaps = unmapped_values(db, spec.name, args.days)
        if gaps.empty:
            print(f"{spec.name}: every value received in the last {args.days} days had a mapping")
            return 0
        print(gaps.to_string(index=False))
        return 1
    from jinbao.mappings.suggest import render, suggest
    print(render(spec, args.field, suggest(db, spec, args.field, args.days), args.min_support))
    return 0


def add_commands(sub, kw) -> None:
    m = sub.add_parser("mappings", help="check mapping tables, find unmapped values, suggest maps", **kw)
    ms = m.add_subparsers(dest="action", required=True, metavar="ACTION")
    ms.add_parser("check", help="every table well-formed (exit 1 otherwise; fit for CI)", **kw)
    mc = ms.add_parser("coverage", help="values seen in recent batches with no mapping (exit 1 if any)", **kw)
    mc.add_argument("feed", help="a declared feed")
    mc.add_argument("--days", type=int, default=30, help="look at batches received in this many days")
    mg = ms.add_parser("suggest", help="propose a value map by linking records to the register on AAC002", **kw)
    mg.add_argument("feed", help="a declared feed")
    mg.add_argument("field", help="the partner's column, e.g. XB")
    mg.add_argument("--days", type=int, default=90, help="look at batches received in this many days")
    mg.add_argument("--min-support", type=int, default=5, help="mark suggestions with fewer linked records weak")
    m.set_defaults(func=cmd_mappings)
