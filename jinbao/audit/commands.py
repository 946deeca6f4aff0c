"""`jinbao report deaths --month YYYY-MM`: the auditors' death-mismatch report of one month.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

import sys

from jinbao.console import year_month
from jinbao.settings import load_settings


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


def add_commands(sub, kw) -> None:
    rp = sub.add_parser("report", help="reports for auditors", **kw)
    rs = rp.add_subparsers(dest="report", required=True, metavar="REPORT")
    rd = rs.add_parser("deaths", help="death records against the pension roll: paid after death, sources that "
                       "disagree, deaths not deregistered, identity mismatches, probable typos", **kw)
    rd.add_argument("--month", type=year_month, required=True, help="the report month, YYYY-MM (deaths up to its "
                    "end, payments for months up to it)")
    rd.add_argument("--tolerance-days", type=int, default=3, help="death dates further apart than this disagree")
    rd.add_argument("--full-ids", action="store_true", help="also write a separate workbook with unmasked IDs "
                    "(kept on the hub; the export is recorded)")
    rd.add_argument("--who", help="who asks for the unmasked IDs (required with --full-ids)")
    rp.set_defaults(func=cmd_report)
