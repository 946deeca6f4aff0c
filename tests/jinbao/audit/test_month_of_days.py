"""A month of generated days run one after another, the report at the end (issue 22, defect 7: the
report failed after a few ordinary days on a person the register held no name or division for).

Every day of November 2026 is generated and run with `jinbao run all`, as a hub fed daily would be;
then `jinbao report deaths` for November writes every file, and each table obeys its own definition
and agrees with the others (consistency.check).  SQLite only: the PostgreSQL path of the same
report runs in test_planted_report.py over fewer days.
"""
from __future__ import annotations

import datetime as dt

import pytest

from jinbao.generator import generate
from tests.jinbao.audit import consistency

FIRST = dt.date(2026, 11, 1)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(30)]


@pytest.fixture(scope="module")
def month_run(tmp_path_factory):
    from jinbao.cli import main
    from tests.conftest import home_on

    with home_on("sqlite", tmp_path_factory.mktemp("month")) as home:
        for on in DAYS:
            generate(home, on, people=8000, since=FIRST)
            assert main(["run", "all"]) in (0, 2), on       # 2: a batch held or refused, as on real days
        yield home


def test_a_month_of_daily_runs_then_the_report(month_run, capsys):
    from jinbao.audit.deaths import find
    from jinbao.cli import main
    from jinbao.store.database import connect

    assert main(["report", "deaths", "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "stop payment" in out.lower()
    folder = month_run.reports / "deaths" / "2026-11"
    assert (folder / "deaths-2026-11.html").is_file() and (folder / "deaths-2026-11.xlsx").is_file()
    with connect(month_run.store_url).connect() as conn:
        for month in (dt.date(2026, 10, 1), dt.date(2026, 11, 1)):
            report = find(conn, month, 3)
            consistency.check(report)
    assert report.table("stop_payment").num_rows > 0 and report.table("paid_after_death").num_rows > 0
    assert report.table("probable_typo").num_rows > 0 and report.table("unplaced").num_rows > 0
