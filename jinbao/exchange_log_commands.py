"""`jinbao log verify|list`: the exchange log, every delivery in and out and every export, its chain
checked or its newest entries listed.  `jinbao audit verify|log`, its first name, stays an alias.

Exit codes: 0 intact (or listed), 1 the chain does not check out.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it.
"""
from __future__ import annotations

from jinbao.console import local_minute, print_table
from jinbao.settings import load_settings


def cmd_log(args) -> int:
    from jinbao import exchange_log
    from jinbao.store.database import upgrade

    cfg = load_settings()
    db = upgrade(cfg.store_url)
    if args.action == "verify":
        with db.connect() as conn:
            result = exchange_log.verify(conn, exchange_log.log_key(cfg.home, create=False))
        if result.ok:
            print(f"exchange log intact: {result.entries} entries, every seal and link checks out")
            return 0
        print(f"exchange log TAMPERED: {len(result.problems)} problem(s) in {result.entries} entries; the first:")
        for problem in result.problems:
            print(f"  {problem}")
        print("Keep the store as it is and tell the security officer: the entries named above no longer say what "
              "the hub recorded.")
        return 1
    with db.connect() as conn:
        rows = exchange_log.entries(conn, feed=args.feed, partner=args.partner, direction=args.direction,
                                    limit=args.limit)
    if not rows:
        print("no entries")
        return 0
    print_table([("#", "at", "dir", "partner", "feed", "file", "status", "records", "held/rej", "who", "purpose")]
                + [(str(r["seq"]), local_minute(r["at"]), r["direction"], r["partner"], r["feed"], r["file_name"],
                    r["status"], str(r["records"] if r["records"] is not None else ""),
                    str(r["rejected"] if r["rejected"] is not None else ""), (r["who"] or "")[:40],
                    (r["purpose"] or "")[:40])
                   for r in rows], right={0, 7, 8})
    return 0


def add_commands(sub, kw) -> None:
    a = sub.add_parser("log", aliases=["audit"], help="the exchange log: every delivery in and out, every export",
                       **kw)
    acts = a.add_subparsers(dest="action", required=True, metavar="ACTION")
    acts.add_parser("verify", help="recompute the chain; name the first entry edited, deleted or inserted "
                    "(exit 1 if any)", **kw)
    ls = acts.add_parser("list", aliases=["log"], help="the newest entries", **kw)
    ls.add_argument("--feed", help="only this feed")
    ls.add_argument("--partner", help="only this partner")
    ls.add_argument("--direction", choices=["in", "out", "export", "review", "purge"], help="only this direction")
    ls.add_argument("--limit", type=int, default=50, help="at most this many, newest first")
    a.set_defaults(func=cmd_log)
