"""The metadata DB the `airflow dags test` tests copy (tests/airflow_env.py `migrated`) is the one
`airflow db migrate` makes in the test's own home: same schema, same rows but for when they were
written, and Airflow finds its migrations finished there."""
from __future__ import annotations

import sqlalchemy as sa

from tests.airflow_env import METADATA_DB, airflow, migrated
from tests.conftest import private_home


def _content(path) -> tuple[set[str], dict[str, list[tuple]]]:
    """(every schema statement, every table's rows without its timestamps) of a SQLite file."""
    meta = sa.create_engine(f"sqlite:///{path}")
    try:
        with meta.connect() as conn:
            schema = {r[0] for r in conn.exec_driver_sql("select sql from sqlite_master where sql is not null")}
            tables = sa.MetaData()
            tables.reflect(conn)
            rows = {}
            for t in tables.sorted_tables:
                kept = [c for c in t.c if not isinstance(c.type, (sa.DateTime, sa.TIMESTAMP))]
                rows[t.name] = sorted(tuple(str(v) for v in r) for r in conn.execute(sa.select(*kept)))
        return schema, rows
    finally:
        meta.dispose()


def test_a_copied_metadata_db_is_what_migrating_in_the_home_makes(tmp_path, monkeypatch):
    (tmp_path / "migrated").mkdir()
    (tmp_path / "copied").mkdir()
    by_migrate = private_home(tmp_path / "migrated", monkeypatch)
    done = airflow(by_migrate, "db", "migrate")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    by_copy = private_home(tmp_path / "copied", monkeypatch)
    migrated(by_copy)
    check = airflow(by_copy, "db", "check-migrations", "--migration-wait-timeout", "1")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    # two homes, each with its own secrets: nothing of a home went into the file
    assert (by_copy.home / "airflow" / "fernet_key").read_text() != (by_migrate.home / "airflow" / "fernet_key"
                                                                     ).read_text()
    schema, rows = _content(by_copy.home / METADATA_DB)
    assert (schema, rows) == _content(by_migrate.home / METADATA_DB)
    assert rows["alembic_version"] and rows["slot_pool"] and rows["log_template"]
