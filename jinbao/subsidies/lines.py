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

Everything is a handful of statements over whole columns: the touched people's
enrolments, divisions and assistance periods are read by joining their IDs (a temporary table
beyond a few thousand), the lines computed with pandas; new lines go in by COPY on PostgreSQL
(a million enrolments are three million lines), changed ones by executemany.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import assistance, register, resident_enrollment, subsidy_difference, subsidy_line
from jinbao.store import scratch
from jinbao.subsidies import standards

log = logging.getLogger(__name__)

ARREARS, PAID = "arrears", "paid"
#: IDs in one IN (...) list, well under every backend's limit on bound parameters; more go into SCOPE.
ID_CHUNK = 5_000
#: The temporary table of the people a recompute or a payments check is about.
SCOPE = "subsidy_scope"
#: Rows per executemany round trip.
WRITE_CHUNK = 5_000
KEY = ["aac002", "subsidy_year", "subsidy_level"]
COMPUTED = ["aab301", "household_division", "division_source", "category", "amount_due"]


@dataclass(frozen=True)
class Recomputed:
    people: int        # people with an enrolment among those touched
    new: int           # lines created (in arrears)
    changed: int       # unclaimed lines whose division, category or amount changed
    differences: int   # claimed or paid lines the hub would now compute otherwise (opened or updated)
    resolved: int      # differences that agree again


def _in_chunks(conn: Connection, stmt_for, ids) -> pd.DataFrame:
    """stmt_for(ids) run once (ids None: unrestricted), as one frame.  Up to ID_CHUNK IDs go in the
    statement as an IN list; more go into a temporary table first (COPY on PostgreSQL) and the
    statement takes them as a subquery: a million enrolments are one join, not two hundred
    statements whose IN lists SQLAlchemy renders value by value."""
    if ids is not None and len(ids) > ID_CHUNK:
        unique = pc.unique(pa.array(ids, pa.string()))
        scope = scratch.create(conn, SCOPE, sa.Column("aac002", sa.String(18)), key="aac002")
        scratch.fill(conn, scope, pa.table({"aac002": unique}))
        try:
            return _frame(conn.execute(stmt_for(sa.select(scope.c.aac002))))
        finally:
            scratch.drop(conn, SCOPE)
    return _frame(conn.execute(stmt_for(ids)))


def _frame(res) -> pd.DataFrame:
    """The result as a frame from plain tuples: pandas probes each SQLAlchemy Row for attributes it does not
    have (namedtuple fields), which cost 11 s of 16 for 300,000 lines."""
    return pd.DataFrame([tuple(r) for r in res.fetchall()], columns=list(res.keys()))


def _where(column, chunk):
    return sa.true() if chunk is None else column.in_(chunk)


def desired(conn: Connection, ids: list[str] | None) -> pd.DataFrame:
    """The lines the hub owes for these people (None: everyone enrolled) as the store stands now."""
    e, r, a = resident_enrollment, register, assistance
    enrol = _in_chunks(conn, lambda c: sa.select(
        e.c.aac002, e.c.enrollment_year.label("subsidy_year"), e.c.paid_date.label("enrolled_on"),
        e.c.batch_id.label("enrollment_batch"), r.c.aab301.label("register_division"))
        .select_from(e.outerjoin(r, r.c.aac002 == e.c.aac002)).where(_where(e.c.aac002, c)), ids)
    cols = KEY + COMPUTED + ["enrolled_on", "enrollment_batch"]
    if enrol.empty:
        return pd.DataFrame(columns=cols)
    people = sorted(enrol["aac002"].unique())
    periods = _in_chunks(conn, lambda c: sa.select(a.c.aac002, a.c.assistance_category, a.c.start_date,
                                                   a.c.end_date).where(_where(a.c.aac002, c)), people)
    known = enrol["register_division"].notna() & (enrol["register_division"].astype(str).str.len() == 6)
    enrol["household_division"] = np.where(known, enrol["register_division"], enrol["aac002"].str[:6])
    enrol["division_source"] = np.where(known, "register", "id")
    enrol["category"] = _categories(enrol, periods)
    table = standards.load().to_pandas()
    lines = enrol.merge(table, on=["subsidy_year", "category"], how="inner")     # levels 1, 2, 3
    missing = sorted(set(enrol["subsidy_year"]) - set(table["subsidy_year"]))
    if missing:
        log.warning("subsidies: no standards for year(s) %s (schemas/subsidy_standards.yaml); their enrolments "
                    "have no lines until the year is declared", ", ".join(missing))
    hd = lines["household_division"].astype(str)
    lines["aab301"] = np.select([lines["subsidy_level"] == "1", lines["subsidy_level"] == "2"],
                                [hd.str[:2] + "0000", hd.str[:4] + "00"], hd)
    lines["amount_due"] = lines["amount"]
    return lines[cols].reset_index(drop=True)


