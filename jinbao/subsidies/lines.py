"""Subsidy lines: one per enrolment and level, owed by the person's household division.

Why lines are computed here and not when finance's money arrives: the
bureaus that got this right knew at enrolment what every level owed and to
whom, so a claim is a query and a payment is a match.  A line's owing division
comes from the household-registration division the register holds
(`register.aab301`, set by the police and the feeds `schemas/register.yaml`
lets follow them); while the register has none, the address code of the ID
(the county where the police registered the person) stands in, and the line
says so (`division_source` = `id`).  The enrolling unit's division
(`resident_enrollment.unit_division`) is never read: a student who enrols
through a school in another county is owed by their own county.

A person's category for a year is the assistance category in force on
1 January (the highest standard if several), `00` otherwise; amounts come
from the yearly standards (standards.py).  Lines are recomputed for the
people a publish touched (hooks.py): before the line is first claimed a change
is applied; once claimed (or paid) the line keeps what was sent and the new
computation is recorded in `subsidy_difference`, resolved when the two agree
again, so nothing sent to finance changes silently.

Everything runs in the store, so no enrolment travels to Python: the lines are one
SELECT (enrolments joined to the register, the standards as a derived table of
literals, the category from one GROUP BY of the people's assistance periods), and
recomputing is INSERT ... SELECT and UPDATE ... FROM over it.  When none of the
touched people has a line yet (a new year's enrolment: a million enrolments, three
million lines) that SELECT is inserted straight into `subsidy_line`; otherwise it
is kept in a temporary table first, which the updates and differences join.
The people come as a query (the batch's rows joined to the enrolments), a list
of IDs, or None (everyone enrolled); beyond ID_CHUNK they go into a temporary table.
"""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import (BigId, UtcDateTime, assistance, register, resident_enrollment,
                                         subsidy_difference, subsidy_line)
from jinbao.store import scratch
from jinbao.subsidies import standards

log = logging.getLogger(__name__)

ARREARS, PAID = "arrears", "paid"
#: IDs in one IN (...) list, well under every backend's limit on bound parameters; more go into SCOPE.
ID_CHUNK = 5_000
#: The temporary table of the people a recompute is about.
SCOPE = "subsidy_scope"
#: The temporary table of the lines computed for people who had lines already (updates and differences join it).
WANT = "subsidy_want"
KEY = ["aac002", "subsidy_year", "subsidy_level"]
COMPUTED = ["aab301", "household_division", "division_source", "category", "amount_due"]
LINE = KEY + COMPUTED + ["enrolled_on", "enrollment_batch"]

#: Whose lines: a query of their IDs (one row each), a list of IDs, or None (everyone enrolled).
People = sa.Select | list[str] | None


@dataclass(frozen=True)
class Recomputed:
    people: int        # people with an enrolment among those touched
    new: int           # lines created (in arrears)
    changed: int       # unclaimed lines whose division, category or amount changed
    differences: int   # claimed or paid lines the hub would now compute otherwise (opened or updated)
    resolved: int      # differences that agree again


@contextmanager
def scoped(conn: Connection, people: People) -> Iterator[sa.Select | list[str] | None]:
    """The people as `column.in_()` takes them: None (no restriction), up to ID_CHUNK IDs as an IN list,
    otherwise a SELECT of the temporary table SCOPE, filled by the store from a query (no ID comes to
    Python) or in bulk from a longer list (COPY on PostgreSQL).  Many people (or everyone) are joined
    by hashing on PostgreSQL (`_hashing`)."""
    if people is None:
        with _hashing(conn):
            yield None
        return
    if not isinstance(people, sa.Select) and len(people) <= ID_CHUNK:
        yield people
        return
    scope = scratch.create(conn, SCOPE, sa.Column("aac002", sa.String(18)), key="aac002")
    try:
        if isinstance(people, sa.Select):
            conn.execute(sa.insert(scope).from_select(["aac002"], people))
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"ANALYZE {SCOPE}")
            # counted: an INSERT ... SELECT's rowcount is -1 through SQLAlchemy on PostgreSQL
            n = conn.execute(sa.select(sa.func.count()).select_from(scope)).scalar_one()
        else:
            n = scratch.fill(conn, scope, pa.table({"aac002": pc.unique(pa.array(people, pa.string()))}))
        if n > ID_CHUNK:
            with _hashing(conn):
                yield sa.select(scope.c.aac002)
        else:
            yield sa.select(scope.c.aac002)
    finally:
        scratch.drop(conn, SCOPE)


