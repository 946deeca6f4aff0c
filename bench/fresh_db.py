"""A fresh PostgreSQL database for a benchmark run (dropped and made again), migrated by the caller."""
from __future__ import annotations


def database_url(admin: str, db: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + db


def fresh_database(admin: str, db: str) -> str:
    """Drop and create `db` on the server of `admin` (an AUTOCOMMIT URL to the postgres database); its URL."""
    import sqlalchemy as sa

    from jinbao.store.database import forget_connections

    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {db}")
    eng.dispose()
    forget_connections()
    return database_url(admin, db)


def drop_database(admin: str, db: str) -> None:
    """Drop `db` (a benchmark's database) when the run is over."""
    import sqlalchemy as sa

    from jinbao.store.database import forget_connections

    forget_connections()
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    eng.dispose()
