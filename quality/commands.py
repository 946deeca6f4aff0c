"""`jinbao quality docs FEED [--batch N]`: a batch's quality results as one self-contained page,
the feed's Great Expectations suite run on the delivery as received (GE starts only when it runs).

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

import sys

from jinbao.settings import load_settings


def cmd_quality_docs(args) -> int:
    """A batch's quality results as one self-contained page: the feed's GE suite run on the delivery as received."""
    from jinbao import ledger
    from jinbao.declarations import get_feed
    from jinbao.quality import data_docs
    from jinbao.store.database import upgrade

    cfg = load_settings()
    spec = get_feed(args.feed, cfg)
    with upgrade(cfg.store_url).begin() as conn:
        if args.batch is None:
            row = next((r for r in ledger.listing(conn, spec.name) if r["status"] != ledger.Status.REFUSED), None)
        else:
            try:
                row = ledger.get(conn, args.batch)
            except LookupError:
                row = None
    if row is None or row["feed"] != spec.name:
        which = f"batch {args.batch} of {spec.name}" if args.batch is not None else f"judged batch of {spec.name}"
        print(f"no {which} to document", file=sys.stderr)
        return 1
    if row["status"] == ledger.Status.REFUSED:
        print(f"batch {row['id']} was refused whole ({row['reason_code']}): its receipt says why; "
              "there are no record checks to show", file=sys.stderr)
        return 1
    try:
        index = data_docs.build(cfg, spec, row)
    except data_docs.NoDelivery as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"quality results: {index}\nsuite:           {index.parent / 'suite.json'}")
    return 0


def add_commands(sub, kw) -> None:
    q = sub.add_parser("quality", help="the quality gate as Great Expectations suites", **kw)
    qs = q.add_subparsers(dest="action", required=True, metavar="ACTION")
    qd = qs.add_parser("docs", help="run the feed's GE suite on a batch and build Data Docs", **kw)
    qd.add_argument("feed", help="a declared feed")
    qd.add_argument("--batch", type=int, help="batch id (default: the newest judged one)")
    q.set_defaults(func=cmd_quality_docs)
