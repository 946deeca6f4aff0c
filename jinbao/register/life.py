"""Life status: derived, never accumulated, from what each death source says now.

`death_record` holds each source's newest record per person (a later delivery
from the same source replaces it; CZBZ=2 marks it withdrawn).  A person's
status is a function of those records alone, so a withdrawal restores the
earlier status without the hub remembering what it was, a correction moves the
date, and re-running a batch changes nothing.  Derivation is vectorised over
the batch's people (pandas over the rows the store returns); the store then
takes the changes with one INSERT ... SELECT into the history and one
UPDATE ... FROM into the register.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.register.authority import DECEASED, Authority
from jinbao.schemas.store_tables import BigId, UtcDateTime, death_record, life_status_history, register
from jinbao.store import scratch

CHANGE = "register_life_change"
WITHDRAW = "2"


def derive(records: pd.DataFrame, auth: Authority) -> pd.DataFrame:
    """Per person with any death record: status, date, source, batch, line of the deciding record.

    Deceased while any active record reports a death, dated by the most trusted such source;
    else the status a police deregistration reason sets, dated by its deregistration date;
    people whose every record is withdrawn are absent (the caller gives them the default).
    """
    if records.empty:
        return records.assign(status=[], date=[])[["aac002", "status", "date", "source_feed", "batch_id", "line_no"]]
    r = records[records["death_action"].fillna("1") != WITHDRAW].copy()
    r["status"] = r["dereg_reason"].map(auth.police_reasons).where(r["dereg_reason"].notna(), DECEASED)
    r["status"] = r["status"].fillna("deregistered")
    r["rank"] = r["source_feed"].map({f: i for i, f in enumerate(auth.deaths)}).fillna(len(auth.deaths))
    dead = r["status"] == DECEASED
    r["date"] = r["aac060"].where(dead, r["dereg_date"].fillna(r["aac060"]))
    r["order"] = (~dead).astype(int)            # a death outranks any deregistration, whatever its source
    r = r.sort_values(["aac002", "order", "rank"], kind="stable").drop_duplicates("aac002")
    return r[["aac002", "status", "date", "source_feed", "batch_id", "line_no"]]


def settle(conn: Connection, people: sa.Table, feed: str, batch_id: int, stamp, auth: Authority) -> int:
    """Re-derive the life status of the batch's people (`people`: aac002, line_no); returns changes."""
    dr, rg = death_record.c, register.c
    records = pd.DataFrame(conn.execute(
        sa.select(dr.aac002, dr.source_feed, dr.aac060, dr.dereg_date, dr.dereg_reason, dr.death_action,
                  dr.batch_id, dr.line_no)
        .join_from(death_record, people, people.c.aac002 == dr.aac002)
        .where(dr.source_feed.in_(auth.deaths))).mappings().all(),
        columns=["aac002", "source_feed", "aac060", "dereg_date", "dereg_reason", "death_action", "batch_id",
                 "line_no"])
    now = pd.DataFrame(conn.execute(
        sa.select(people.c.aac002, people.c.line_no.label("own_line"), rg.life_status, rg.life_status_date,
                  rg.life_status_source)
        .join_from(people, register, rg.aac002 == people.c.aac002)).mappings().all(),
        columns=["aac002", "own_line", "life_status", "life_status_date", "life_status_source"])
    derived = derive(records, auth)
    state = now.merge(derived, on="aac002", how="left")
    restored = state["status"].isna()
    state["status"] = state["status"].fillna(auth.default)
    # back to the default: this batch decided it (it withdrew or replaced the last report)
    state.loc[restored, "source_feed"] = feed
    state.loc[restored, "batch_id"] = batch_id
    state.loc[restored, "line_no"] = state.loc[restored, "own_line"]
    state.loc[restored, "date"] = None
    moved = (state["status"] != state["life_status"]) | (_day(state["date"]) != _day(state["life_status_date"]))
    changed = moved | (state["source_feed"] != state["life_status_source"])
    # a person reported only as withdrawn, never as dead, was and stays at the default: nothing to say
    changed &= ~(restored & state["life_status_source"].isna() & (state["life_status"] == auth.default))
    state = state[changed]
    if state.empty:
        return 0
    change = scratch.create(
        conn, CHANGE, sa.Column("aac002", sa.String(18)), sa.Column("from_status", sa.String(16)),
        sa.Column("from_date", sa.Date), sa.Column("to_status", sa.String(16)), sa.Column("to_date", sa.Date),
        sa.Column("source_feed", sa.String(64)), sa.Column("batch_id", BigId), sa.Column("line_no", sa.Integer),
        sa.Column("own_line", sa.Integer), sa.Column("moved", sa.SmallInteger), key="aac002")
    scratch.fill(conn, change, pa.table({
        "aac002": pa.array(state["aac002"].tolist(), pa.string()),
        "from_status": pa.array(state["life_status"].tolist(), pa.string()),
        "from_date": pa.array(_dates(state["life_status_date"]), pa.date32()),
        "to_status": pa.array(state["status"].tolist(), pa.string()),
        "to_date": pa.array(_dates(state["date"]), pa.date32()),
        "source_feed": pa.array(state["source_feed"].tolist(), pa.string()),
        "batch_id": pa.array(state["batch_id"].astype("Int64").tolist(), pa.int64()),
        "line_no": pa.array(state["line_no"].astype("Int64").tolist(), pa.int64()),
        "own_line": pa.array(state["own_line"].astype("Int64").tolist(), pa.int64()),
        "moved": pa.array(moved[changed].astype(int).tolist(), pa.int16())}))
    c = change.c
    conn.execute(sa.insert(life_status_history).from_select(
        ["aac002", "from_status", "to_status", "from_date", "effective_date", "source_feed", "batch_id", "line_no",
         "recorded_at"],
        sa.select(c.aac002, c.from_status, c.to_status, c.from_date, c.to_date, c.source_feed,
                  sa.literal(batch_id, BigId), c.own_line, sa.literal(stamp, UtcDateTime()))
        .where(c.moved == 1)))
    conn.execute(sa.update(register).values(
        life_status=c.to_status, life_status_date=c.to_date, life_status_source=c.source_feed,
        life_status_batch=c.batch_id, life_status_line=c.line_no, life_status_at=sa.literal(stamp, UtcDateTime()))
        .where(rg.aac002 == c.aac002))
    scratch.drop(conn, CHANGE)
    return len(state)


def _day(values: pd.Series) -> pd.Series:
    """Dates as comparable text ('' for none): the store returns date objects, pandas may give NaT."""
    return pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")


def _dates(values: pd.Series) -> list:
    return [None if pd.isna(v) else pd.Timestamp(v).date() for v in values]