#: Tables the lines are computed from, which the publish this runs in may just have filled.
READ = ("resident_enrollment", "register", "assistance")


@contextmanager
def _hashing(conn: Connection) -> Iterator[None]:
    """PostgreSQL: no nested loops while many people's lines are computed.  Their enrolments and
    register rows were mostly written by the same transaction (the publish this runs in), so the
    planner's statistics still see those tables as they were, small or empty, and would join a
    million enrolments by nested loops (12 s instead of 3 for 200,000 enrolments).  The tables read
    are analyzed first (inside the transaction: its own statistics see its rows): planned on the old
    ones, a million enrolments met all fifteen standards before the category was known (15M rows)
    and were sorted on disk for a merge join.  The hash joins get room in memory."""
    if conn.dialect.name != "postgresql":
        yield
        return
    was = {k: conn.exec_driver_sql(f"SHOW {k}").scalar() for k in ("enable_nestloop", "work_mem")}
    conn.exec_driver_sql(f"ANALYZE {', '.join(READ)}")
    conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    yield                   # an error rolls the transaction back, and SET LOCAL with it
    for setting, value in was.items():
        conn.execute(sa.text("SELECT set_config(:setting, :value, true)"), {"setting": setting, "value": value})


def _where(column, scope):
    return sa.true() if scope is None else column.in_(scope)


def _standards(name: str) -> sa.Subquery | None:
    """The standards as a derived table of literals (five categories x three levels a year): the amount,
    the category's rank that year (0 the highest standard) and 1 January, the day the category is taken
    on.  None when no year is declared."""
    table, rank = standards.load(), standards.rank()
    rows = [sa.select(sa.literal(r["subsidy_year"], sa.String(4)).label("subsidy_year"),
                      sa.literal(r["category"], sa.String(2)).label("category"),
                      sa.literal(r["subsidy_level"], sa.String(1)).label("subsidy_level"),
                      sa.literal(r["amount"], subsidy_line.c.amount_due.type).label("amount"),
                      sa.literal(rank[(r["subsidy_year"], r["category"])], sa.Integer).label("rank"),
                      sa.literal(dt.date(int(r["subsidy_year"]), 1, 1), sa.Date).label("jan1"))
            for r in table.to_pylist()]
    return sa.union_all(*rows).subquery(name) if rows else None


def _in_force(scope) -> sa.Subquery:
    """Per person and declared year with an assistance period in force on 1 January: the best rank
    among the categories the year declares (0 the highest standard), one GROUP BY over the periods of
    the people in scope."""
    a, st = assistance, _standards("in_force")
    return (sa.select(a.c.aac002, st.c.subsidy_year, sa.func.min(st.c.rank).label("rank"))
            .select_from(a.join(st, sa.and_(st.c.category == a.c.assistance_category, st.c.subsidy_level == "1",
                                            a.c.start_date <= st.c.jan1,
                                            sa.or_(a.c.end_date.is_(None), a.c.end_date >= st.c.jan1))))
            .where(_where(a.c.aac002, scope)).group_by(a.c.aac002, st.c.subsidy_year).subquery("best"))


def _desired(scope) -> sa.Select | None:
    """The lines the hub owes for the people in scope as the store stands now, columns LINE; None when
    no year is declared."""
    e, r, st, named = resident_enrollment, register, _standards("standard"), _standards("named")
    if st is None:
        return None
    best = _in_force(scope)
    held = r.c.aab301
    known = sa.and_(held.is_not(None), sa.func.length(held) == 6)
    county = sa.case((known, held), else_=sa.func.substr(e.c.aac002, 1, 6, type_=sa.String(6)))
    source = sa.case((known, sa.literal("register", sa.String(16))), else_=sa.literal("id", sa.String(16)))
    category = sa.func.coalesce(named.c.category, sa.literal(standards.ORDINARY, sa.String(2)))
    owing = sa.case((st.c.subsidy_level == "1", sa.func.substr(county, 1, 2, type_=sa.String(6)) + "0000"),
                    (st.c.subsidy_level == "2", sa.func.substr(county, 1, 4, type_=sa.String(6)) + "00"),
                    else_=county)
    return (sa.select(e.c.aac002, e.c.enrollment_year, st.c.subsidy_level, owing, county, source, category,
                      st.c.amount, e.c.paid_date, e.c.batch_id)
            .select_from(e.outerjoin(r, r.c.aac002 == e.c.aac002)
                         .outerjoin(best, sa.and_(best.c.aac002 == e.c.aac002,
                                                  best.c.subsidy_year == e.c.enrollment_year))
                         .outerjoin(named, sa.and_(named.c.subsidy_year == best.c.subsidy_year,
                                                   named.c.rank == best.c.rank, named.c.subsidy_level == "1"))
                         .join(st, sa.and_(st.c.subsidy_year == e.c.enrollment_year, st.c.category == category)))
            .where(_where(e.c.aac002, scope)))


