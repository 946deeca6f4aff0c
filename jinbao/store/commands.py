"""`jinbao db upgrade | revision | check`: the shared store at the newest migration, the next migration
generated from the declared tables, and whether the migrations make exactly the tables the hub defines.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it (alembic, SQLAlchemy, the store's tables)."""
from __future__ import annotations

from jinbao.settings import load_settings


def cmd_db_upgrade(args) -> int:
    from jinbao.store.database import upgrade

    url = load_settings().store_url
    upgrade(url)
    print(f"store at the newest migration: {url}")
    return 0


def cmd_db_revision(args) -> int:
    from jinbao.store.migrations import revision

    path = revision(args.message, args.url)
    print(f"wrote {path}\n"
          "review it (the tables, columns, types and indexes it creates are what the declarations say), then "
          "`jinbao db upgrade` to apply it to the store and commit it with the declaration; `jinbao db check` "
          "says whether anything still differs")
    return 0


def cmd_db_check(args) -> int:
    from jinbao.store.migrations import differences

    found = differences(args.url)
    if not found:
        print("the migrations make exactly the tables the hub defines (schemas/store_tables.py and schemas/tables/)")
        return 0
    print("the tables the hub defines and the migration head differ:")
    for line in found:
        print(f"  {line}")
    print("a declared table without its migration: `jinbao db revision -m \"MESSAGE\"`, review and commit it")
    return 1


def add_commands(sub, kw) -> None:
    db = sub.add_parser("db", help="the shared store: upgrade it, generate a migration, check the migrations",
                        **kw)
    acts = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = acts.add_parser("upgrade", help="bring the store (JINBAO_STORE_URL) to the newest migration", **kw)
    up.set_defaults(func=cmd_db_upgrade)
    rev = acts.add_parser(
        "revision", help="write the next migration for the tables declared since the last one", **kw,
        description="Generate the next migration (Alembic autogenerate) from what the tables the hub defines "
                    "(schemas/tables/*.yaml and schemas/store_tables.py) have and the migration head lacks, "
                    "compared on a scratch SQLite store brought to the head.  Writes "
                    "NNNN_<message>.py into JINBAO_MIGRATIONS_DIR (schemas/migrations/versions/) and prints "
                    "its path; review it, apply it with `jinbao db upgrade` and commit it.  Refused when "
                    "nothing differs.")
    rev.add_argument("-m", "--message", required=True,
                     help="what the migration does, e.g. \"education student table\" (also the file's name)")
    rev.add_argument("--url", help="compare with this store instead of a scratch SQLite one (it is brought to "
                                   "the newest migration first), e.g. a scratch PostgreSQL database")
    rev.set_defaults(func=cmd_db_revision)
    chk = acts.add_parser(
        "check", help="do the migrations make exactly the tables the hub defines? (exit 1 naming what differs)",
        **kw, description="Compare the tables the hub defines with a scratch SQLite store brought to the "
                          "migration head (Alembic compare_metadata) and name each table, column or index that "
                          "differs; exit 1 when any does (fit for CI).")
    chk.add_argument("--url", help="compare with this store instead (it is brought to the newest migration first)")
    chk.set_defaults(func=cmd_db_check)
