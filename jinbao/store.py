"""Access to the shared store: engines, migrations and idempotent upserts.

Upserts are dialect-native (ON CONFLICT / ON DUPLICATE KEY) so that re-running
a delivery can never create a second row for the same key, whatever the
backend.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from jinbao.config import settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "schemas" / "migrations"
#: Rows per executemany round trip when publishing.
CHUNK = 5_000


@functools.lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
        return eng
    return sa.create_engine(url, pool_pre_ping=True)


def engine(url: str | None = None) -> Engine:
    url = url or settings().store_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return _engine(url)


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(url: str | None = None) -> Engine:
    """Bring the store to the newest migration (cheap when it is already there)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    eng = engine(url)
    with eng.begin() as conn:
        cfg = _alembic_config(conn)
        head = ScriptDirectory.from_config(cfg).get_current_head()
        if MigrationContext.configure(conn).get_current_revision() != head:
            command.upgrade(cfg, "head")
    return eng


def upsert(conn: Connection, table: sa.Table, rows: Iterable[Mapping], update: bool = True) -> int:
    """Insert rows; on a key conflict update the non-key columns (or leave the row)."""
    rows = list(rows)
    if not rows:
        return 0
    dialect = conn.dialect.name
    keys = [c.name for c in table.primary_key.columns]
    cols = [c for c in rows[0].keys() if c not in keys]
    if dialect in ("postgresql", "sqlite"):
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        if update and cols:
            stmt = stmt.on_conflict_do_update(
                index_elements=keys, set_={c: stmt.excluded[c] for c in cols})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    elif dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as my_insert

        stmt = my_insert(table)
        target = cols if (update and cols) else keys[:1]
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in target})
    else:  # pragma: no cover - guarded by tests on the three supported backends
        raise NotImplementedError(f"upsert on {dialect}")
    for start in range(0, len(rows), CHUNK):
        conn.execute(stmt, rows[start:start + CHUNK])
    return len(rows)

