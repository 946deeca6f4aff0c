"""The store's migration and idempotent upserts on SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from importlib import resources

import sqlalchemy as sa

from jinbao.schemas.store_tables import death_record, metadata
from jinbao.store.database import shipped_head, upgrade
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


def test_the_shipped_head_is_alembics():
    """`upgrade`'s cheap check reads the version files itself; it must find the head Alembic finds."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("jinbao.schemas.migrations")))
    assert shipped_head() == ScriptDirectory.from_config(cfg).get_current_head()


def test_a_store_behind_the_head_is_migrated_and_one_at_head_is_checked_without_alembic(store_url):
    eng = upgrade(store_url)
    with eng.begin() as conn:                    # as if the newest migration were not applied yet
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0010'"))
        conn.execute(sa.text("DROP INDEX ix_subsidy_line_aab301"))
        conn.execute(sa.text("CREATE INDEX ix_subsidy_line_status_aab301 ON subsidy_line (status, aab301)"))
    upgrade(store_url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == shipped_head()
        assert {i["name"] for i in sa.inspect(conn).get_indexes("subsidy_line")} == {"ix_subsidy_line_aab301"}
    eng.dispose()
    probe = ("import sys; from jinbao.store.database import upgrade; upgrade(sys.argv[1]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))")
    out = subprocess.run([sys.executable, "-c", probe, store_url], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