def _categories(enrol: pd.DataFrame, periods: pd.DataFrame) -> pd.Series:
    """Per enrolment, the category in force on 1 January of its year (the highest standard wins)."""
    out = pd.Series(standards.ORDINARY, index=enrol.index, dtype=object)
    if periods.empty:
        return out
    rank = standards.rank()
    m = enrol.reset_index().merge(periods, on="aac002")
    jan1 = pd.to_datetime(m["subsidy_year"] + "-01-01")
    start, end = pd.to_datetime(m["start_date"]), pd.to_datetime(m["end_date"])
    m = m[(start <= jan1) & (end.isna() | (end >= jan1))].copy()
    if m.empty:
        return out
    m["rank"] = [rank.get(k, 99) for k in zip(m["subsidy_year"], m["assistance_category"])]
    best = m.sort_values(["index", "rank"]).drop_duplicates("index")
    best = best[best["rank"] < 99]
    out.loc[best["index"].to_numpy()] = best["assistance_category"].to_numpy()
    return out


def _existing(conn: Connection, ids: list[str] | None) -> pd.DataFrame:
    s = subsidy_line
    return _in_chunks(conn, lambda c: sa.select(
        *[s.c[k] for k in KEY + COMPUTED], s.c.status, s.c.first_claim_seq).where(_where(s.c.aac002, c)), ids)


def _open_differences(conn: Connection, ids: list[str] | None) -> pd.DataFrame:
    d = subsidy_difference
    return _in_chunks(conn, lambda c: sa.select(d.c.aac002, d.c.subsidy_year, d.c.subsidy_level, d.c.resolved_at)
                      .where(_where(d.c.aac002, c)), ids)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    return a.astype(str) == b.astype(str)


def recompute(conn: Connection, ids: list[str] | None, batch_id: int | None, stamp: dt.datetime) -> Recomputed:
    """Bring the lines of these people (None: everyone enrolled) in line with the store, inside the
    caller's transaction: new lines in arrears, unclaimed ones updated, claimed ones get a difference."""
    want = desired(conn, ids)
    if want.empty:
        return Recomputed(0, 0, 0, 0, 0)
    scope = sorted(want["aac002"].unique())
    have = _existing(conn, scope)
    if have.empty:
        have = pd.DataFrame(columns=KEY + COMPUTED + ["status", "first_claim_seq"])
    both = want.merge(have, on=KEY, how="left", suffixes=("", "_held"), indicator=True)
    new = both[both["_merge"] == "left_only"]
    held = both[both["_merge"] == "both"]
    differs = ~(_same(held["aab301"], held["aab301_held"]) & _same(held["category"], held["category_held"])
                & (held["amount_due"].map(Decimal) == held["amount_due_held"].map(Decimal)))
    frozen = held["first_claim_seq"].notna() | (held["status"] != ARREARS)
    update = held[differs & ~frozen]
    differ = held[differs & frozen]
    agree = held[~differs & frozen]
    _insert_lines(conn, new, batch_id, stamp)
    _update_lines(conn, update, batch_id, stamp)
    opened = _record_differences(conn, differ, batch_id, stamp, scope)
    resolved = _resolve_differences(conn, agree, stamp, scope)
    return Recomputed(len(scope), len(new), len(update), opened, resolved)


def _rows(frame: pd.DataFrame, columns: list[str], **fixed) -> list[dict]:
    out = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    for r in out:
        r.update(fixed)
    return out


def _executemany(conn: Connection, stmt, rows: list[dict]) -> None:
    for start in range(0, len(rows), WRITE_CHUNK):
        conn.execute(stmt, rows[start:start + WRITE_CHUNK])


def _by_key(table: sa.Table):
    return sa.and_(*[table.c[k] == sa.bindparam(f"k_{k}") for k in KEY])


