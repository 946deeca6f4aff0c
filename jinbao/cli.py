"""`jinbao`: the same pipelines as the Airflow DAGs, without a scheduler.

Exit codes: 0 all good, 1 an error, 2 a batch was held or a delivery refused
(the run itself worked, but a person has something to look at).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import sys

from jinbao.ledger import Status
from jinbao.settings import load_settings


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from exc


def cmd_run(args) -> int:
    from jinbao.declarations import get_feed, load_feeds
    from jinbao.engine import Engine
    from jinbao.progress import bars

    cfg = load_settings()
    names = list(load_feeds(cfg)) if args.feed == "all" else [args.feed]
    worst, failed = 0, False
    for name in names:
        spec = get_feed(name, cfg)
        if spec.direction != "inbound":
            continue
        try:
            with bars() as progress:
                eng = Engine(spec, cfg)
                eng.progress = progress
                outcomes = eng.run(args.date)
        except Exception as exc:  # noqa: BLE001 - one feed's failure never stops the others
            from jinbao.store.errors import is_transient
            from jinbao.privacy import mask_text
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
    return 1 if failed else worst


def cmd_generate(args) -> int:
    from jinbao.generator import generate

    from jinbao import ledger

    summary = generate(load_settings(), args.date or ledger.today(), seed=args.seed, people=args.people,
                       defect_share=args.defect_share, feeds=args.feed or None, since=args.since,
                       subsidy_key=args.subsidy_key)
    import json
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_demo(args) -> int:
    from jinbao.demo import demo

    return demo(load_settings(), args.date, people=args.people, seed=args.seed)


def cmd_db_upgrade(args) -> int:
    from jinbao.store.database import upgrade

    url = load_settings().store_url
    upgrade(url)
    print(f"store at the newest migration: {url}")
    return 0


def cmd_batches(args) -> int:
    from jinbao.store.database import upgrade

    cfg = load_settings()
    db = upgrade(cfg.store_url)
    if args.action == "list":
        return _list_batches(cfg, db, args)
    from jinbao.release import NotHeld, release_batch
    try:
        o = release_batch(args.batch, cfg)
    except NotHeld as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"released batch {o.batch_id}: published {o.published} of {o.received} records")
    return 0


def _list_batches(cfg, db, args) -> int:
    """The ledger as a person reads it: a header, aligned columns, local times, the receipt's path."""
    from zoneinfo import ZoneInfo

    from jinbao import ledger
    from jinbao.declarations import load_feeds
    from jinbao.settings import TIMEZONE

    if args.status and args.status not in {s.value for s in ledger.Status}:
        print(f"error: unknown status {args.status!r}; one of: {', '.join(s.value for s in ledger.Status)}",
              file=sys.stderr)
        return 2
    with db.begin() as conn:
        rows = ledger.listing(conn, args.feed, args.status, limit=args.limit)
    if args.feed and not rows and args.feed not in load_feeds(cfg):
        print(f"error: no feed {args.feed!r}; declared feeds: {', '.join(sorted(load_feeds(cfg)))}", file=sys.stderr)
        return 2
    if not rows:
        print("no batches" + (f" of {args.feed}" if args.feed else "") + (f" {args.status}" if args.status else ""))
        return 0
    tz = ZoneInfo(TIMEZONE)
    table = [("batch", "feed", "file", "status", "received", "accepted", "rejected", "published", "taken at (CST)",
              "reason", "receipt")]
    for r in rows:
        taken = r["received_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
        receipt = next(iter(sorted((cfg.receipts / r["feed"] / str(r["id"])).glob("*.receipt.json"))), None)
        table.append((str(r["id"]), r["feed"], r["file_name"], r["status"], *(str(r[k] if r[k] is not None else "-")
                      for k in ("received", "accepted", "rejected", "published")), taken, r["reason_code"] or "",
                      str(receipt) if receipt else ""))
    print_table(table, right={0, 4, 5, 6, 7})
    return 0


def print_table(rows: list[tuple[str, ...]], right: set[int] = frozenset()) -> None:
    """Columns aligned by display width (Chinese characters count two), for terminals and logs alike."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [(" " * (w - width(c)) + c) if i in right else (c + " " * (w - width(c)))
                 for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip())


def _local(moment) -> str:
    from zoneinfo import ZoneInfo

    from jinbao.settings import TIMEZONE
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _field_label(column: str) -> str:
    from jinbao.register.lineage import LIFE
    from jinbao.schemas.dictionary import hub_dictionary

    if column == LIFE:
        return "LIFE_STATUS 生存状态 life status"
    spec = hub_dictionary().get(column.upper())
    return f"{column.upper()} {spec.label} {spec.en}" if spec else column


def _register_field(name: str) -> str:
    """argparse type: a register field as people type it (AAC003, aac003, LIFE_STATUS) -> its column."""
    from jinbao.register.lineage import UnknownField, field_column
    try:
        return field_column(name)
    except UnknownField as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_conflicts(args) -> int:
    """Open conflicts as a table: who, which field, the value held and by whom, the value offered and by whom."""
    from jinbao.privacy import mask_text
    from jinbao.register.lineage import conflicts
    from jinbao.store.database import upgrade

    with upgrade(load_settings().store_url).connect() as conn:
        rows = conflicts(conn, args.field, args.feed, resolved=args.all, limit=args.limit)
    if not rows:
        print("no " + ("" if args.all else "open ") + "conflicts" + (f" on {args.field.upper()}" if args.field else "")
              + (f" involving {args.feed}" if args.feed else ""))
        return 0
    table = [("person", "field", "held", "held by (batch)", "offered", "offered by (batch)", "first seen (CST)",
              "last seen (CST)", "state")]
    for r in rows:
        table.append((mask_text(r["aac002"]), r["field"].upper(), r["value_held"] or "-",
                      f"{r['held_source']} ({r['held_batch']})", r["value_offered"] or "-",
                      f"{r['offered_source']} ({r['offered_batch']})", _local(r["first_seen"]),
                      _local(r["last_seen"]), "resolved" if r["resolved_at"] else "open"))
    print_table(table)
    return 0


def cmd_lineage(args) -> int:
    """Each register field of one person: value, feed, batch, file, line, mapping, rules, when, and what it replaced."""
    from jinbao.privacy import mask_text
    from jinbao.register.lineage import lineage
    from jinbao.store.database import upgrade

    with upgrade(load_settings().store_url).connect() as conn:
        entries = lineage(conn, args.aac002.strip().upper(), args.field)
    if entries is None:
        print(f"error: {mask_text(args.aac002)} is not in the register (no published record names it)",
              file=sys.stderr)
        return 1
    print(f"register {mask_text(args.aac002.strip().upper())}  (times in CST)")
    for e in entries:
        print(f"\n{_field_label(e.field)} = {e.value if e.value is not None else '-'}")
        src = e.source
        if src.feed is None:
            print("  never set")
            continue
        where = f", {src.file_name} line {src.line_no}" if src.file_name else ""
        print(f"  from    {src.feed}, batch {src.batch_id}{where}")
        print(f"  passed  mapping {src.mapping_version or '-'}, rules {src.rules_version or '-'}")
        print(f"  set at  {_local(src.at)}")
        for r in e.replaced:
            was = r.source
            where = f", {was.file_name} line {was.line_no}" if was.file_name else ""
            if e.field == "life_status":
                print(f"  changed {r.value}  ({was.feed}, batch {was.batch_id}{where}; recorded {_local(r.replaced_at)})")
            else:
                print(f"  replaced {r.value}  ({was.feed}, batch {was.batch_id}{where}; set {_local(was.at)}, "
                      f"replaced {_local(r.replaced_at)} by batch {r.replaced_by_batch})")
    return 0


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None


def cmd_report(args) -> int:
    """The auditors' death-mismatch report of one month: files, hand-over, headline figures."""
    from jinbao.audit.report import headline, run

    if args.full_ids and not args.who:
        print("error: --full-ids needs --who NAME (every export of unmasked IDs is recorded)", file=sys.stderr)
        return 2
    written = run(load_settings(), args.month, args.tolerance_days, full_ids=args.full_ids, who=args.who)
    print(headline(written.report))
    for name, path in sorted(written.files.items()):
        print(f"{name:<24}{path}")
    print(f"{'handed over':<24}{written.handed_over}/")
    return 0


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


def cmd_keys(args) -> int:
    from jinbao.keys import init_keys, key_dir

    home = load_settings().home
    for who, what in init_keys(home).items():
        print(f"{who:<14} {what}")
    print(f"keys in {key_dir(home)} (private keys 0600; see docs/transport.md for real certificates)")
    return 0


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default only when it has one."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("jinbao-exchange")
    except PackageNotFoundError:      # pragma: no cover - running from a checkout without install
        return "unknown"


#: Modules whose commands live beside what they run; each has `add_commands(sub, kw)`.
COMMANDS_ELSEWHERE: tuple[str, ...] = ("jinbao.outbound.commands", "jinbao.subsidies.commands")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jinbao", description="Jinbao Exchange 金保交换: the cross-department "
                                "exchange hub. Settings come from JINBAO_* variables (see the README).",
                                formatter_class=_Help)
    p.add_argument("-v", "--verbose", action="store_true", help="log every step, and show tracebacks on errors")
    p.add_argument("--version", action="version", version=f"jinbao {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kw = {"formatter_class": _Help}

    r = sub.add_parser("run", help="run an inbound feed (or 'all') end to end", **kw)
    r.add_argument("feed", help="a declared feed, e.g. police.death, or 'all' for every inbound feed")
    r.add_argument("--date", type=_date, help="take only deliveries whose business date is up to this day "
                   "(YYYY-MM-DD); default: every waiting delivery")
    r.set_defaults(func=cmd_run)

    g = sub.add_parser("generate", help="write a day of synthetic partner deliveries", **kw)
    g.add_argument("--date", type=_date, default=None,
                   help="the business day (YYYY-MM-DD); default: the hub's day (China Standard Time)")
    g.add_argument("--seed", type=int, default=20261122, help="the population's seed: same seed, same people")
    g.add_argument("--people", type=int, default=20_000, help="insured people in the synthetic province")
    g.add_argument("--defect-share", type=float, default=0.05, help="share of records with a planted defect")
    g.add_argument("--feed", action="append", help="only this feed (repeatable); default: every feed")
    g.add_argument("--since", type=_date, default=None,
                   help="the first day the hub was fed from (YYYY-MM-DD), where the answer keys start; "
                        "default: the story's first day")
    g.add_argument("--subsidy-key", action="store_true",
                   help="also write the subsidies' answer key (expected lines and refused payments) for --since..--date")
    g.set_defaults(func=cmd_generate)

    d = sub.add_parser("demo", help="fresh JINBAO_HOME, generate a day, run every feed, summarise", **kw)
    d.add_argument("--date", type=_date, default=None, help="the business day (default: yesterday in China)")
    d.add_argument("--seed", type=int, default=20261122, help="the population's seed")
    d.add_argument("--people", type=int, default=20_000, help="insured people in the synthetic province")
    d.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="the shared store", **kw)
    db.add_argument("action", choices=["upgrade"], help="upgrade: bring the store to the newest migration")
    db.set_defaults(func=cmd_db_upgrade)

    b = sub.add_parser("batches", help="list batches or release a held one", **kw)
    bs = b.add_subparsers(dest="action", required=True, metavar="ACTION")
    bl = bs.add_parser("list", help="the newest batches with their counts, status and receipt", **kw)
    bl.add_argument("--feed", help="only this feed")
    bl.add_argument("--status", help="only this status: received, judged, held, published or refused")
    bl.add_argument("--limit", type=int, default=50, help="at most this many, newest first")
    br = bs.add_parser("release", help="publish a held batch after review; the partner gets an updated receipt",
                       **kw)
    br.add_argument("batch", type=int, help="the held batch's id (see `jinbao batches list --status held`)")
    b.set_defaults(func=cmd_batches)

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

    c = sub.add_parser("conflicts", help="register fields where an outranked source says something else", **kw)
    c.add_argument("--field", type=_register_field, help="only this register field, e.g. AAC003 (name) or AAB301 (division)")
    c.add_argument("--feed", help="only conflicts this feed offers or holds, e.g. civil_affairs.assistance")
    c.add_argument("--all", action="store_true", help="include resolved conflicts")
    c.add_argument("--limit", type=int, default=200, help="at most this many, most recently seen first")
    c.set_defaults(func=cmd_conflicts)

    ln = sub.add_parser("lineage", help="where each register value of a person came from, and what it replaced",
                        **kw)
    ln.add_argument("aac002", metavar="AAC002", help="the person's 18-character citizen ID")
    ln.add_argument("field", nargs="?", type=_register_field, help="only this field, e.g. AAC003 or LIFE_STATUS")
    ln.set_defaults(func=cmd_lineage)

    rp = sub.add_parser("report", help="reports for auditors", **kw)
    rs = rp.add_subparsers(dest="report", required=True, metavar="REPORT")
    rd = rs.add_parser("deaths", help="death records against the pension roll: paid after death, sources that "
                       "disagree, deaths not deregistered, identity mismatches, probable typos", **kw)
    rd.add_argument("--month", type=_month, required=True, help="the report month, YYYY-MM (deaths up to its end, "
                    "payments for months up to it)")
    rd.add_argument("--tolerance-days", type=int, default=3, help="death dates further apart than this disagree")
    rd.add_argument("--full-ids", action="store_true", help="also write a separate workbook with unmasked IDs "
                    "(kept on the hub; the export is recorded)")
    rd.add_argument("--who", help="who asks for the unmasked IDs (required with --full-ids)")
    rp.set_defaults(func=cmd_report)

    k = sub.add_parser("keys", help="the hub's and demo partners' keys and certificates", **kw)
    k.add_argument("action", choices=["init"], help="init: make what is missing, never replace a key")
    k.set_defaults(func=cmd_keys)

    q = sub.add_parser("quality", help="the quality gate as Great Expectations suites", **kw)
    qs = q.add_subparsers(dest="action", required=True, metavar="ACTION")
    qd = qs.add_parser("docs", help="run the feed's GE suite on a batch and build Data Docs", **kw)
    qd.add_argument("feed", help="a declared feed")
    qd.add_argument("--batch", type=int, help="batch id (default: the newest judged one)")
    q.set_defaults(func=cmd_quality_docs)
    for module in COMMANDS_ELSEWHERE:
        importlib.import_module(module).add_commands(sub, kw)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from jinbao import privacy
    privacy.install()
    try:
        return args.func(args)
    except BrokenPipeError:       # `jinbao batches list | head`: the reader has what it wanted
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a clear one-line error for operators; -v shows the trace
        if args.verbose:
            raise
        from jinbao.privacy import mask_text
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
