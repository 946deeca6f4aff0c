"""`jinbao purge [--dry-run]`: delete the files whose declared retention ran out (schemas/retention.yaml),
clear the stored rejection values whose receipt went out, and say per kind what went: count, bytes,
oldest, the retention applied.  The daily `jinbao.purge` DAG runs the same (jinbao/purge.py).

Exit codes: 0 done (or, with --dry-run, nothing changed); 1 an error (the retention declaration is
malformed, the store unreachable) or some file could not be deleted (named, with what to do); 2 done,
but a feed's run held its lock and its staging waits for the next purge.

Imports inside functions: cmd_purge imports the purge when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it.
"""
from __future__ import annotations

from jinbao.console import local_minute, print_table
from jinbao.settings import load_settings


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cmd_purge(args) -> int:
    from jinbao.purge import purge
    from jinbao.release import os_user

    cfg = load_settings()
    done = purge(cfg, dry_run=args.dry_run, who=f"jinbao purge ({os_user()})")
    verb = "would delete" if done.dry_run else "deleted"
    print(f"purge as of {local_minute(done.at)} (China Standard Time){' — dry run, nothing changed' if done.dry_run else ''}:")
    print_table([("kind", verb, "size", "oldest", "retention")]
                + [(kind, str(k.count), _size(k.bytes), local_minute(k.oldest)[:10] if k.oldest else "-",
                    f"{k.retention.days} days") for kind, k in done.kinds.items()], right={1, 2, 4})
    print(f"stored rejection values {'to clear' if done.dry_run else 'cleared'} (receipt sent): {done.masked}")
    for problem in done.failed:
        print(f"not deleted: {problem}")
    if done.failed:
        print("Fix the permissions (the hub's user must own JINBAO_HOME), then run `jinbao purge` again; what "
              "was deleted is recorded in the exchange log.")
        return 1
    if done.busy:
        print(f"left for the next purge (a run held its lock): staging of {', '.join(done.busy)}")
        return 2
    return 0


def add_commands(sub, kw) -> None:
    p = sub.add_parser("purge", help="delete files whose declared retention ran out (schemas/retention.yaml); "
                       "exit 1 on an error, 2 when a running feed's staging was left for next time", **kw)
    p.add_argument("--dry-run", action="store_true", help="say what would go, per kind, and change nothing")
    p.set_defaults(func=cmd_purge)
