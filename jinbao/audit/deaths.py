"""Finding the death mismatches of a report month in the store: what the store says, read once, then
every kind as of the month (docs/audit.md, "What the report holds").

The store narrows what is read to the people a death source names (and the pensioners, for the typo
search); amounts are summed as whole fen (integers) so SQLite, which has no decimal type, gives the
same exact totals as PostgreSQL and MariaDB.  Who is dead is decided here from the death sources'
records as of the report month, not from the register's life status of today: a report for an
earlier month must not count a death dated after it, and the register's date in force may come
from a source whose date lies after the month while another source's lies within it.

A payment for the month of death itself is due: only months after it are overpaid.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.audit import findings
from jinbao.audit.findings import month_end
from jinbao.ledger import now
from jinbao.register.authority import DECEASED, authority
from jinbao.schemas.store_tables import (batch, death_record, pension_payment, register, rejected_death, rejection,
                                         source_value)
from jinbao.audit.evidence import rejected_roll_rows
from jinbao.audit.typos import probable_typos

WITHDRAWN = "2"
#: A police deregistration that is not a death, by the life status schemas/register.yaml gives its
#: reason (ZXYY), in the report's words.
NOT_A_DEATH = {"emigrated": "emigration", "duplicate": "duplicate registration", "deregistered": "other deregistration"}
TREND_MONTHS = 6
#: How many months back the store is read for the trend and the month-on-month comparison.
_LOOK_BACK = TREND_MONTHS - 1


def _fen(amount):
    """An amount as whole fen, exactly, in SQL (SQLite keeps NUMERIC as a float)."""
    return sa.cast(sa.func.round(amount * 100), sa.BigInteger)


def _frame(conn: Connection, query) -> pd.DataFrame:
    """The rows of `query` as a frame, taken from the driver's cursor as its tuples: no SQLAlchemy row
    object per row (the pensioners are a million rows).  The queries select no column whose type
    converts its result in Python (amounts are cast to fen in SQL; dates are read by `_dates`)."""
    result = conn.execute(query)
    columns = list(result.keys())
    return pd.DataFrame.from_records(result.cursor.fetchall(), columns=columns, nrows=None) if result.cursor \
        else pd.DataFrame(columns=columns)


@contextmanager
def _probing(conn: Connection):
    """PostgreSQL looks the named people (~100k) up in the roll's key one by one: its planner otherwise
    merges with the whole key (11M roll rows read to keep 650k; 2.7 s against 4.9 s at 1M pensioners).
    Other backends as they plan."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET enable_mergejoin = off")
    conn.exec_driver_sql("SET enable_hashjoin = off")
    try:
        yield
    finally:
        conn.exec_driver_sql("RESET enable_mergejoin")
        conn.exec_driver_sql("RESET enable_hashjoin")


def _copied(conn: Connection, query, schema: pa.Schema) -> pa.Table | None:
    """The rows of `query` (its columns named and typed as `schema`) moved by PostgreSQL's COPY as CSV
    and parsed by Arrow: a million pensioners' rows without a Python object per value.  None on
    another backend (the caller reads through the driver then)."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = conn.connection.driver_connection
    sink = bytearray()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for block in copy:
            sink += block
    if not sink:
        return schema.empty_table()
    # COPY writes NULL unquoted and an empty text quoted: only the former is null
    options = pcsv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False,
                                  true_values=["t"], false_values=["f"])
    return pcsv.read_csv(pa.py_buffer(bytes(sink)), pcsv.ReadOptions(column_names=schema.names),
                         convert_options=options).cast(schema)


def _read(conn: Connection, query, schema: pa.Schema) -> pd.DataFrame:
    """The rows of `query` as a frame, columns typed as `schema` (dates as datetime64[s], NaT for none):
    by COPY on PostgreSQL, else from the driver's tuples."""
    copied = _copied(conn, query, schema)
    dates = [f.name for f in schema if pa.types.is_date(f.type)]
    if copied is None:
        return _dates(_frame(conn, query), *dates)
    for name in dates:
        copied = copied.set_column(copied.schema.get_field_index(name), name, copied[name].cast(pa.timestamp("s")))
    return copied.to_pandas()