def _warn_undeclared(conn: Connection, scope) -> None:
    e = resident_enrollment
    declared = sorted(set(standards.load()["subsidy_year"].to_pylist()))
    missing = sorted(y for (y,) in conn.execute(sa.select(e.c.enrollment_year).distinct().where(
        _where(e.c.aac002, scope), e.c.enrollment_year.not_in(declared))))
    if missing:
        log.warning("subsidies: no standards for year(s) %s (schemas/subsidy_standards.yaml); their enrolments "
                    "have no lines until the year is declared", ", ".join(missing))


def _stamps(batch_id, stamp: dt.datetime) -> dict:
    return {"computed_batch": sa.literal(batch_id, BigId), "computed_at": sa.literal(stamp, UtcDateTime())}


def recompute(conn: Connection, people: People, batch_id: int | None, stamp: dt.datetime) -> Recomputed:
    """Bring the lines of these people (None: everyone enrolled) in line with the store, inside the
    caller's transaction: new lines in arrears, unclaimed ones updated, claimed ones get a difference."""
    if isinstance(people, list) and not people:
        return Recomputed(0, 0, 0, 0, 0)
    s = subsidy_line
    with scoped(conn, people) as scope:
        _warn_undeclared(conn, scope)
        desired_lines = _desired(scope)
        if desired_lines is None:
            return Recomputed(0, 0, 0, 0, 0)
        if conn.execute(sa.select(s.c.aac002).where(_where(s.c.aac002, scope)).limit(1)).first() is None:
            return _first_lines(conn, desired_lines, scope, batch_id, stamp)
        want = scratch.create(conn, WANT, *[s.c[c] for c in LINE], key=tuple(KEY))
        try:
            conn.execute(sa.insert(want).from_select(LINE, desired_lines))
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"ANALYZE {WANT}")
            return _against_held(conn, want, batch_id, stamp)
        finally:
            scratch.drop(conn, WANT)


def _first_lines(conn: Connection, desired_lines: sa.Select, scope, batch_id, stamp) -> Recomputed:
    """None of the people has a line yet: every line computed goes in, by one INSERT ... SELECT."""
    s, stamps = subsidy_line, _stamps(batch_id, stamp)
    rows = desired_lines.add_columns(sa.literal(ARREARS, s.c.status.type), *stamps.values())
    conn.execute(sa.insert(s).from_select(LINE + ["status", *stamps], rows))
    new, people = conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(s.c.aac002)))
                               .where(_where(s.c.aac002, scope))).one()
    return Recomputed(people, new, 0, 0, 0)


def _same_key(table: sa.Table, other: sa.Table):
    return sa.and_(*[table.c[k] == other.c[k] for k in KEY])


def _differs(line: sa.Table, want: sa.Table):
    """What finance is told differs: owing division, category or amount (the county and its source alone
    are not sent)."""
    return sa.or_(line.c.aab301 != want.c.aab301, line.c.category != want.c.category,
                  line.c.amount_due != want.c.amount_due)


def _agrees(line: sa.Table, want: sa.Table):
    return sa.and_(line.c.aab301 == want.c.aab301, line.c.category == want.c.category,
                   line.c.amount_due == want.c.amount_due)


def _frozen(line: sa.Table):
    """Claimed or paid: the line keeps what was sent."""
    return sa.or_(line.c.first_claim_seq.is_not(None), line.c.status != ARREARS)


