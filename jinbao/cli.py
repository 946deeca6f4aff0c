"""`jinbao`: the same pipelines as the Airflow DAGs, without a scheduler.

Each area registers its own commands beside the code they run (`add_commands(sub, kw)` in every
module of AREAS); this module only assembles the parser and runs `main`.  What the commands
share (argument types, local times, aligned tables) is jinbao/console.py.

Exit codes: 0 all good, 1 an error, 2 a batch was held or a delivery refused
(the run itself worked, but a person has something to look at).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from jinbao import (access_commands, batch_commands, demo, exchange_log_commands, feeds_commands, keys_commands,
                    privacy, purge_commands)
from jinbao.audit import commands as audit_commands
from jinbao.expected import commands as expected_commands
from jinbao.mappings import commands as mappings_commands
from jinbao.outbound import commands as outbound_commands
from jinbao.privacy import mask_text
from jinbao.quality import commands as quality_commands
from jinbao.register import commands as register_commands
from jinbao.store import commands as store_commands
from jinbao.subsidies import commands as subsidies_commands

#: Every area with commands, in the order `jinbao --help` lists them.
AREAS = (batch_commands, feeds_commands, demo, store_commands, mappings_commands, register_commands, audit_commands,
         keys_commands, quality_commands, outbound_commands, exchange_log_commands, subsidies_commands,
         expected_commands, purge_commands, access_commands)


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default only when it has one."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _version() -> str:
    try:
        return version("jinbao-exchange")
    except PackageNotFoundError:      # pragma: no cover - running from a checkout without install
        return "unknown"


class _Version(argparse.Action):
    """`--version`, read from the installed metadata only when asked (every other command would pay
    for reading it: about 10 ms of a small `jinbao run`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"jinbao {_version()}")
        parser.exit()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jinbao", description="Jinbao Exchange 金保交换: the cross-department "
                                "exchange hub. Settings come from JINBAO_* variables (see the README).",
                                formatter_class=_Help)
    p.add_argument("-v", "--verbose", action="store_true", help="log every step, and show tracebacks on errors")
    p.add_argument("--version", action=_Version, help="show program's version number and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kw = {"formatter_class": _Help}
    for area in AREAS:
        area.add_commands(sub, kw)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    privacy.install()
    try:
        return args.func(args)
    except BrokenPipeError:       # `jinbao batches list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a clear one-line error for operators; -v shows the trace
        if args.verbose:
            raise
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