def _day(value) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Date columns as pandas datetimes (NaT for none), whatever the backend returned: dates, or ISO
    text (SQLite), converted for the whole column at once; value by value only if that fails."""
    for c in columns:
        try:
            whole = pd.to_datetime(frame[c].astype(object).where(frame[c].notna(), None), format="ISO8601")
            ok = not isinstance(whole.dtype, pd.DatetimeTZDtype)
        except (TypeError, ValueError):
            ok = False
        frame[c] = (whole.dt.normalize() if ok else pd.to_datetime(frame[c].map(_day))).astype("datetime64[s]")
    return frame


def _joined(frame: pd.DataFrame, keys: str | list[str], column: str, sep: str = ", ") -> pd.Series:
    """`column`'s values joined with `sep` per group of `keys`, in the frame's order, as pandas'
    groupby(keys)[column].agg(sep.join) gives them (sorted by the keys), by Arrow: pandas joins each
    of a province's hundred thousand groups in Python."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    frame = frame.dropna(subset=keys)
    if frame.empty:
        return frame.groupby(keys)[column].agg(sep.join)
    table = pa.Table.from_pandas(frame[keys + [column]], preserve_index=False)
    groups = table.group_by(keys, use_threads=False).aggregate([(column, "list")])   # in order of the rows
    lists = groups[f"{column}_list"]
    joined = pc.binary_join(lists, pa.scalar(sep, lists.type.value_type)).to_pandas()
    index = pd.MultiIndex.from_arrays([groups[k].to_pandas() for k in keys], names=keys) if len(keys) > 1 \
        else pd.Index(groups[keys[0]].to_pandas(), name=keys[0])
    return pd.Series(joined.to_numpy(), index=index, name=column).sort_index()


def _isin(values: pd.Series, among) -> pd.Series:
    """values.isin(among) by Arrow (a null is in nothing): pandas makes a Python list of `among` for
    Arrow-backed text first, a hundred thousand IDs at a time here."""
    among = list(among) if isinstance(among, (set, frozenset)) else among
    found = pc.is_in(pa.array(values, from_pandas=True, type=pa.string()),
                     value_set=pa.array(among, from_pandas=True, type=pa.string()), skip_nulls=True)
    return pd.Series(pc.fill_null(found, False).to_numpy(zero_copy_only=False), index=values.index)


def _months_before(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def _column(values: pd.Series, kind: pa.DataType, fen: bool) -> pa.Array:
    """One frame column as an Arrow array of `kind`, vectorised: NaN/NaT/None become nulls; `fen`:
    whole fen (integers) become exact yuan."""
    if fen:
        whole = pa.array(pd.Series(values, dtype="object").astype("Int64"), pa.int64(), from_pandas=True)
        return pc.multiply(whole.cast(pa.decimal128(19, 0)), pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))).cast(kind)
    if pa.types.is_date(kind):
        if pd.api.types.is_datetime64_any_dtype(values):
            return pa.array(values, from_pandas=True).cast(kind)
        return pa.array(values.map(_day), kind, from_pandas=True)
    if pa.types.is_integer(kind):
        return pa.array(pd.Series(values, dtype="object").astype("Int64"), kind, from_pandas=True)
    if pa.types.is_boolean(kind):
        return pa.array(values.astype("boolean"), kind, from_pandas=True)
    return pa.array(values.astype(object), kind, from_pandas=True)


def _table(frame: pd.DataFrame, schema: pa.Schema, yuan: tuple[str, ...] = ()) -> pa.Table:
    """A frame as a finding table of `schema` (columns by name; `yuan`: columns held as whole fen)."""
    frame = frame.reset_index(drop=True)
    return pa.table({f.name: _column(frame[f.name], f.type, f.name in yuan) if f.name in frame
                     else pa.nulls(len(frame), f.type) for f in schema}, schema=schema)


# --------------------------------------------------------------------------------------------------
# What the store says


@dataclass
class Store:
    """Everything the report reads, for the people the death sources name, up to the report month."""
    records: pd.DataFrame        # death_record with file_name, rank, reports, withdrawn
    people: pd.DataFrame         # register values of the named people, what non-death sources hold
    payments: pd.DataFrame       # aac002, month, fen: payments up to M of the named people
    roll_months: list            # every month up to M the store holds a payment for, ascending
    rejected: pd.DataFrame       # rejected death records with file_name and reasons
    rejected_roll: pd.DataFrame  # rejected roll rows: aac002 (as sent), month (NaT: did not parse)


