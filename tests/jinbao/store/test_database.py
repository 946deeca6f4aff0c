"""The store's migration and idempotent upserts on SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from jinbao.schemas.store_tables import death_record, metadata
from jinbao.store.database import upgrade
from jinbao.store.publish import upsert

NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.timezone.utc)


def _death(aac002: str, name: str) -> dict:
    return {"aac002": aac002, "source_feed": "police.death", "aac003": name, "aac060": dt.date(2026, 11, 1),
            "id_upgraded": False, "updated_at": NOW}


def _exercise(url: str) -> None:
    eng = upgrade(url)
    assert set(metadata.tables) <= set(sa.inspect(eng).get_table_names())
    upgrade(url)  # second run is a no-op
    with eng.begin() as conn:
        assert upsert(conn, death_record, [_death("11010519491231002X", "张三")]) == 1
        upsert(conn, death_record, [_death("11010519491231002X", "张叁"), _death("110105194912310037", "李四")])
        rows = conn.execute(sa.select(death_record.c.aac002, death_record.c.aac003)
                            .order_by(death_record.c.aac002)).all()
    assert sorted(tuple(r) for r in rows) == [("11010519491231002X", "张叁"), ("110105194912310037", "李四")]
    with eng.begin() as conn:
        upsert(conn, death_record, [_death("11010519491231002X", "王五")], update=False)
        assert conn.execute(sa.select(death_record.c.aac003).where(
            death_record.c.aac002 == "11010519491231002X")).scalar() == "张叁"


def test_store_on_sqlite_and_postgresql(store_url):
    _exercise(store_url)


def test_store_on_mariadb(mariadb_url):
    _exercise(mariadb_url)


def test_alembic_model_and_migration_agree(store_url):
    """A model change without a migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    eng = upgrade(store_url)
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
