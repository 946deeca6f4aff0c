"""`jinbao db upgrade`: the shared store at the newest migration.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

from jinbao.settings import load_settings


def cmd_db_upgrade(args) -> int:
    from jinbao.store.database import upgrade

    url = load_settings().store_url
    upgrade(url)
    print(f"store at the newest migration: {url}")
    return 0


def add_commands(sub, kw) -> None:
    db = sub.add_parser("db", help="the shared store", **kw)
    db.add_argument("action", choices=["upgrade"], help="upgrade: bring the store to the newest migration")
    db.set_defaults(func=cmd_db_upgrade)
