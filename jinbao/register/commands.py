"""`jinbao conflicts` (register fields where an outranked source says something else) and
`jinbao lineage` (where each register value of a person came from, and what it replaced).

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

import argparse
import sys

from jinbao.console import local_minute, print_table
from jinbao.privacy import mask_text
from jinbao.settings import load_settings


def _field_label(column: str) -> str:
    from jinbao.register.lineage import LIFE
    from jinbao.schemas.dictionary import hub_dictionary

    if column == LIFE:
        return "LIFE_STATUS 生存状态 life status"
    spec = hub_dictionary().get(column.upper())
    return f"{column.upper()} {spec.label} {spec.en}" if spec else column


def register_field(name: str) -> str:
    """argparse type: a register field as people type it (AAC003, aac003, LIFE_STATUS) -> its column."""
    from jinbao.register.lineage import UnknownField, field_column
    try:
        return field_column(name)
    except UnknownField as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_conflicts(args) -> int:
    """Open conflicts as a table: who, which field, the value held and by whom, the value offered and by whom."""
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
                      f"{r['offered_source']} ({r['offered_batch']})", local_minute(r["first_seen"]),
                      local_minute(r["last_seen"]), "resolved" if r["resolved_at"] else "open"))
    print_table(table)
    return 0


def cmd_lineage(args) -> int:
    """Each register field of one person: value, feed, batch, file, line, mapping, rules, when, and what it replaced."""
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
        print(f"  set at  {local_minute(src.at)}")
        for r in e.replaced:
            was = r.source
            where = f", {was.file_name} line {was.line_no}" if was.file_name else ""
            if e.field == "life_status":
                print(f"  changed {r.value}  ({was.feed}, batch {was.batch_id}{where}; recorded "
                      f"{local_minute(r.replaced_at)})")
            else:
                print(f"  replaced {r.value}  ({was.feed}, batch {was.batch_id}{where}; set {local_minute(was.at)}, "
                      f"replaced {local_minute(r.replaced_at)} by batch {r.replaced_by_batch})")
    return 0


def add_commands(sub, kw) -> None:
    c = sub.add_parser("conflicts", help="register fields where an outranked source says something else", **kw)
    c.add_argument("--field", type=register_field,
                   help="only this register field, e.g. AAC003 (name) or AAB301 (division)")
    c.add_argument("--feed", help="only conflicts this feed offers or holds, e.g. civil_affairs.assistance")
    c.add_argument("--all", action="store_true", help="include resolved conflicts")
    c.add_argument("--limit", type=int, default=200, help="at most this many, most recently seen first")
    c.set_defaults(func=cmd_conflicts)

    ln = sub.add_parser("lineage", help="where each register value of a person came from, and what it replaced",
                        **kw)
    ln.add_argument("aac002", metavar="AAC002", help="the person's 18-character citizen ID")
    ln.add_argument("field", nargs="?", type=register_field, help="only this field, e.g. AAC003 or LIFE_STATUS")
    ln.set_defaults(func=cmd_lineage)
