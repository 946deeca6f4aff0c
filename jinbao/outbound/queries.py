"""The named queries behind outbound feeds: the store's state as of a business date, in hub codes.

Each query is a few set operations in the store (window functions and aggregates that
SQLite, PostgreSQL and MariaDB all run), returning an Arrow table whose columns are
exactly those jinbao/outbound/catalog.py lists for it; the feed declaration loader has
already proved those lie inside the agreement.  Rows come back sorted, so the same
state gives the same bytes.

"As of" means what the store holds now about the periods up to the business date:
months after it are ignored, and a correction of an earlier month that arrived since is
taken (a re-run then sends different content, under a new sequence number).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.outbound.catalog import QUERIES
from jinbao.outbound.claims import lines_in_arrears
from jinbao.register.authority import authority
from jinbao.schemas.store_tables import contribution, employer_status, pension_payment, register

PAID, UNPAID = "1", "0"
#: How far back a person still counts as someone the bureau has contribution records for.
LOOKBACK_MONTHS = 12
#: "Insured" in the police agreement: a paid contribution in the last three months.
INSURED_MONTHS = 3


def month_start(on: dt.date) -> dt.date:
    return on.replace(day=1)


def months_before(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def last_complete_month(as_of: dt.date) -> dt.date:
    """The newest month that has ended by `as_of`: a month's contributions are due within it,
    so only then is an unpaid one in arrears."""
    ends = (as_of + dt.timedelta(days=1)).day == 1
    return month_start(as_of) if ends else months_before(month_start(as_of), 1)


def _fetch(conn: Connection, stmt, schema: pa.Schema) -> pa.Table:
    """The statement's rows as an Arrow table of `schema`, read in partitions (column-wise, no per-row work)."""
    parts = []
    for rows in conn.execute(stmt).partitions(200_000):
        columns = list(zip(*rows)) if rows else [[] for _ in schema]
        parts.append(pa.table([pa.array(c, f.type) for c, f in zip(columns, schema)], schema=schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _alive():
    return register.c.life_status == authority().default


def insured_status(conn: Connection, as_of: dt.date) -> pa.Table:
    """One row per living person with a contribution in the twelve months up to `as_of`'s month:
    name and gender as the register holds them, the employer of their newest contribution
    month (a paid row before an unpaid one), their last paid month and whether it is within
    the last three months."""
    c = contribution
    m0 = month_start(as_of)
    ranked = sa.select(
        c.c.aac002, c.c.aab998,
        sa.func.row_number().over(
            partition_by=c.c.aac002,
            order_by=(c.c.month.desc(), sa.case((c.c.paid_flag == PAID, 0), else_=1), c.c.aab998)).label("rank"),
    ).where(c.c.month <= m0, c.c.month >= months_before(m0, LOOKBACK_MONTHS - 1)).subquery()
    latest = sa.select(ranked.c.aac002, ranked.c.aab998).where(ranked.c.rank == 1).subquery()
    paid = (sa.select(c.c.aac002, sa.func.max(c.c.month).label("last_paid"))
            .where(c.c.month <= m0, c.c.paid_flag == PAID).group_by(c.c.aac002).subquery())
    stmt = (sa.select(latest.c.aac002, register.c.aac003, register.c.aaa002, latest.c.aab998, paid.c.last_paid)
            .join(register, register.c.aac002 == latest.c.aac002)
            .outerjoin(paid, paid.c.aac002 == latest.c.aac002)
            .where(_alive()).order_by(latest.c.aac002))
    got = _fetch(conn, stmt, pa.schema([("AAC002", pa.string()), ("AAC003", pa.string()), ("AAA002", pa.string()),
                                        ("AAB998", pa.string()), ("last_contribution_month", pa.date32())]))
    recent = pc.greater_equal(got["last_contribution_month"],
                              pa.scalar(months_before(m0, INSURED_MONTHS - 1), pa.date32()))
    flag = pc.if_else(pc.fill_null(recent, False), PAID, UNPAID)
    return got.append_column("insured_flag", flag).select(list(QUERIES["insured_status"]))


def contribution_status(conn: Connection, as_of: dt.date) -> pa.Table:
    """Every employer with contributions due and unpaid for months that have ended by `as_of`:
    its name (the central bank's own, newest report), insured headcount (people with a
    contribution due in the last complete month) and months in arrears; after each employer
    its staff with an unpaid month there, and whether they received a pension in the last
    three complete months."""
    c = contribution
    m_end = last_complete_month(as_of)
    unpaid = sa.and_(c.c.month <= m_end, c.c.paid_flag == UNPAID)
    arrears = (sa.select(c.c.aab998, sa.func.count(sa.distinct(c.c.month)).label("months"))
               .where(unpaid).group_by(c.c.aab998).subquery())
    headcount = (sa.select(c.c.aab998, sa.func.count(sa.distinct(c.c.aac002)).label("people"))
                 .where(c.c.month == m_end).group_by(c.c.aab998).subquery())
    e = employer_status
    named = sa.select(e.c.aab998, e.c.employer_name, sa.func.row_number().over(
        partition_by=e.c.aab998, order_by=e.c.report_quarter.desc()).label("rank")).subquery()
    employers = (sa.select(arrears.c.aab998, named.c.employer_name, sa.func.coalesce(headcount.c.people, 0),
                           arrears.c.months)
                 .outerjoin(headcount, headcount.c.aab998 == arrears.c.aab998)
                 .outerjoin(named, sa.and_(named.c.aab998 == arrears.c.aab998, named.c.rank == 1))
                 .order_by(arrears.c.aab998))
    rows = _fetch(conn, employers, pa.schema([("AAB998", pa.string()), ("employer_name", pa.string()),
                                              ("insured_headcount", pa.int64()), ("arrears_months", pa.int64())]))
    pensioned = (sa.select(sa.literal(1)).where(pension_payment.c.aac002 == c.c.aac002,
                                                pension_payment.c.month <= m_end,
                                                pension_payment.c.month >= months_before(m_end, 2))
                 .exists())
    staff = (sa.select(c.c.aab998, c.c.aac002, sa.case((pensioned, PAID), else_=UNPAID))
             .where(unpaid).group_by(c.c.aab998, c.c.aac002).order_by(c.c.aab998, c.c.aac002))
    people = _fetch(conn, staff, pa.schema([("AAB998", pa.string()), ("AAC002", pa.string()),
                                            ("benefit_flag", pa.string())]))
    return _employers_then_staff(rows, people)


def _employers_then_staff(employers: pa.Table, staff: pa.Table) -> pa.Table:
    """One table: each employer's row, then its staff rows (employer fields empty on a person's row,
    person fields empty on an employer's)."""
    n, m = employers.num_rows, staff.num_rows
    both = pa.concat_tables([
        employers.append_column("AAC002", pa.nulls(n, pa.string())).append_column("benefit_flag",
                                                                                   pa.nulls(n, pa.string()))
        .append_column("_kind", pa.array(np.zeros(n, np.int8))),
        pa.table({"AAB998": staff["AAB998"], "employer_name": pa.nulls(m, pa.string()),
                  "insured_headcount": pa.nulls(m, pa.int64()), "arrears_months": pa.nulls(m, pa.int64()),
                  "AAC002": staff["AAC002"], "benefit_flag": staff["benefit_flag"],
                  "_kind": pa.array(np.ones(m, np.int8))}),
    ])
    both = both.sort_by([("AAB998", "ascending"), ("_kind", "ascending"), ("AAC002", "ascending")])
    return both.select(list(QUERIES["contribution_status"]))


def subsidy_claim(conn: Connection, as_of: dt.date) -> pa.Table:
    return lines_in_arrears(conn, as_of).select(list(QUERIES["subsidy_claim"]))


RUNNERS: dict[str, Callable[[Connection, dt.date], pa.Table]] = {
    "insured_status": insured_status,
    "contribution_status": contribution_status,
    "subsidy_claim": subsidy_claim,
}
