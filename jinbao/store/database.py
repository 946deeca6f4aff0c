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
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

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


def _alembic_config(conn: Connection):
    from alembic.config import Config  # alembic (~100 ms) only when migrating: connect() alone does not pay

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("jinbao.schemas.migrations")))
    cfg.attributes["connection"] = conn
    return cfg


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


def upgrade(url: str) -> Engine:
    """Bring the store to the newest migration (cheap when it is already there)."""
    # alembic (~100 ms) only when migrating: connect() alone does not pay for it
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    eng = connect(url)
    # "Context impl SQLiteImpl." on every check is noise in every task log: silent unless migrating
    quiet = logging.getLogger("alembic.runtime.migration")
    was = quiet.disabled
    quiet.disabled = True
    try:
        with eng.begin() as conn, _migration_lock(conn, url):
            cfg = _alembic_config(conn)
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
