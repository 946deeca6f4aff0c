"""Finding the death mismatches of a report month in the store: set-based queries, then Arrow.

The register's life status decides who is dead (a withdrawn death is not a
death); `death_record` keeps what each source says; `pension_payment` is the
roll as the bureau delivered it through the gate.  The store does the joins
and sums; amounts are summed as whole fen (integers) so SQLite, which has no
decimal type, gives the same exact totals as PostgreSQL and MariaDB.

A report for month M looks at deaths dated up to the end of M and payments
for months up to M.  Paid after death means paid for a month after the month
of death: a payment for the month of death itself is due, so a roll that
stops in the month after the death has overpaid nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.audit import findings
from jinbao.audit.findings import month_end
from jinbao.ledger import now
from jinbao.register.authority import DECEASED, authority
from jinbao.schemas.store_tables import death_record, pension_payment, register, source_value

WITHDRAWN = "2"
DEATH_REASON = "1"


def _first_day(conn: Connection, col):
    """First day of the month of a date column, on every backend."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("month", col), sa.Date)
    if dialect == "sqlite":
        return sa.func.date(col, "start of month")
    return sa.func.str_to_date(sa.func.date_format(col, "%Y-%m-01"), "%Y-%m-%d")


def _fen(amount):
    """An amount as whole fen, exactly, in SQL (SQLite keeps NUMERIC as a float)."""
    return sa.cast(sa.func.round(amount * 100), sa.BigInteger)


def _frame(conn: Connection, query) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _dates(values) -> pa.Array:
    return pa.array([None if v is None or pd.isna(v) else
                     (v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])) for v in values], pa.date32())


def _yuan(fen) -> pa.Array:
    return pa.array([None if f is None or pd.isna(f) else Decimal(int(f)) / 100 for f in fen], findings.YUAN)


def active_deaths(conn: Connection) -> pd.DataFrame:
    """Every death source's record, with whether it reports a death now (not withdrawn; police only
    with deregistration reason 1)."""
    dr = death_record.c
    frame = _frame(conn, sa.select(dr.aac002, dr.source_feed, dr.aac003, dr.aaa002, dr.aac060, dr.dereg_reason,
                                   dr.death_action, dr.batch_id, dr.line_no))
    withdrawn = frame["death_action"].fillna("1") == WITHDRAWN
    reports = ~withdrawn & (frame["dereg_reason"].isna() | (frame["dereg_reason"] == DEATH_REASON))
    rank = {f: i for i, f in enumerate(authority().deaths)}
    return frame.assign(withdrawn=withdrawn, reports=reports,
                        rank=frame["source_feed"].map(rank).fillna(len(rank)).astype(int))


def _sources(deaths: pd.DataFrame) -> pd.Series:
    """Per person: the feeds that report the death now, most trusted first."""
    active = deaths[deaths["reports"]].sort_values(["aac002", "rank"])
    return active.groupby("aac002")["source_feed"].agg(", ".join)


def paid_after_death(conn: Connection, month: dt.date, sources: pd.Series) -> pa.Table:
    r, pp = register.c, pension_payment.c
    death_month = _first_day(conn, r.life_status_date)
    q = (sa.select(r.aac002, r.aac003.label("name"), r.aab301.label("division"), r.life_status_date.label("death_date"),
                   sa.func.count().label("months_paid_after"), sa.func.sum(_fen(pp.amount)).label("fen"),
                   sa.func.max(pp.month).label("last_month_paid"))
         .join_from(register, pension_payment, pp.aac002 == r.aac002)
         .where(r.life_status == DECEASED, r.life_status_date <= month_end(month), pp.month > death_month,
                pp.month <= month)
         .group_by(r.aac002, r.aac003, r.aab301, r.life_status_date)
         .order_by(r.aab301, r.aac002))
    frame = _frame(conn, q)
    return pa.table({
        "aac002": pa.array(frame["aac002"].tolist(), pa.string()), "name": pa.array(frame["name"].tolist(), pa.string()),
        "division": pa.array(frame["division"].tolist(), pa.string()), "death_date": _dates(frame["death_date"]),
        "sources": pa.array([sources.get(p) for p in frame["aac002"]], pa.string()),
        "months_paid_after": pa.array(frame["months_paid_after"].astype(int).tolist(), pa.int32()),
        "overpaid": _yuan(frame["fen"]), "last_month_paid": _dates(frame["last_month_paid"])},
        schema=findings.PAID_AFTER_DEATH)


def sources_disagree(deaths: pd.DataFrame, people: pd.DataFrame, month: dt.date, tolerance_days: int) -> pa.Table:
    """Dates more than `tolerance_days` apart among the sources reporting a death now, and deaths
    withdrawn by one source while another still reports them."""
    end = pd.Timestamp(month_end(month))
    d = deaths.assign(date=pd.to_datetime(deaths["aac060"]))
    d = d[d["date"] <= end]
    active = d[d["reports"]]
    by_source = active.pivot_table(index="aac002", columns="source_feed", values="date", aggfunc="max")
    span = (active.groupby("aac002")["date"].max() - active.groupby("aac002")["date"].min()).dt.days
    differ = set(span[span > tolerance_days].index)
    withdrawn = d[d["withdrawn"]].groupby("aac002")["source_feed"].agg(lambda s: ", ".join(sorted(s)))
    still = active.sort_values("rank").groupby("aac002")["source_feed"].agg(", ".join)
    both = set(withdrawn.index) & set(still.index)
    rows = []
    names = people.set_index("aac002")
    feeds = authority().deaths
    for kind, who in (("dates differ", sorted(differ)), ("withdrawn but still reported", sorted(both))):
        for p in who:
            dates = by_source.loc[p] if p in by_source.index else pd.Series(dtype="datetime64[ns]")
            rows.append({"aac002": p, "name": names["name"].get(p), "division": names["division"].get(p), "kind": kind,
                         **{col: _day(dates.get(feed)) for col, feed in zip(("police_date", "health_date",
                                                                              "cremation_date"), feeds)},
                         "spread_days": int(span.get(p, 0)), "withdrawn_by": withdrawn.get(p),
                         "still_reported_by": still.get(p)})
    return pa.Table.from_pylist(rows, schema=findings.SOURCES_DISAGREE)