def _rank(feeds: pd.Series) -> pd.Series:
    rank = {f: i for i, f in enumerate(authority().deaths)}
    return feeds.map(rank).fillna(len(rank)).astype(int)


def _records(conn: Connection) -> pd.DataFrame:
    dr, b = death_record.c, batch.c
    frame = _frame(conn, sa.select(dr.aac002, dr.source_feed, dr.aac003, dr.aaa002, dr.aab301, dr.aac060,
                                   dr.dereg_date, dr.dereg_reason, dr.death_action, dr.batch_id, dr.line_no,
                                   b.file_name).join_from(death_record, batch, b.id == dr.batch_id, isouter=True))
    frame = _dates(frame, "aac060", "dereg_date")
    withdrawn = frame["death_action"].fillna("1") == WITHDRAWN
    status = frame["dereg_reason"].map(authority().police_reasons)
    death = frame["dereg_reason"].isna() | (status == DECEASED)
    frame["not_a_death"] = status.map(NOT_A_DEATH)
    return frame.assign(withdrawn=withdrawn, death=death, reports=~withdrawn & death, rank=_rank(frame["source_feed"]))


def _people(conn: Connection, named, on_roll) -> pd.DataFrame:
    """Register values of the named people; the name and gender a non-death source holds (the value in
    force when a non-death feed set it, else the most trusted non-death feed's offer) and whether any
    non-death source knows the person at all (`on_roll`: the named people paid for any month)."""
    r, sv = register.c, source_value.c
    auth = authority()
    deaths = auth.deaths
    outside = sa.or_(*[sa.and_(r[f"{f}_source"].is_not(None), r[f"{f}_source"].not_in(deaths))
                       for f in ("aac003", "aaa002", "aab301", "aac006", "aac005", "aab998")])
    text = pa.string()
    frame = _read(conn, sa.select(r.aac002, r.aac003.label("name"), r.aaa002.label("gender"),
                                  r.aab301.label("division"), r.aac006.label("birth_date"),
                                  r.aac006_source.label("birth_source"), r.aac003_source, r.aaa002_source,
                                  sa.case((outside, True), else_=False).label("known"))
                  .where(r.aac002.in_(named)),
                  pa.schema([("aac002", text), ("name", text), ("gender", text), ("division", text),
                             ("birth_date", pa.date32()), ("birth_source", text), ("aac003_source", text),
                             ("aaa002_source", text), ("known", pa.bool_())]))
    offers = _read(conn, sa.select(sv.aac002, sv.field, sv.source_feed, sv.value)
                   .where(sv.aac002.in_(named), sv.source_feed.not_in(deaths)),
                   pa.schema([("aac002", text), ("field", text), ("source_feed", text), ("value", text)]))
    frame["known"] = frame["known"].astype(bool) | _isin(frame["aac002"], on_roll) | \
        _isin(frame["aac002"], offers["aac002"].unique())
    for field, column in (("aac003", "name"), ("aaa002", "gender")):
        held = frame[frame[f"{field}_source"].notna() & ~frame[f"{field}_source"].isin(deaths)]
        held = held[["aac002", column, f"{field}_source"]].set_axis(["aac002", "value", "source_feed"], axis=1)
        offered = offers[offers["field"] == field].drop(columns="field")
        offered = offered.assign(rank=offered["source_feed"].map(
            {f: auth.rank(field, f) for f in offered["source_feed"].unique()}))
        offered = offered.sort_values(["aac002", "rank"]).drop_duplicates("aac002")
        best = pd.concat([held.assign(rank=-1), offered]).sort_values(["aac002", "rank"]).drop_duplicates("aac002")
        best = best.set_index("aac002")
        frame[f"{column}_other"] = frame["aac002"].map(best["value"])
        frame[f"{column}_other_source"] = frame["aac002"].map(best["source_feed"])
    return frame


def _reasons(conn: Connection, batches) -> pd.Series:
    """The gate's reason codes per (batch, line), sorted, joined with ', '."""
    rj = rejection.c
    frame = _frame(conn, sa.select(rj.batch_id, rj.line_no, rj.reason_code).distinct()
                   .where(rj.batch_id.in_(batches)))
    if frame.empty:
        return pd.Series(dtype=object)
    return _joined(frame.sort_values("reason_code"), ["batch_id", "line_no"], "reason_code")


