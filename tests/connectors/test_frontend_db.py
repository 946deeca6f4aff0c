"""finance.subsidy_payment pulled from a real MariaDB database standing for finance's front-end
database (前置库), the hub's store on SQLite and PostgreSQL.

Rows are taken exactly once across runs, late rows with older arrival dates, a run SIGKILLed between
reading and publishing, and a rerun; they pass the same gate against the same subsidy lines, and the
receipts land in finance's receipt table by row ID.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.connectors.frontend_db import FrontendDbTransport
from jinbao.declarations import get_feed
from jinbao.engine import Engine
from jinbao.store.database import connect, forget_connections
from tests.deliveries import COUNTIES, _person, enrollment_row, write_hrss

FEED = "finance.subsidy_payment_frontend"
DAY = dt.date(2026, 11, 22)


def _frontend(url: str) -> sa.Engine:
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE subsidy_payment (ID BIGINT AUTO_INCREMENT PRIMARY KEY, "
                             "SFZH VARCHAR(18), XZQH VARCHAR(6), BTJB VARCHAR(1), BTND VARCHAR(4), "
                             "BTJE VARCHAR(16), DZRQ VARCHAR(8)) CHARACTER SET utf8mb4")
    return eng


def _append(fe: sa.Engine, people, amount: str = "80.00", dzrq: str = "20261121") -> None:
    rows = [{"SFZH": _person(i)[0], "XZQH": COUNTIES[i % len(COUNTIES)], "BTJB": "3", "BTND": "2026",
             "BTJE": amount, "DZRQ": dzrq} for i in people]
    with fe.begin() as conn:
        conn.execute(sa.text("INSERT INTO subsidy_payment (SFZH, XZQH, BTJB, BTND, BTJE, DZRQ) VALUES "
                             "(:SFZH, :XZQH, :BTJB, :BTND, :BTJE, :DZRQ)"), rows)


def _run(cfg, url: str):
    transport = FrontendDbTransport("finance", cfg, url, "subsidy_payment", clock=lambda: DAY)
    return Engine(get_feed(FEED, cfg), cfg, transport=transport).run()


def _store(cfg, sql: str):
    with connect(cfg.store_url).connect() as conn:
        return conn.execute(sa.text(sql)).all()


def test_rows_are_taken_exactly_once_even_killed_between_reading_and_publishing(home, mariadb_url):
    cfg = home
    fe = _frontend(mariadb_url)
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", [enrollment_row(i) for i in range(40)])
    assert main(["run", "hrss.resident_enrollment"]) == 0

    _append(fe, range(10))
    (first,) = _run(cfg, mariadb_url)
    assert (first.status, first.received, first.accepted, first.rejected, first.published) == \
        ("published", 10, 10, 0, 10)
    assert _store(cfg, "select last_id, rows_taken from frontend_watermark") == [(10, 10)]

    # late rows with an older arrival date, one line paid again, one short-paid: by ID, not by date
    _append(fe, range(10, 20), dzrq="20261101")
    _append(fe, [0])
    _append(fe, [20], amount="70.00")
    (second,) = _run(cfg, mariadb_url)
    assert (second.status, second.received, second.accepted, second.rejected) == ("published", 12, 10, 2)
    assert _run(cfg, mariadb_url) == []                                  # nothing new: nothing taken
    with fe.connect() as conn:
        answers = dict(conn.execute(sa.text("select ROW_ID, concat(ZT, ':', coalesce(YYDM, '')) "
                                            "from subsidy_payment_receipt")).all())
    assert len(answers) == 22
    assert answers[21] == "rejected:SUBSIDY_ALREADY_PAID" and answers[22] == "rejected:SUBSIDY_WRONG_AMOUNT"
    assert {answers[i] for i in range(1, 21)} == {"accepted:"}

    # a run killed after reading and judging, before publishing; then a row arrives; then a rerun
    _append(fe, range(21, 26))
    env = {**os.environ, "JINBAO_HOME": str(cfg.home), "JINBAO_STORE_URL": cfg.store_url}
    script = (
        "import datetime as dt, os, signal\n"
        "from jinbao.connectors.frontend_db import FrontendDbTransport\n"
        "from jinbao.declarations import get_feed\nfrom jinbao.engine import Engine\n"
        "from jinbao.settings import load_settings\n"
        "cfg = load_settings()\n"
        f"t = FrontendDbTransport('finance', cfg, {mariadb_url!r}, 'subsidy_payment', clock=lambda: dt.date(2026, 11, 22))\n"
        f"eng = Engine(get_feed({FEED!r}, cfg), cfg, transport=t)\n"
        "(b,) = eng.receive()\neng.judge(b)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=os.getcwd(), capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    forget_connections()
    assert _store(cfg, f"select status from batch where feed = '{FEED}' order by id")[-1] == ("judged",)
    assert _store(cfg, "select last_id, rows_taken from frontend_watermark") == [(22, 22)]   # nothing recorded
    _append(fe, [26])
    resumed = _run(cfg, mariadb_url)                      # the killed batch resumes; no new pull meanwhile
    assert [(o.status, o.received, o.published) for o in resumed] == [("published", 5, 5)]
    (last,) = _run(cfg, mariadb_url)                      # then the row that arrived meanwhile, alone
    assert (last.status, last.received, last.published) == ("published", 1, 1)

    taken = _store(cfg, f"select row_id, count(*) from frontend_row where feed = '{FEED}' group by row_id")
    assert sorted(r[0] for r in taken) == list(range(1, 29)) and {r[1] for r in taken} == {1}
    assert _store(cfg, "select last_id, rows_taken from frontend_watermark") == [(28, 28)]
    assert _store(cfg, "select count(*) from subsidy_line where status = 'paid'") == [(26,)]
    for b in _store(cfg, f"select received, accepted, rejected, published from batch where feed = '{FEED}'"):
        assert b[0] == b[1] + b[2] and b[1] == b[3]
    fe.dispose()