def _day(value):
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def not_deregistered(conn: Connection, deaths: pd.DataFrame, people: pd.DataFrame, month: dt.date,
                     sources: pd.Series) -> pa.Table:
    """Deaths known to health or civil affairs with no police deregistration, still paid in the latest
    roll month up to M."""
    police = authority().deaths[0]
    pp = pension_payment.c
    latest = conn.execute(sa.select(sa.func.max(pp.month)).where(pp.month <= month)).scalar()
    if latest is None:
        return findings.NOT_DEREGISTERED.empty_table()
    on_roll = set(conn.execute(sa.select(pp.aac002).where(pp.month == latest)).scalars())
    d = deaths[pd.to_datetime(deaths["aac060"]) <= pd.Timestamp(month_end(month))]
    deregistered = set(d[(d["source_feed"] == police) & d["reports"]]["aac002"])
    others = d[(d["source_feed"] != police) & d["reports"]]
    who = sorted(set(others["aac002"]) - deregistered & on_roll)
    first = others.sort_values("rank").drop_duplicates("aac002").set_index("aac002")["aac060"]
    names = people.set_index("aac002")
    return pa.Table.from_pylist([{"aac002": p, "name": names["name"].get(p), "division": names["division"].get(p),
                                  "death_date": _day(first.get(p)), "sources": sources.get(p),
                                  "last_month_paid": latest} for p in who], schema=findings.NOT_DEREGISTERED)


def identity_mismatch(deaths: pd.DataFrame, people: pd.DataFrame, month: dt.date) -> pa.Table:
    """Death records naming a person the register holds with another name or gender, or a person only
    the death sources know (no other feed set any field of theirs)."""
    d = deaths[pd.to_datetime(deaths["aac060"]) <= pd.Timestamp(month_end(month))]
    m = d.merge(people, on="aac002", how="left")
    known = m["known"].fillna(False).astype(bool)
    name_differs = known & m["aac003"].notna() & m["name"].notna() & (m["aac003"] != m["name"])
    gender_differs = known & m["aaa002"].isin(["1", "2"]) & m["gender"].isin(["1", "2"]) & (m["aaa002"] != m["gender"])
    rows = []
    for kind, mask in (("unknown ID", ~known), ("name differs", name_differs), ("gender differs", gender_differs)):
        for r in m[mask].sort_values(["aac002", "source_feed"]).itertuples():
            rows.append({"aac002": r.aac002, "source_feed": r.source_feed, "kind": kind, "name_reported": r.aac003,
                         "name_registered": None if pd.isna(r.name) else r.name,
                         "gender_reported": r.aaa002, "gender_registered": None if pd.isna(r.gender) else r.gender,
                         "death_date": _day(r.aac060), "batch_id": None if pd.isna(r.batch_id) else int(r.batch_id),
                         "line_no": None if pd.isna(r.line_no) else int(r.line_no)})
    return pa.Table.from_pylist(rows, schema=findings.IDENTITY_MISMATCH)


def register_people(conn: Connection) -> pd.DataFrame:
    """Name, gender and division in force for everyone a death source names, and whether any feed
    other than the death sources ever told the hub about them."""
    r = register.c
    feeds = authority().deaths
    outside = sa.or_(*[sa.and_(r[f"{f}_source"].is_not(None), r[f"{f}_source"].not_in(feeds))
                       for f in ("aac003", "aaa002", "aab301", "aac006", "aac005", "aab998")])
    named = sa.select(death_record.c.aac002).distinct()
    frame = _frame(conn, sa.select(r.aac002, r.aac003.label("name"), r.aaa002.label("gender"),
                                   r.aab301.label("division"), sa.case((outside, True), else_=False).label("known"))
                   .where(r.aac002.in_(named)))
    on_roll = set(conn.execute(sa.select(pension_payment.c.aac002).distinct()
                               .where(pension_payment.c.aac002.in_(named))).scalars())
    # a feed outranked by a death feed on every field still knows the person: what it said is kept
    told = set(conn.execute(sa.select(source_value.c.aac002).distinct()
                            .where(source_value.c.aac002.in_(named), source_value.c.source_feed.not_in(feeds)))
               .scalars())
    frame["known"] = frame["known"].astype(bool) | frame["aac002"].isin(on_roll | told)
    return frame


def find(conn: Connection, month: dt.date, tolerance_days: int = 3) -> findings.Report:
    """Findings 1-4 for report month `month` (any day of it); kind 5 is added by the caller (typos.py)."""
    month = month.replace(day=1)
    deaths = active_deaths(conn)
    people = register_people(conn)
    sources = _sources(deaths)
    report = findings.Report(month=month, generated_at=now(), tolerance_days=tolerance_days)
    report.tables = {
        "paid_after_death": paid_after_death(conn, month, sources),
        "sources_disagree": sources_disagree(deaths, people, month, tolerance_days),
        "not_deregistered": not_deregistered(conn, deaths, people, month, sources),
        "identity_mismatch": identity_mismatch(deaths, people, month),
    }
    return report