def _rejected(conn: Connection) -> pd.DataFrame:
    rd, b = rejected_death.c, batch.c
    frame = _frame(conn, sa.select(rd.id_sent, rd.source_feed, rd.aac003, rd.aaa002, rd.aac006, rd.aab301, rd.aac060,
                                   rd.batch_id, rd.line_no, b.file_name)
                   .join_from(rejected_death, batch, b.id == rd.batch_id).where(rd.id_sent.is_not(None)))
    frame = _dates(frame, "aac006", "aac060")
    reasons = _reasons(conn, sa.select(rd.batch_id).distinct())
    keys = pd.MultiIndex.from_arrays([frame["batch_id"], frame["line_no"]])
    frame["reasons"] = reasons.reindex(keys).to_numpy() if len(reasons) else None
    return frame


def _rejected_roll(conn: Connection, month: dt.date) -> pd.DataFrame:
    """Roll rows the gate rejected for months up to `month`, less those a later delivery brought in."""
    pp = pension_payment.c
    frame = _dates(rejected_roll_rows(conn, dt.date(1900, 1, 1), month).select(["aac002", "month"]).to_pandas(),
                   "month")
    if frame.empty:
        return frame
    since = _dates(_frame(conn, sa.select(pp.aac002, pp.month).where(pp.aac002.in_(set(frame["aac002"].dropna())))),
                   "month")
    accepted = frame.merge(since.assign(accepted=True), on=["aac002", "month"], how="left")["accepted"]
    return frame[~accepted.fillna(False).astype(bool).to_numpy()]


def read(conn: Connection, month: dt.date) -> Store:
    records = _records(conn)
    rejected = _rejected(conn)
    named = sa.union(sa.select(death_record.c.aac002), sa.select(rejected_death.c.id_sent)
                     .where(rejected_death.c.id_sent.is_not(None))).subquery()
    pp = pension_payment.c
    # every month's payments of the named, read once: a payment of any month makes a person known
    query = sa.select(pp.aac002, pp.month, _fen(pp.amount).label("fen")).where(pp.aac002.in_(sa.select(named.c[0])))
    with _probing(conn):
        payments = _read(conn, query, pa.schema([("aac002", pa.string()), ("month", pa.date32()), ("fen", pa.int64())]))
    people = _people(conn, sa.select(named.c[0]), payments["aac002"].unique())
    payments = payments[payments["month"] <= pd.Timestamp(month)].reset_index(drop=True)
    months = [_day(m) for m in conn.execute(sa.select(pp.month).distinct().where(pp.month <= month)
                                            .order_by(pp.month)).scalars()]
    return Store(records, people, payments, months, rejected, _rejected_roll(conn, month))


# --------------------------------------------------------------------------------------------------
# Who is dead, who is paid, as of one month


@dataclass
class AsOf:
    """The state of one month: the dead (one row each), the payments counted, the latest roll."""
    month: dt.date
    dead: pd.DataFrame           # aac002, death_date, earliest_date, latest_date, sources
    paid: pd.DataFrame           # the dead people's payments up to the month, with after_* flags
    latest: dt.date | None       # the latest roll month up to the month
    stop: pd.DataFrame           # dead and on the latest roll
    overpaid: pd.DataFrame       # per person paid after death: months and fen by each date
    roll_rejected: pd.Series     # per ID as sent: roll rows the gate rejected for months up to the month


def _month_start(dates: pd.Series) -> pd.Series:
    """The first day of each date's month (NaT stays NaT), in numpy: no Period object per row."""
    return pd.Series(dates.to_numpy().astype("datetime64[M]").astype(dates.dtype), index=dates.index)


