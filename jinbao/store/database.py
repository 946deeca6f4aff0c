"""Connections to the shared store and its migrations.

One SQLAlchemy engine per URL per process (cached): a connection pool is
expensive and the hub's steps run many short transactions against one store.
Migrations ship inside the package (importlib.resources), so an installed hub
can bring any empty database to the newest schema.
"""
from __future__ import annotations

import fcntl
import functools
import logging
import re
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from jinbao.settings import load_setting

log = logging.getLogger(__name__)
#: pg_advisory_xact_lock key for migrations ("jinbao" in ASCII).
MIGRATION_LOCK_KEY = 0x6A696E62616F


@functools.lru_cache(maxsize=8)
def _connect(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = sa.create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)

        @sa.event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
        return eng
    # hide_parameters: a failed statement must never print citizen IDs into logs.
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def connect(url: str) -> Engine:
    """The store at `url` (an embedded SQLite file's folder is created on first use)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return _connect(url)


def forget_connections() -> None:
    """Drop cached pools (tests that drop a database afterwards)."""
    _connect.cache_clear()


def alembic_config(conn: Connection):
    """Alembic's configuration for migrating over `conn`: the shipped environment (env.py) and the
    migrations in JINBAO_MIGRATIONS_DIR (the shipped ones unless a test or `jinbao db revision` in a
    copy points elsewhere)."""
    from alembic.config import Config  # alembic (~100 ms) only when migrating: connect() alone does not pay

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("jinbao.schemas.migrations")))
    cfg.set_main_option("path_separator", "os")            # a folder with a space in its name stays one
    cfg.set_main_option("version_locations", str(migrations_dir()))
    cfg.attributes["connection"] = conn
    return cfg


def migrations_dir() -> Path:
    """The folder of the store's migrations (JINBAO_MIGRATIONS_DIR, or the shipped one)."""
    return Path(load_setting("migrations_dir"))


@contextmanager
def _migration_lock(conn: Connection, url: str):
    """One migrating process at a time: two first runs on an empty store would both create it.
    PostgreSQL and MariaDB lock in the server (held by this transaction or session); SQLite, a
    file beside the database."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        yield
    elif dialect in ("mysql", "mariadb"):
        conn.execute(sa.text("SELECT GET_LOCK('jinbao_migrate', 300)"))
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK('jinbao_migrate')"))
    else:
        path = url.removeprefix("sqlite:///") + ".migrate.lock" if url.startswith("sqlite:///") else None
        if path is None:                       # in-memory: one process by definition
            yield
            return
        with open(path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield


_ASSIGNED = re.compile(r"^(revision|down_revision|branch_labels|depends_on)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)
_QUOTED = re.compile(r"""^(['"])([^'"]+)\1$""")


def shipped_head() -> str | None:
    """The newest migration (of `migrations_dir()`), read from the version files' own lines without
    Alembic (which takes ~150 ms to import and scan, against a few ms here); None whenever the files are
    anything but one plain chain (a merge, a branch label, a dependency, an assignment not a plain
    string), so that `upgrade` then asks Alembic."""
    folder = migrations_dir()
    names = tuple(sorted(f.name for f in folder.iterdir() if f.name.endswith(".py") and not f.name.startswith("_")))
    return _head(str(folder), names)       # cached by the files' names: a new revision is seen at once


@functools.lru_cache(maxsize=8)
def _head(folder: str, names: tuple[str, ...]) -> str | None:
    revisions, downs = set(), set()
    for name in names:
        f = Path(folder) / name
        found = dict(_ASSIGNED.findall(f.read_text(encoding="utf-8")))
        rev = _QUOTED.match(found.get("revision", ""))
        down = found.get("down_revision")
        if rev is None or down is None or found.get("branch_labels") != "None" \
                or found.get("depends_on") != "None":
            return None
        revisions.add(rev.group(2))
        if down != "None":
            quoted = _QUOTED.match(down)
            if quoted is None:
                return None
            downs.add(quoted.group(2))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 and downs <= revisions else None


def _at_head(eng: Engine) -> bool:
    """The store already at the shipped head: one look at `alembic_version`, no lock, no Alembic.
    A store being migrated meanwhile is not at head yet (its DDL is one transaction), so it takes
    the locked path below and waits for the migrating process."""
    head = shipped_head()
    if head is None:
        return False
    with eng.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions == [head]


def upgrade(url: str) -> Engine:
    """Bring the store to the newest migration (cheap when it is already there: `_at_head`)."""
    eng = connect(url)
    if _at_head(eng):
        return eng
    # alembic (~100 ms) only when the store may need migrating: connect() alone does not pay for it
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    # "Context impl SQLiteImpl." on every check is noise in every task log: silent unless migrating
    quiet = logging.getLogger("alembic.runtime.migration")
    was = quiet.disabled
    quiet.disabled = True
    try:
        with eng.begin() as conn, _migration_lock(conn, url):
            cfg = alembic_config(conn)
            head = ScriptDirectory.from_config(cfg).get_current_head()
            current = MigrationContext.configure(conn).get_current_revision()
            if current != head:
                quiet.disabled = was
                log.info("store at %s: migrating from %s to %s", eng.url.render_as_string(hide_password=True),
                         current, head)
                command.upgrade(cfg, "head")
    finally:
        quiet.disabled = was
    return eng
