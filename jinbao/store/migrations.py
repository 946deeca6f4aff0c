"""The store's migrations against the tables the hub defines: the next migration generated from them
(`jinbao db revision`), what differs between them and the migration head (`jinbao db check`), and
whether a feed's target table exists at the head (`missing_at_head`, for the static checks of a feed).

A declared table (schemas/declared_tables.py) is a migration nobody writes by hand: Alembic's
autogenerate compares the tables with a scratch SQLite store brought to the migration head and
writes what is missing as the next numbered file (`0011_<message>.py`) in JINBAO_MIGRATIONS_DIR,
for a person to review and commit.  The same comparison, with nothing written, answers "does the
head make every table the hub publishes into?", which `jinbao run` would otherwise only learn from
the database's error in the middle of a publish.
"""
from __future__ import annotations

import functools
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jinbao.schemas.store_tables import BROKEN, metadata
from jinbao.store.database import alembic_config, migrations_dir, upgrade

#: A migration file's name: four digits, then the message's words (0010_rejected_payment.py).
_NUMBERED = re.compile(r"^(\d{4})_\w*\.py$")


class MigrationError(ValueError):
    """No migration to write (nothing differs), a bad message or a malformed table declaration; the text
    says what to do."""


@contextmanager
def _store_at_head(url: str | None):
    """A store at the migration head: `url` brought there (`jinbao db upgrade`), or a scratch SQLite
    file of its own (not the cached connections of jinbao.store.database: it is thrown away)."""
    if url:
        yield upgrade(url)
        return
    with tempfile.TemporaryDirectory(prefix="jinbao-scratch-") as folder:
        eng = sa.create_engine(f"sqlite:///{folder}/scratch.db")
        try:
            with eng.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
            yield eng
        finally:
            eng.dispose()


def _refuse_broken() -> None:
    """With a declaration set aside, its table is missing from the metadata and Alembic would take it for
    dropped: nothing is compared until it is fixed."""
    if BROKEN:
        raise MigrationError("fix the table declaration(s) first: " + "; ".join(BROKEN.values()))


def _diff(eng) -> list:
    _refuse_broken()
    with eng.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def _said(op) -> str:
    """One difference as an operator reads it: what the tables have that the migrations do not make."""
    if isinstance(op, list):                          # modify_* of one column, as Alembic groups them
        kind, _, table, column = op[0][:4]
        return f"column {table}.{column}: {kind.removeprefix('modify_')} {op[0][-2]!r} at the head, {op[0][-1]!r} in " \
               "the tables"
    kind = op[0]
    if kind == "add_table":
        return f"table {op[1].name}: in the tables, not made by any migration"
    if kind == "remove_table":
        return f"table {op[1].name}: made by the migrations, no longer in the tables"
    if kind in ("add_column", "remove_column"):
        where = "in the tables, not made by any migration" if kind == "add_column" else \
            "made by the migrations, no longer in the tables"
        return f"column {op[2]}.{op[3].name}: {where}"
    if kind in ("add_index", "remove_index"):
        index = op[1]
        where = "in the tables, not made by any migration" if kind == "add_index" else \
            "made by the migrations, no longer in the tables"
        return f"index {index.name} on {index.table.name} ({', '.join(c.name for c in index.columns)}): {where}"
    return f"{kind}: {op[1:]}"


def differences(url: str | None = None) -> list[str]:
    """What the tables the hub defines (hand-written and declared) have that the migration head does
    not make, or the reverse, one line each ([]: the migrations make exactly the tables).  `url`:
    compare with that store (brought to the head first) instead of a scratch SQLite one.  MigrationError
    while a table declaration is malformed."""
    _refuse_broken()
    with _store_at_head(url) as eng:
        return [_said(op) for op in _diff(eng)]


@functools.lru_cache(maxsize=4)
def _tables_at_head(folder: str, names: tuple[str, ...]) -> frozenset[str]:
    with _store_at_head(None) as eng, eng.connect() as conn:
        return frozenset(sa.inspect(conn).get_table_names())


def missing_at_head(table_names) -> list[str]:
    """The names in `table_names` that no migration creates (a scratch SQLite store brought to the
    migration head, JINBAO_MIGRATIONS_DIR); [] when every one exists.  For a feed's static check
    ("its target table exists at the migration head"): a table declared without its migration is
    found before a delivery is judged, not by the publish.  Costs one scratch migration (~0.3 s) per
    process and set of migration files; cached after."""
    folder = migrations_dir()
    names = tuple(sorted(p.name for p in folder.glob("*.py")))
    present = _tables_at_head(str(folder), names)
    return [t for t in table_names if t not in present]


def next_number(folder: Path) -> str:
    """The next migration's number: one more than the highest `NNNN_*.py` in `folder`, four digits."""
    numbers = [int(m[1]) for p in Path(folder).iterdir() if (m := _NUMBERED.match(p.name))]
    return f"{max(numbers, default=0) + 1:04d}"


def revision(message: str, url: str | None = None) -> Path:
    """Write the next migration, generated by Alembic from what the tables have and the migration head
    lacks, into JINBAO_MIGRATIONS_DIR as `NNNN_<message words>.py`; its path.  Refused when nothing
    differs (an empty migration is noise).  A person reviews and commits the file; `jinbao db upgrade`
    applies it."""
    if not re.search(r"\w", message or ""):
        raise MigrationError("the message says what the migration does, e.g. -m \"education student table\"")
    folder = migrations_dir()
    _refuse_broken()
    with _store_at_head(url) as eng:
        if not _diff(eng):
            raise MigrationError("nothing to generate: the migrations already make every table (declared in "
                                "schemas/tables/ or in schemas/store_tables.py); declare the table first")
        with eng.begin() as conn:
            script = command.revision(alembic_config(conn), message=message, autogenerate=True,
                                      rev_id=next_number(folder))
    return Path(script.path)
