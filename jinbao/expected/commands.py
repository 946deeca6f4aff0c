"""`jinbao deliveries missing`: the expected deliveries that are late, each reminded once (agreements §5).

Exit codes: 0 nothing missing, 2 something is missing (the check worked; a partner owes a delivery),
1 an error.

Imports inside functions: cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it.
"""
from __future__ import annotations

import datetime as dt

from jinbao.console import iso_date, local_minute, print_table
from jinbao.settings import load_settings

#: The default look-back: a quarter and a little, so a quarterly feed's last delivery is in view.
LOOK_BACK = dt.timedelta(days=100)


def cmd_missing(args) -> int:
    from jinbao import ledger
    from jinbao.declarations import declared
    from jinbao.expected.missing import check
    from jinbao.store.database import upgrade

    cfg = load_settings()
    feeds = declared(cfg).feeds
    if args.feed and args.feed not in feeds:
        raise ValueError(f"no feed {args.feed!r}; declared feeds: {', '.join(sorted(feeds))}")
    last = args.to or ledger.today()
    first = args.from_ or last - LOOK_BACK
    found = check(cfg, upgrade(cfg.store_url), feeds, first, last, args.feed, send=not args.no_reminders)
    for feed, problem in sorted(found.unknown.items()):
        print(f"{feed}: not checked: {problem}")
    if not found.missing:
        print(f"no delivery missing for business dates {first} to {last}"
              + (f" of {args.feed}" if args.feed else ""))
        return 1 if found.unknown else 0
    rows = [("feed", "partner", "business date", "due", "reminder")]
    for m in sorted(found.missing, key=lambda m: (m.due.feed, m.due.business_date)):
        sent = ("sent now" if m.sent_now else f"sent {local_minute(m.reminded)}" if m.reminded else "not sent")
        rows.append((m.due.feed, m.partner, m.due.business_date.isoformat(), local_minute(m.due.due), sent))
    print_table(rows)
    print(f"{len(found.missing)} delivery(ies) late (due + grace passed, not received, not waiting in inbound/). "
          "Reminders are in each partner's outbound/ and the exchange log (`jinbao log list --direction out`); "
          "call the partner if a delivery stays missing, and once it arrives run the feed (`jinbao run FEED`).")
    return 2


def add_commands(sub, kw) -> None:
    d = sub.add_parser("deliveries", help="expected deliveries (agreements §5): which are missing", **kw)
    acts = d.add_subparsers(dest="action", required=True, metavar="ACTION")
    m = acts.add_parser("missing", help="deliveries past due + grace, neither taken nor waiting; each late one "
                        "gets one reminder (催报) in the partner's outbound/ (exit 2 if any)", **kw)
    m.add_argument("--from", dest="from_", type=iso_date, help="first business date (default: 100 days before --to)")
    m.add_argument("--to", type=iso_date, help="last business date (default: today, China Standard Time)")
    m.add_argument("--feed", help="only this feed")
    m.add_argument("--no-reminders", action="store_true", help="list only; send no reminder")
    d.set_defaults(func=cmd_missing)