def as_of(store: Store, month: dt.date) -> AsOf:
    end = pd.Timestamp(month_end(month))
    rec = store.records
    active = rec[rec["reports"] & (rec["aac060"] <= end)].sort_values(["aac002", "rank"])
    groups = active.groupby("aac002", sort=True)
    dead = pd.DataFrame({"death_date": groups["aac060"].first(), "earliest_date": groups["aac060"].min(),
                         "latest_date": groups["aac060"].max(),
                         "sources": _joined(active, "aac002", "source_feed")}).reset_index()
    pay = store.payments[store.payments["month"] <= pd.Timestamp(month)]
    paid = pay.merge(dead, on="aac002")
    for name, column in (("in_force", "death_date"), ("low", "latest_date"), ("high", "earliest_date")):
        paid[f"after_{name}"] = paid["month"] > _month_start(paid[column])
    latest = max((m for m in store.roll_months if m <= month), default=None)
    stop = dead.merge(pay[pay["month"] == pd.Timestamp(latest)] if latest else pay.iloc[:0], on="aac002") \
        if latest else dead.iloc[:0].assign(month=pd.NaT, fen=0)
    after = paid[paid["after_high"]]
    overpaid = after.assign(fen_in_force=after["fen"].where(after["after_in_force"], 0),
                            fen_low=after["fen"].where(after["after_low"], 0)).groupby("aac002").agg(
        months_paid_after=("after_in_force", "sum"), fen=("fen_in_force", "sum"), fen_low=("fen_low", "sum"),
        fen_high=("fen", "sum")).reset_index()
    last = pay.groupby("aac002")["month"].max().rename("last_month_paid").reset_index()
    overpaid = overpaid.merge(dead, on="aac002").merge(last, on="aac002")
    return AsOf(month, dead, paid, latest, stop, overpaid, _rejected_rows(store, month))


# --------------------------------------------------------------------------------------------------
# The kinds


def _named(frame: pd.DataFrame, store: Store) -> pd.DataFrame:
    """`frame` with the register's name, division (none when the register holds none)."""
    people = store.people.set_index("aac002")
    return frame.assign(name=frame["aac002"].map(people["name"]), division=frame["aac002"].map(people["division"]))


def _rejected_rows(store: Store, month: dt.date) -> pd.Series:
    """Per ID as sent: the roll rows the gate rejected for months up to `month` (or whose month it could
    not read)."""
    rr = store.rejected_roll
    counted = rr[rr["month"].isna() | (rr["month"] <= pd.Timestamp(month))]
    return counted.groupby("aac002").size()


def stop_payment(store: Store, state: AsOf) -> pa.Table:
    s = _named(state.stop, store).sort_values(["division", "aac002"], na_position="last")
    s = s.assign(last_month_paid=state.latest, roll_rows_rejected=s["aac002"].map(
        state.roll_rejected).fillna(0).astype(int))
    return _table(s.rename(columns={"fen": "monthly_amount"}), findings.STOP_PAYMENT, yuan=("monthly_amount",))


def paid_after_death(store: Store, state: AsOf) -> pa.Table:
    o = _named(state.overpaid, store).sort_values(["division", "aac002"], na_position="last")
    o = o.assign(roll_rows_rejected=o["aac002"].map(state.roll_rejected).fillna(0).astype(int))
    o = o.rename(columns={"fen": "overpaid", "fen_low": "overpaid_low", "fen_high": "overpaid_high"})
    return _table(o, findings.PAID_AFTER_DEATH, yuan=("overpaid", "overpaid_low", "overpaid_high"))


def overpaid_months(store: Store, state: AsOf) -> pa.Table:
    rows = state.paid[state.paid["after_high"]].sort_values(["aac002", "month"])
    rows = _named(rows, store).rename(columns={"fen": "amount", "after_in_force": "after_date_in_force"})
    return _table(rows, findings.OVERPAID_MONTHS, yuan=("amount",))


