"""`jinbao run` (take a feed's waiting deliveries as batches) and `jinbao batches list|release|refuse|rejudge`
(the ledger as a person reads it; the answers to a held batch, jinbao/release.py).

What a command runs is imported when it runs, here and in every area's commands: building the
parser for `jinbao --help` or any one command loads no other command's machinery.

Imports inside functions: each cmd_* imports what it runs when it runs (above).
"""
from __future__ import annotations

import sys

from jinbao.console import iso_date, local_minute, print_table
from jinbao.ledger import Status
from jinbao.settings import load_settings


def cmd_run(args) -> int:
    from jinbao.declarations import FeedError, declared, get_feed
    from jinbao.engine import Engine
    from jinbao.store.errors import is_transient
    from jinbao.privacy import mask_text
    from jinbao.progress import bars

    cfg = load_settings()
    found = declared(cfg)
    names = list(found.feeds) if args.feed == "all" else [args.feed]
    worst, failed = 0, False
    for name in names:
        try:
            spec = get_feed(name, cfg)
        except FeedError as exc:
            _not_run(name, exc.problems)
            return 1
        if spec.direction != "inbound":
            continue
        try:
            with bars() as progress:
                eng = Engine(spec, cfg)
                eng.progress = progress
                outcomes = eng.run(args.date)
        except Exception as exc:  # noqa: BLE001 - one feed's failure never stops the others
            hint = "retry later: the delivery stays in inbound/" if is_transient(exc) else "see the log (-v)"
            print(f"{name}: error: {mask_text(str(exc))} ({hint})", file=sys.stderr)
            failed = True
            continue
        if not outcomes:
            print(f"{name}: no delivery waiting")
        for o in outcomes:
            print(f"{name}: {o.file} batch {o.batch_id} {o.status}: received {o.received}, "
                  f"accepted {o.accepted}, rejected {o.rejected}, published {o.published}"
                  + (f" [{o.reason_code}]" if o.reason_code else ""))
            if o.status in (Status.HELD, Status.REFUSED):
                worst = 2
    if args.feed == "all" and found.broken:          # every other feed ran; the broken ones are named last
        for name, exc in found.broken.items():
            _not_run(name, exc.problems)
        failed = True
    return 1 if failed else worst


def _not_run(name: str, problems) -> None:
    """An operator's error: the feed was not run, each problem with its file and key, and what to do."""
    print(f"{name}: error: not run, nothing taken (deliveries stay in inbound/):", file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    print(f"  fix it, then `jinbao feeds check {name}`", file=sys.stderr)


def cmd_batches(args) -> int:
    from jinbao.release import CannotAnswer, NotHeld, answer, os_user
    from jinbao.store.database import upgrade

    cfg = load_settings()
    db = upgrade(cfg.store_url)
    if args.action == "list":
        return _list_batches(cfg, db, args)
    try:
        done = answer(args.batch, args.action, os_user(), getattr(args, "reason", None), cfg)
    except (NotHeld, CannotAnswer, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(done.said)
    return 2 if done.still_held else 0


def _list_batches(cfg, db, args) -> int:
    """The ledger as a person reads it: a header, aligned columns, local times, the receipt's path."""
    from jinbao import ledger
    from jinbao.declarations import declared

    if args.status and args.status not in {s.value for s in ledger.Status}:
        print(f"error: unknown status {args.status!r}; one of: {', '.join(s.value for s in ledger.Status)}",
              file=sys.stderr)
        return 2
    with db.begin() as conn:
        rows = ledger.listing(conn, args.feed, args.status, limit=args.limit)
    if args.feed and not rows and args.feed not in declared(cfg).feeds:
        print(f"error: no feed {args.feed!r}; declared feeds: {', '.join(sorted(declared(cfg).feeds))}", file=sys.stderr)
        return 2
    if not rows:
        print("no batches" + (f" of {args.feed}" if args.feed else "") + (f" {args.status}" if args.status else ""))
        return 0
    table = [("batch", "feed", "file", "status", "received", "accepted", "rejected", "published", "taken at (CST)",
              "reason", "receipt")]
    for r in rows:
        receipt = next(iter(sorted((cfg.receipts / r["feed"] / str(r["id"])).glob("*.receipt.json"))), None)
        table.append((str(r["id"]), r["feed"], r["file_name"], r["status"], *(str(r[k] if r[k] is not None else "-")
                      for k in ("received", "accepted", "rejected", "published")), local_minute(r["received_at"]),
                      r["reason_code"] or "", str(receipt) if receipt else ""))
    print_table(table, right={0, 4, 5, 6, 7})
    return 0


def add_commands(sub, kw) -> None:
    r = sub.add_parser("run", help="run an inbound feed (or 'all') end to end", **kw)
    r.add_argument("feed", help="a declared feed, e.g. police.death, or 'all' for every inbound feed")
    r.add_argument("--date", type=iso_date, help="take only deliveries whose business date is up to this day "
                   "(YYYY-MM-DD); default: every waiting delivery")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("batches", help="list batches; release, refuse or rejudge a held one", **kw)
    bs = b.add_subparsers(dest="action", required=True, metavar="ACTION")
    bl = bs.add_parser("list", help="the newest batches with their counts, status and receipt", **kw)
    bl.add_argument("--feed", help="only this feed")
    bl.add_argument("--status", help="only this status: received, judged, held, published or refused")
    bl.add_argument("--limit", type=int, default=50, help="at most this many, newest first")
    br = bs.add_parser("release", help="publish a held batch after review; the partner gets an updated receipt",
                       **kw)
    br.add_argument("batch", type=int, help="the held batch's id (see `jinbao batches list --status held`)")
    bf = bs.add_parser("refuse", help="refuse a held delivery after review: nothing published, quarantined, the "
                       "partner gets a receipt with your reason asking to resend", **kw)
    bf.add_argument("batch", type=int, help="the held batch's id")
    bf.add_argument("--reason", required=True, help="why, for the partner's receipt (no paths or commands)")
    bj = bs.add_parser("rejudge", help="judge a held delivery again under the mapping now in force (after a "
                       "mapping fix): published, or held again", **kw)
    bj.add_argument("batch", type=int, help="the held batch's id")
    b.set_defaults(func=cmd_batches)
