"""`jinbao send`: outbound feeds, each to its partner under its agreement.

Exit codes as for `jinbao run`: 0 all good, 1 an error, 2 the run worked but a person has
something to look at (records held back, or a feed outside its agreement's dates).

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it.
"""
from __future__ import annotations

import datetime as dt
import sys
from zoneinfo import ZoneInfo

from jinbao.console import iso_date
from jinbao.settings import TIMEZONE


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The business date a run without --as-of covers: the day before today in China (the last
    complete day; a monthly run on the 1st thus covers the month before)."""
    return (today or dt.datetime.now(ZoneInfo(TIMEZONE)).date()) - dt.timedelta(days=1)


def cmd_send(args) -> int:
    from jinbao.declarations import OutboundFeed, declared, get_feed
    from jinbao.keys_expiry import CertificateExpired
    from jinbao.outbound.send import OUTSIDE, send
    from jinbao.settings import load_settings

    cfg = load_settings()
    if args.feed == "all":
        specs = [s for s in declared(cfg).feeds.values() if isinstance(s, OutboundFeed)]
    else:
        specs = [get_feed(args.feed, cfg)]
        if not isinstance(specs[0], OutboundFeed):
            print(f"error: {args.feed} is an inbound feed; `jinbao run {args.feed}` takes its deliveries",
                  file=sys.stderr)
            return 1
    as_of = args.as_of or default_as_of()
    worst = 0
    for spec in specs:
        try:
            result = send(spec, cfg, as_of, resend=args.resend)
        except CertificateExpired as exc:     # that partner only: nothing sent to it, the others still go
            print(f"error: {spec.name}: not sent: {exc}", file=sys.stderr)
            worst = 1
            continue
        print(f"{spec.name}: {result.message}")
        for note in result.notes:
            print(f"  {note}")
        if (result.status == OUTSIDE or result.held_back) and worst == 0:
            worst = 2
    return worst


def add_commands(sub, kw) -> None:
    s = sub.add_parser("send", help="send an outbound feed (or 'all') to its partner under its agreement", **kw)
    s.add_argument("feed", help="an outbound feed, e.g. police.insured_status, or 'all'")
    s.add_argument("--as-of", type=iso_date, help="the business date whose state is sent (default: yesterday in "
                   "China; a monthly feed on the 1st covers the month before)")
    s.add_argument("--resend", action="store_true", help="upload again even if the same content was already sent "
                   "(same file name and sequence)")
    s.set_defaults(func=cmd_send)
