"""`jinbao report deaths --month YYYY-MM`: the auditors' death-mismatch report of one month.

`--full-ids --purpose TEXT` adds the workbook with unmasked IDs for the person running the command, as
the hub's host authenticated them (their OS user): never a name typed in, so `--who` is refused.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

import argparse
import sys

from jinbao.console import year_month
from jinbao.settings import load_settings


def cmd_report(args) -> int:
    """The auditors' death-mismatch report of one month: files, hand-over, headline figures."""
    from jinbao.audit.report import headline, run
    from jinbao.audit.requester import ExportRefused, on_host

    if args.who is not None:
        print("error: --who is no longer accepted: a full-ID export is made for the person the hub authenticated, "
              "here your login on the hub's host (OS user); give --full-ids --purpose TEXT", file=sys.stderr)
        return 2
    if args.purpose is not None and not args.full_ids:
        print("error: --purpose goes with --full-ids (why the unmasked IDs are needed)", file=sys.stderr)
        return 2
    cfg = load_settings()
    try:
        written = run(cfg, args.month, args.tolerance_days, full_ids_for=on_host() if args.full_ids else None,
                      purpose=args.purpose)
    except ExportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(headline(written.report))
    for name, path in sorted(written.files.items()):
        print(f"{name:<24}{path}")
    print(f"{'handed over':<24}{written.handed_over}/")
    if written.full_ids:
        e = written.full_ids
        print(f"full IDs for {e.requester}, {e.people} people, recorded in the exchange log "
              f"(`jinbao log list --direction export`): {e.how_to_get(cfg.home)}")
    return 0


def add_commands(sub, kw) -> None:
    rp = sub.add_parser("report", help="reports for auditors", **kw)
    rs = rp.add_subparsers(dest="report", required=True, metavar="REPORT")
    rd = rs.add_parser("deaths", help="death records against the pension roll: paid after death, sources that "
                       "disagree, deaths not deregistered, identity mismatches, probable typos", **kw)
    rd.add_argument("--month", type=year_month, required=True, help="the report month, YYYY-MM (deaths up to its "
                    "end, payments for months up to it)")
    rd.add_argument("--tolerance-days", type=int, default=3, help="death dates further apart than this disagree")
    rd.add_argument("--full-ids", action="store_true", help="also write a workbook with unmasked IDs for you (your "
                    "OS login on the hub's host), sealed to your certificate in keys/auditors/ or kept on the hub; "
                    "the export is recorded in the exchange log")
    rd.add_argument("--purpose", help="why the unmasked IDs are needed (required with --full-ids, recorded)")
    rd.add_argument("--who", help=argparse.SUPPRESS)     # refused with a message: the login says who
    rp.set_defaults(func=cmd_report)
