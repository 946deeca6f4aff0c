"""`jinbao feeds check FEED [--sample FILE]` and `jinbao feeds new PARTNER FEED_NAME`: a feed's
declaration, mapping, code tables and target table checked before it runs, a partner's sample judged
with nothing kept, and a new feed's files scaffolded with every key explained.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from jinbao.console import iso_date
from jinbao.settings import TIMEZONE, load_settings

#: The business date in a delivery's name (`<feed>_<YYYYMMDD>_<seq>.csv`).
DATED = re.compile(r"_(\d{8})_\d+\.csv$")


def cmd_feeds(args) -> int:
    cfg = load_settings()
    if args.action == "new":
        from jinbao.feed_scaffold import ScaffoldError, scaffold
        try:
            made = scaffold(args.partner, args.feed_name, cfg)
        except ScaffoldError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for path in made.files:
            print(f"wrote {path}")
        print(made.next_steps)
        return 0
    from jinbao.feed_checks import problems
    found = problems(args.feed, cfg)
    for p in found:
        print(p)
    if found:
        print(f"{args.feed}: {len(found)} problem(s); fix them, then run `jinbao feeds check {args.feed}` again "
              "(the feed is not run while its declaration is broken)")
        return 1
    print(f"{args.feed}: declaration, mapping, code tables and target table are all well-formed")
    return _sample(args, cfg) if args.sample else 0


def _sample(args, cfg) -> int:
    from jinbao.declarations import get_feed
    from jinbao.quality.sample import judge_sample
    from jinbao.staged.refused import DeliveryRefused

    spec = get_feed(args.feed, cfg)
    if spec.direction != "inbound":
        print(f"error: {spec.name} is an outbound feed: there is no partner file to judge", file=sys.stderr)
        return 1
    named = DATED.search(args.sample.name)
    day = args.date or (dt.datetime.strptime(named.group(1), "%Y%m%d").date() if named
                        else dt.datetime.now(ZoneInfo(TIMEZONE)).date())
    try:
        sample = judge_sample(spec, args.sample, day, cfg.gate_threads)
    except DeliveryRefused as exc:
        print(f"{args.sample.name}: would be refused whole: {exc}")
        return 1
    share = sample.rejected / sample.received if sample.received else 0.0
    held = share > spec.quality.max_reject_share
    print(f"\nsample {args.sample.name}, judged as of {day} (nothing kept, no receipt): {sample.received} "
          f"record(s), {sample.rejected} rejected ({share:.1%}); a delivery like it would be "
          + ("HELD for review" if held else "published") + f" (held above {spec.quality.max_reject_share:.0%})")
    if sample.columns:
        print("\nfailures per column (share of the records):")
        for c in sample.columns:
            print(f"  {c.column:<24} {c.records:>8}  {c.share:7.1%}")
        print("\nmost frequent reasons:")
        for r in sample.reasons:
            print(f"  {r.column:<24} {r.code:<24} {r.records:>8}  e.g. {r.example}")
    if sample.suspected:
        s = sample.suspected
        print(f"\nsuspected hub configuration error: {s.failed} of the {s.present} values of column {s.field} fail "
              f"{s.reason}; a delivery like it is held before any receipt goes to the partner. {s.check}")
    return 2 if held or sample.suspected else 0


def add_commands(sub, kw) -> None:
    f = sub.add_parser("feeds", help="check a feed before it runs; scaffold a new one", **kw)
    fs = f.add_subparsers(dest="action", required=True, metavar="ACTION")
    fc = fs.add_parser("check", help="every static check of a feed: declaration, partner schema, mapping (hub "
                       "fields that are columns of the target table), code tables, the table at the newest "
                       "migration; each problem as `file: key: what is wrong: what to do` (exit 1 if any)", **kw)
    fc.add_argument("feed", help="a declared feed, e.g. police.death")
    fc.add_argument("--sample", type=_path, metavar="FILE", help="also judge this partner file as a delivery would "
                    "be and print each column's failure share and the top reasons; nothing is kept and no receipt "
                    "is sent (exit 2 if such a delivery would be held)")
    fc.add_argument("--date", type=iso_date, help="the business date to judge the sample on (YYYY-MM-DD); "
                    "default: the date in the file's name, else today")
    fn = fs.add_parser("new", help="scaffold a new inbound feed's declaration, partner schema and mapping, "
                       "each key explained (never overwrites); prints the next steps", **kw)
    fn.add_argument("partner", help="who delivers, e.g. police")
    fn.add_argument("feed_name", help="the feed's name, e.g. enrolled_students (becomes PARTNER.enrolled_students)")
    f.set_defaults(func=cmd_feeds)


def _path(text: str) -> Path:
    """argparse type: a file that exists."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path