def _reported(rec: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    """What each record says now, in the report's words."""
    words = np.where(rec["withdrawn"], "withdrawn",
                     np.where(~rec["death"], rec["not_a_death"].fillna(NOT_A_DEATH["deregistered"]),
                              np.where(rec["aac060"] > end, "dated after the report month", "death")))
    return pd.Series(words, index=rec.index, dtype=object)


def death_evidence(store: Store, state: AsOf, people) -> pa.Table:
    rec = store.records[_isin(store.records["aac002"], people)].sort_values(["aac002", "rank"])
    rec = rec.assign(reported=_reported(rec, pd.Timestamp(month_end(state.month))), death_date=rec["aac060"])
    return _table(rec, findings.DEATH_EVIDENCE)


def sources_disagree(store: Store, state: AsOf, tolerance_days: int) -> pa.Table:
    """Active dates more than `tolerance_days` apart, and a record withdrawn while another is active."""
    end = pd.Timestamp(month_end(state.month))
    rec = store.records[store.records["aac060"] <= end]
    active = rec[rec["reports"]].sort_values(["aac002", "rank"])
    feeds = authority().deaths
    dates = active.pivot_table(index="aac002", columns="source_feed", values="aac060", aggfunc="max")
    dead = state.dead.set_index("aac002")
    spread = (dead["latest_date"] - dead["earliest_date"]).dt.days
    withdrawn = _joined(rec[rec["withdrawn"]].sort_values(["aac002", "source_feed"]), "aac002", "source_feed")
    parts = []
    for kind, who in (("dates differ", spread[spread > tolerance_days].index),
                      ("withdrawn but still reported", withdrawn.index.intersection(dead.index))):
        who = pd.Index(sorted(who))
        part = pd.DataFrame({"aac002": who, "kind": kind, "spread_days": spread.reindex(who).fillna(0).astype(int).values,
                             "withdrawn_by": withdrawn.reindex(who).values,
                             "still_reported_by": dead["sources"].reindex(who).values})
        for column, feed in zip(("police_date", "health_date", "cremation_date"), feeds):
            part[column] = dates[feed].reindex(who).values if feed in dates else pd.NaT
        parts.append(part)
    out = _named(pd.concat(parts, ignore_index=True), store)
    return _table(out, findings.SOURCES_DISAGREE)


def not_deregistered(store: Store, state: AsOf) -> pa.Table:
    police = authority().deaths[0]
    s = state.stop
    s = s[np.array([police not in feeds.split(", ") for feeds in s["sources"]], dtype=bool)]
    s = _named(s, store).sort_values("aac002").assign(last_month_paid=state.latest)
    return _table(s, findings.NOT_DEREGISTERED)


def rejected_deaths(store: Store, state: AsOf) -> pa.Table:
    """Rejected death records, dated up to the month, whose ID as sent is a pensioner's."""
    end = pd.Timestamp(month_end(state.month))
    pay = store.payments[store.payments["month"] <= pd.Timestamp(state.month)]
    rj = store.rejected[(store.rejected["aac060"] <= end) & _isin(store.rejected["id_sent"], pay["aac002"].unique())]
    if rj.empty:
        return findings.REJECTED_DEATH.empty_table()
    rj = rj.rename(columns={"id_sent": "aac002", "aac003": "name_reported", "aac060": "death_date"})
    rj = rj.assign(_row=np.arange(len(rj)))
    risk = rj[["_row", "aac002", "death_date"]].merge(pay, on="aac002")
    risk = risk[risk["month"] > _month_start(risk["death_date"])].groupby("_row").agg(
        months_at_risk=("fen", "size"), fen=("fen", "sum"))
    last = pay.groupby("aac002")["month"].max()
    rj = rj.assign(months_at_risk=rj["_row"].map(risk["months_at_risk"]).fillna(0).astype(int),
                   amount_at_risk=rj["_row"].map(risk["fen"]).fillna(0).astype("int64"),
                   last_month_paid=rj["aac002"].map(last))
    rj = _named(rj, store).sort_values(["aac002", "source_feed", "batch_id", "line_no"])
    return _table(rj, findings.REJECTED_DEATH, yuan=("amount_at_risk",))


def identity_mismatch(store: Store, state: AsOf) -> pa.Table:
    """Death records (withdrawn ones too) whose ID a non-death source holds with another name or gender."""
    end = pd.Timestamp(month_end(state.month))
    rec = store.records[(store.records["aac060"] <= end) & store.records["death"]]
    m = rec.merge(store.people, on="aac002", how="inner")
    name = m["aac003"].notna() & m["name_other"].notna() & (m["aac003"] != m["name_other"])
    gender = m["aaa002"].isin(["1", "2"]) & m["gender_other"].isin(["1", "2"]) & (m["aaa002"] != m["gender_other"])
    parts = [m[name].assign(kind="name differs", registered_by=m.loc[name, "name_other_source"].to_numpy()),
             m[gender].assign(kind="gender differs", registered_by=m.loc[gender, "gender_other_source"].to_numpy())]
    out = pd.concat(parts, ignore_index=True).sort_values(["aac002", "source_feed", "kind"])
    out = out.rename(columns={"aac003": "name_reported", "name_other": "name_registered", "aaa002": "gender_reported",
                              "gender_other": "gender_registered", "aac060": "death_date"})
    return _table(out, findings.IDENTITY_MISMATCH)


def _unknown(store: Store, end: pd.Timestamp) -> pd.DataFrame:
    """Records dated up to `end` of IDs no non-death source knows."""
    known = store.people.loc[store.people["known"], "aac002"].unique()   # not set(): one Python str per row
    rec = store.records
    return rec[(rec["aac060"] <= end) & ~_isin(rec["aac002"], known)]


def unplaced(store: Store, state: AsOf) -> pa.Table:
    end = pd.Timestamp(month_end(state.month))
    rec = _unknown(store, end).sort_values(["aac002", "rank"])
    if rec.empty:
        return findings.UNPLACED.empty_table()
    sources = _joined(rec, "aac002", "source_feed")
    first = rec.drop_duplicates("aac002").copy()
    first["reported"] = _reported(first, end)
    first["date"] = first["aac060"].where(first["death"] | first["dereg_date"].isna(), first["dereg_date"])
    first = first.assign(name=first["aac003"], sources=first["aac002"].map(sources))
    return _table(first, findings.UNPLACED)


def _looked_up(column: pd.Series, keys: pd.Series) -> pd.Series:
    """`keys.map(column)`, also when `column` is empty (pandas then casts a date column to float and fails:
    the report of a store that holds no one yet)."""
    return pd.Series(column.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=column.dtype)


def typo_candidates(store: Store, state: AsOf) -> pa.Table:
    """The records the typo search reads: unplaced records and rejected ones, dated up to the month.
    A birth date and a division count only where the source carries them as its own (the feeds the
    register takes those fields from): never a birth date read out of the ID as sent."""
    end = pd.Timestamp(month_end(state.month))
    auth = authority()
    own_birth, own_division = set(auth.fields["aac006"]), set(auth.fields["aab301"])
    rec = _unknown(store, end)
    births = store.people.set_index("aac002")
    stored = pd.DataFrame({
        "id_reported": rec["aac002"], "name": rec["aac003"], "gender": rec["aaa002"],
        "own_birth_date": _looked_up(births["birth_date"], rec["aac002"]).where(
            _looked_up(births["birth_source"], rec["aac002"]) == rec["source_feed"]),
        "division": rec["aab301"].where(rec["source_feed"].isin(own_division)),
        "source_feed": rec["source_feed"], "death_date": rec["aac060"], "file_name": rec["file_name"],
        "line_no": rec["line_no"], "batch_id": rec["batch_id"]})
    rj = store.rejected[store.rejected["aac060"] <= end]
    rejected = pd.DataFrame({
        "id_reported": rj["id_sent"], "name": rj["aac003"], "gender": rj["aaa002"],
        "own_birth_date": rj["aac006"].where(rj["source_feed"].isin(own_birth)),
        "division": rj["aab301"].where(rj["source_feed"].isin(own_division)),
        "source_feed": rj["source_feed"], "death_date": rj["aac060"], "file_name": rj["file_name"],
        "line_no": rj["line_no"], "batch_id": rj["batch_id"]})
    both = pd.concat([stored, rejected], ignore_index=True)
    schema = pa.schema([("id_reported", pa.string()), ("name", pa.string()), ("gender", pa.string()),
                        ("own_birth_date", pa.date32()), ("division", pa.string()), ("source_feed", pa.string()),
                        ("death_date", pa.date32()), ("file_name", pa.string()), ("line_no", pa.int64()),
                        ("batch_id", pa.int64())])
    return _table(both, schema)


def pensioners(conn: Connection, month: dt.date) -> pa.Table:
    """Everyone paid a pension up to `month`, with what the typo search matches on."""
    r, pp = register.c, pension_payment.c
    paid = (sa.select(pp.aac002, sa.func.max(pp.month).label("last_month_paid")).where(pp.month <= month)
            .group_by(pp.aac002).subquery())
    query = (sa.select(paid.c.aac002, r.aac003.label("name"), r.aac006.label("birth_date"), r.aaa002.label("gender"),
                       r.aab301.label("division"), paid.c.last_month_paid)
             .join_from(paid, register, r.aac002 == paid.c.aac002, isouter=True))
    schema = pa.schema([("aac002", pa.string()), ("name", pa.string()), ("birth_date", pa.date32()),
                        ("gender", pa.string()), ("division", pa.string()), ("last_month_paid", pa.date32())])
    copied = _copied(conn, query, schema)
    return copied if copied is not None else _table(_dates(_frame(conn, query), "birth_date", "last_month_paid"), schema)


def changes(store: Store, now_: AsOf, before: AsOf, issued: pa.Table | None = None) -> pa.Table:
    """The stop-payment list of the month against the month before's: as that report was issued
    (`issued`: aac002, overpaid; see report.py) when there is one, else as the store says now.  Only
    the issued list can show a death withdrawn since: the store keeps each source's newest record, so
    the month before recomputed today no longer holds that death either."""
    nowset = set(now_.stop["aac002"])
    if issued is not None:
        was = set(issued["aac002"].to_pylist())
        owed_before = pd.Series([None if v is None else int(v * 100) for v in issued["overpaid"].to_pylist()],
                                index=issued["aac002"].to_pylist(), dtype=object)
    else:
        was = set(before.stop["aac002"])
        owed_before = before.overpaid.set_index("aac002")["fen"]
    dead_now = set(now_.dead["aac002"])
    rows = [(p, "new") for p in sorted(nowset - was)] + [(p, "still open") for p in sorted(nowset & was)] + \
        [(p, "resolved") for p in sorted(was - nowset)]
    frame = pd.DataFrame(rows, columns=["aac002", "status"])
    frame["why"] = [("payments stopped" if p in dead_now else "death withdrawn") if s == "resolved" else None
                    for p, s in rows]
    frame["overpaid_before"] = frame["aac002"].map(owed_before).fillna(0).astype("int64")
    frame["overpaid_now"] = frame["aac002"].map(now_.overpaid.set_index("aac002")["fen"]).fillna(0).astype("int64")
    return _table(_named(frame, store), findings.CHANGES, yuan=("overpaid_before", "overpaid_now"))


def trend(store: Store, states: list[AsOf]) -> pa.Table:
    rr = store.rejected_roll
    rows = [{"month": s.month, "people_to_stop": len(s.stop), "people_paid_after_death": len(s.overpaid),
             "overpaid": int(s.overpaid["fen"].sum()) if len(s.overpaid) else 0,
             "roll_rows_rejected": int((rr["month"] == pd.Timestamp(s.month)).sum())} for s in states]
    return _table(pd.DataFrame(rows), findings.TREND, yuan=("overpaid",))


def find(conn: Connection, month: dt.date, tolerance_days: int = 3,
         issued: pa.Table | None = None) -> findings.Report:
    """Every kind of finding for report month `month` (any day of it); `issued`: the month before's
    stop-payment list as its report was issued (report.py keeps it), for the month-on-month changes."""
    month = month.replace(day=1)
    store = read(conn, month)
    states = [as_of(store, _months_before(month, n)) for n in range(_LOOK_BACK, -1, -1)]
    state = states[-1]
    report = findings.Report(month=month, generated_at=now(), tolerance_days=tolerance_days,
                             roll_rows_rejected=int(state.roll_rejected.sum()))
    money = pd.concat([state.stop["aac002"], state.overpaid["aac002"]]).unique()
    candidates = typo_candidates(store, state)
    report.tables = {
        "stop_payment": stop_payment(store, state),
        "paid_after_death": paid_after_death(store, state),
        "overpaid_months": overpaid_months(store, state),
        "death_evidence": death_evidence(store, state, money),
        "sources_disagree": sources_disagree(store, state, tolerance_days),
        "not_deregistered": not_deregistered(store, state),
        "rejected_death": rejected_deaths(store, state),
        "identity_mismatch": identity_mismatch(store, state),
        "probable_typo": probable_typos(candidates, pensioners(conn, month)) if candidates.num_rows
        else findings.PROBABLE_TYPO.empty_table(),
        "unplaced": unplaced(store, state),
        "changes": changes(store, state, states[-2], issued),
        "trend": trend(store, states),
    }
    return report
