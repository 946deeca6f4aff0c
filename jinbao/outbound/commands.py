"""`jinbao send` (outbound feeds) and `jinbao audit verify|log` (the exchange log).

Exit codes as for `jinbao run`: 0 all good, 1 an error, 2 the run worked but a person has
something to look at (records held back, or a feed outside its agreement's dates).
"""
from __future__ import annotations

import datetime as dt
import sys


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The business date a run without --as-of covers: the day before today in China (the last
    complete day; a monthly run on the 1st thus covers the month before)."""
    from zoneinfo import ZoneInfo

    from jinbao.settings import TIMEZONE
    return (today or dt.datetime.now(ZoneInfo(TIMEZONE)).date()) - dt.timedelta(days=1)


def cmd_send(args) -> int:
    from jinbao.declarations import OutboundFeed, get_feed, load_feeds
    from jinbao.outbound.send import OUTSIDE, send
    from jinbao.settings import load_settings

    cfg = load_settings()
    if args.feed == "all":
        specs = [s for s in load_feeds(cfg).values() if isinstance(s, OutboundFeed)]
    else:
        specs = [get_feed(args.feed, cfg)]
        if not isinstance(specs[0], OutboundFeed):
            print(f"error: {args.feed} is an inbound feed; `jinbao run {args.feed}` takes its deliveries",
                  file=sys.stderr)
            return 1
    as_of = args.as_of or default_as_of()
    worst = 0
    for spec in specs:
        result = send(spec, cfg, as_of, resend=args.resend)
        print(f"{spec.name}: {result.message}")
        for note in result.notes:
            print(f"  {note}")
        if result.status == OUTSIDE or result.held_back:
            worst = 2
    return worst


def cmd_audit(args) -> int:
    from jinbao import exchange_log
    from jinbao.settings import load_settings
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
    from jinbao.cli import _local, print_table
    with db.connect() as conn:
        rows = exchange_log.entries(conn, feed=args.feed, partner=args.partner, direction=args.direction,
                                    limit=args.limit)
    if not rows:
        print("no entries")
        return 0
    print_table([("#", "at", "dir", "partner", "feed", "file", "status", "records", "held/rej", "purpose")]
                + [(str(r["seq"]), _local(r["at"]), r["direction"], r["partner"], r["feed"], r["file_name"],
                    r["status"], str(r["records"] if r["records"] is not None else ""),
                    str(r["rejected"] if r["rejected"] is not None else ""), (r["purpose"] or "")[:40])
                   for r in rows], right={0, 7, 8})
    return 0


def add_commands(sub, kw) -> None:
    from jinbao.cli import _date

    s = sub.add_parser("send", help="send an outbound feed (or 'all') to its partner under its agreement", **kw)
    s.add_argument("feed", help="an outbound feed, e.g. police.insured_status, or 'all'")
    s.add_argument("--as-of", type=_date, help="the business date whose state is sent (default: yesterday in "
                   "China; a monthly feed on the 1st covers the month before)")
    s.add_argument("--resend", action="store_true", help="upload again even if the same content was already sent "
                   "(same file name and sequence)")
    s.set_defaults(func=cmd_send)

    a = sub.add_parser("audit", help="the exchange log: every delivery in and out, every export", **kw)
    acts = a.add_subparsers(dest="action", required=True, metavar="ACTION")
    acts.add_parser("verify", help="recompute the chain; name the first entry edited, deleted or inserted "
                    "(exit 1 if any)", **kw)
    ls = acts.add_parser("log", help="the newest entries", **kw)
    ls.add_argument("--feed", help="only this feed")
    ls.add_argument("--partner", help="only this partner")
    ls.add_argument("--direction", choices=["in", "out", "export"], help="only this direction")
    ls.add_argument("--limit", type=int, default=50, help="at most this many, newest first")
    a.set_defaults(func=cmd_audit)
