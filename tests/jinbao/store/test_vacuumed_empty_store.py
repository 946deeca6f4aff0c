"""A big first delivery into a store whose tables were vacuumed while empty (a new deployment after
autovacuum, a truncated table): PostgreSQL then knows they hold no rows, and a plan that scans such a
table looks free.  The publish merge and the register's insert of new people each fill the table they
look keys up in, so a scan there is re-read once per row: quadratic (20,000 rows 1.8 s, 100,000 about a
minute); so does the register's record of what an outranked feed says (source_value).  They must look
keys up by the index; the statement timeout makes a quadratic plan fail here."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from jinbao import ledger
from jinbao.ledger import Status
from jinbao.register.reconcile import Offered, reconcile
from jinbao.schemas.store_tables import person
from jinbao.store.database import upgrade
from jinbao.store.publish import publish_accepted, source_version
from tests.conftest import server_database
from jinbao.formats.citizen_id import with_check_char

N = 100_000
DAY = dt.date(2026, 11, 22)


def _identities(path, n: int):
    """n people as police.identity's accepted records, in file (not key) order."""
    ids = with_check_char(pa.array([f"110105{(i * 7919) % n:011d}" for i in range(n)]))
    pq.write_table(pa.table({"AAC002": ids, "AAC003": pa.array(["王伟"] * n), "AAA002": pa.array(["1"] * n),
                             "AAC006": pa.array([dt.date(1945, 3, 1)] * n, pa.date32()),
                             "AAB301": pa.array(["110105"] * n), "line_no": pa.array(range(2, n + 2), pa.int64())}),
                   path)
    return path


def test_a_big_first_delivery_into_vacuumed_empty_tables(tmp_path):
    path = _identities(tmp_path / "accepted.parquet", N)
    with server_database("PostgreSQL") as url:
        db = upgrade(url)
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE person, register")
        stamp = ledger.now()
        with db.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = '20s'")
            batch_id = ledger.insert(conn, feed="police.identity", file_name="police.identity_20261122_000001.csv",
                                     sha256="0" * 64, sequence=1, business_date=DAY, encoding="GB18030",
                                     status=Status.PUBLISHED, published_at=stamp)
            assert publish_accepted(conn, person, path, batch_id, stamp, {"source_feed": "police.identity"},
                                    source_version(DAY, 1)) == N
            done = reconcile(conn, path, Offered("police.identity", batch_id, DAY, 1, stamp))
        assert (done.people, done.new) == (N, N)
        # an outranked feed's first batch: what it says is kept per person and field (source_value)
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE source_value")
        with db.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = '20s'")
            roll = ledger.insert(conn, feed="hrss.pension_roll", file_name="hrss.pension_roll_20261122_000001.csv",
                                 sha256="1" * 64, sequence=1, business_date=DAY, encoding="UTF-8",
                                 status=Status.PUBLISHED, published_at=stamp)
            reconcile(conn, path, Offered("hrss.pension_roll", roll, DAY, 1, stamp))
        with db.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM person")).scalar_one() == N
            assert conn.execute(sa.text("SELECT count(*) FROM register")).scalar_one() == N
            assert conn.execute(sa.text("SELECT count(*) FROM source_value")).scalar_one() == 4 * N