def _keyed(rows: list[dict]) -> list[dict]:
    for r in rows:
        for k in KEY:
            r[f"k_{k}"] = r.pop(k)
    return rows


#: New lines as Arrow columns for a COPY (PostgreSQL); the other backends take the rows by executemany.
LINE_SCHEMA = pa.schema([(k, pa.string()) for k in KEY + COMPUTED[:-1]] + [
    ("amount_due", standards.AMOUNT), ("enrolled_on", pa.date32()), ("enrollment_batch", pa.int64())])


def _insert_lines(conn: Connection, new: pd.DataFrame, batch_id, stamp) -> None:
    if new.empty:
        return
    if conn.dialect.name == "postgresql":
        data = pa.Table.from_pandas(new[LINE_SCHEMA.names], schema=LINE_SCHEMA, preserve_index=False)
        n = data.num_rows
        utc = np.datetime64(stamp.astimezone(dt.timezone.utc).replace(tzinfo=None), "us")
        data = (data.append_column("status", pa.array(np.full(n, ARREARS), pa.string()))
                .append_column("computed_batch", pa.nulls(n, pa.int64()) if batch_id is None
                               else pa.array(np.full(n, batch_id, dtype=np.int64)))
                .append_column("computed_at", pa.array(np.full(n, utc), pa.timestamp("us", tz="UTC"))))
        scratch.load(conn, subsidy_line, data)
        return
    rows = _rows(new, KEY + COMPUTED + ["enrolled_on", "enrollment_batch"], status=ARREARS,
                 computed_batch=batch_id, computed_at=stamp)
    _executemany(conn, sa.insert(subsidy_line), rows)


def _update_lines(conn: Connection, changed: pd.DataFrame, batch_id, stamp) -> None:
    if changed.empty:
        return
    s = subsidy_line
    stmt = (sa.update(s).where(_by_key(s), s.c.status == ARREARS, s.c.first_claim_seq.is_(None))
            .values({c: sa.bindparam(f"v_{c}") for c in COMPUTED}))
    rows = _keyed(_rows(changed, KEY + COMPUTED))
    for r in rows:
        for c in COMPUTED:
            r[f"v_{c}"] = r.pop(c)
    _executemany(conn, stmt.values(computed_batch=batch_id, computed_at=stamp), rows)


def _record_differences(conn: Connection, differ: pd.DataFrame, batch_id, stamp, scope) -> int:
    if differ.empty:
        return 0
    d = subsidy_difference
    known = _open_differences(conn, scope)
    keys = set(map(tuple, known[KEY].to_numpy())) if not known.empty else set()
    present = np.array([tuple(k) in keys for k in differ[KEY].to_numpy()], dtype=bool)
    frame = differ.assign(line_aab301=differ["aab301_held"], line_category=differ["category_held"],
                          line_amount=differ["amount_due_held"])
    cols = ["aab301", "category", "amount_due"]
    fresh = _rows(frame[~present], KEY + cols + ["line_aab301", "line_category", "line_amount"],
                  batch_id=batch_id, first_seen=stamp, last_seen=stamp, resolved_at=None)
    _executemany(conn, sa.insert(d), fresh)
    again = _keyed(_rows(frame[present], KEY + cols + ["line_aab301", "line_category", "line_amount"]))
    for r in again:
        for c in cols + ["line_aab301", "line_category", "line_amount"]:
            r[f"v_{c}"] = r.pop(c)
    stmt = sa.update(d).where(_by_key(d)).values(
        {c: sa.bindparam(f"v_{c}") for c in cols + ["line_aab301", "line_category", "line_amount"]})
    _executemany(conn, stmt.values(batch_id=batch_id, last_seen=stamp, resolved_at=None), again)
    return len(differ)


def _resolve_differences(conn: Connection, agree: pd.DataFrame, stamp, scope) -> int:
    if agree.empty:
        return 0
    d = subsidy_difference
    known = _open_differences(conn, scope)
    if known.empty:
        return 0
    open_keys = known[known["resolved_at"].isna()][KEY]
    hits = agree[KEY].merge(open_keys, on=KEY)
    if hits.empty:
        return 0
    _executemany(conn, sa.update(d).where(_by_key(d)).values(resolved_at=stamp), _keyed(_rows(hits, KEY)))
    return len(hits)


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