def _against_held(conn: Connection, want: sa.Table, batch_id, stamp) -> Recomputed:
    """The lines computed (`want`) against those held: unclaimed ones that differ updated, claimed ones
    that differ get a difference (opened, or updated and reopened), claimed ones that agree resolve
    theirs, and the rest go in as new lines."""
    s, d = subsidy_line, subsidy_difference
    people = conn.execute(sa.select(sa.func.count(sa.distinct(want.c.aac002)))).scalar_one()
    if not people:
        return Recomputed(0, 0, 0, 0, 0)
    at = sa.literal(stamp, UtcDateTime())
    changed = conn.execute(sa.update(s).where(
        _same_key(s, want), s.c.status == ARREARS, s.c.first_claim_seq.is_(None), _differs(s, want))
        .values({**{c: want.c[c] for c in COMPUTED}, **_stamps(batch_id, stamp)})).rowcount
    seen = {"aab301": want.c.aab301, "category": want.c.category, "amount_due": want.c.amount_due,
            "line_aab301": s.c.aab301, "line_category": s.c.category, "line_amount": s.c.amount_due}
    reopened = conn.execute(sa.update(d).where(_same_key(d, want), _same_key(s, want), _frozen(s), _differs(s, want))
                            .values(**seen, batch_id=sa.literal(batch_id, BigId), last_seen=at,
                                    resolved_at=None)).rowcount
    recorded = sa.select(sa.literal(1)).select_from(d).where(_same_key(d, want)).exists()
    # counted before, not by rowcount: an INSERT ... SELECT's is -1 through SQLAlchemy on PostgreSQL
    opened = conn.execute(sa.select(sa.func.count()).select_from(want.join(s, _same_key(s, want)))
                          .where(_frozen(s), _differs(s, want), ~recorded)).scalar_one()
    conn.execute(sa.insert(d).from_select(
        KEY + list(seen) + ["batch_id", "first_seen", "last_seen"],
        sa.select(*[want.c[k] for k in KEY], *seen.values(), sa.literal(batch_id, BigId), at, at)
        .select_from(want.join(s, _same_key(s, want))).where(_frozen(s), _differs(s, want), ~recorded)))
    resolved = conn.execute(sa.update(d).where(_same_key(d, want), _same_key(s, want), _frozen(s), _agrees(s, want),
                                               d.c.resolved_at.is_(None)).values(resolved_at=at)).rowcount
    held = sa.select(sa.literal(1)).select_from(s).where(_same_key(s, want)).exists()
    stamps = _stamps(batch_id, stamp)
    rows = sa.select(*[want.c[c] for c in LINE], sa.literal(ARREARS, s.c.status.type), *stamps.values()) \
        .where(~held)
    new = conn.execute(sa.select(sa.func.count()).select_from(want).where(~held)).scalar_one()
    with scratch.filling_what_it_checks(conn, "subsidy_line", new):
        conn.execute(sa.insert(s).from_select(LINE + ["status", *stamps], rows))
    return Recomputed(people, new, changed, reopened + opened, resolved)


# ---------------------------------------------------------------------------------------- for claims
def _claimable(as_of: dt.date):
    s = subsidy_line
    return sa.and_(s.c.status == ARREARS, s.c.subsidy_year <= f"{as_of.year:04d}",
                   sa.or_(s.c.enrolled_on.is_(None), s.c.enrolled_on <= as_of))


def in_arrears(conn: Connection, as_of: dt.date) -> pa.Table:
    """The lines a claim to finance sends: still in arrears, of subsidy years up to `as_of`'s, whose
    personal contribution was paid on or before `as_of`.

    Columns (hub names): `AAC002`, `AAB301` (the owing division of the level), `subsidy_level`
    (`1` province, `2` city, `3` county), `subsidy_year` (`YYYY`), `amount_due` (decimal128(12, 2),
    exact); ordered by division, level, year and ID.  The claim feed marks what it actually sent by
    these keys, in the transaction that records the claim (jinbao/outbound/claims.py `mark_claimed`).
    """
    s = subsidy_line
    res = conn.execute(sa.select(s.c.aac002, s.c.aab301, s.c.subsidy_level, s.c.subsidy_year, s.c.amount_due)
                       .where(_claimable(as_of))
                       .order_by(s.c.aab301, s.c.subsidy_level, s.c.subsidy_year, s.c.aac002))
    rows = res.fetchall()
    cols = list(zip(*rows)) if rows else [[], [], [], [], []]
    return pa.table({"AAC002": pa.array(cols[0], pa.string()), "AAB301": pa.array(cols[1], pa.string()),
                     "subsidy_level": pa.array(cols[2], pa.string()),
                     "subsidy_year": pa.array(cols[3], pa.string()),
                     "amount_due": pa.array([Decimal(v) for v in cols[4]], standards.AMOUNT)})
