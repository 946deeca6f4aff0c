"""The store's life-status derivation (jinbao/register/life.py, SQL) against the pandas version it
replaced, kept here as the oracle: seeded random death records (withdrawals, every source, police
reasons named and unknown, deregistrations, equal and missing dates, provenance missing) for people
the register holds in every state and people new to it; the register and its history must come out
the same, row for row."""
from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from jinbao.register import life
from jinbao.register.authority import DECEASED, Authority, authority
from jinbao.register.reconcile import _insert_new
from jinbao.schemas.store_tables import BigId, UtcDateTime, death_record, life_status_history, register
from jinbao.store import scratch
from jinbao.store.database import upgrade

FEED, BATCH = "health.death_certificate", 500
STAMP = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
DAYS = [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 11, 5)]


# ------------------------------------------------------------------ the oracle: life.py before issue 26
def old_derive(records: pd.DataFrame, auth: Authority) -> pd.DataFrame:
    if records.empty:
        return records.assign(status=[], date=[])[["aac002", "status", "date", "source_feed", "batch_id", "line_no"]]
    r = records[records["death_action"].fillna("1") != "2"].copy()
    r["status"] = r["dereg_reason"].map(auth.police_reasons).where(r["dereg_reason"].notna(), DECEASED)
    r["status"] = r["status"].fillna("deregistered")
    r["rank"] = r["source_feed"].map({f: i for i, f in enumerate(auth.deaths)}).fillna(len(auth.deaths))
    dead = r["status"] == DECEASED
    r["date"] = r["aac060"].where(dead, r["dereg_date"].fillna(r["aac060"]))
    r["order"] = (~dead).astype(int)
    r = r.sort_values(["aac002", "order", "rank"], kind="stable").drop_duplicates("aac002")
    return r[["aac002", "status", "date", "source_feed", "batch_id", "line_no"]]


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")


def old_settle(conn, people: sa.Table, feed: str, batch_id: int, stamp, auth: Authority) -> int:
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
    state = now.merge(old_derive(records, auth), on="aac002", how="left")
    restored = state["status"].isna()
    state["status"] = state["status"].fillna(auth.default)
    state.loc[restored, "source_feed"] = feed
    state.loc[restored, "batch_id"] = batch_id
    state.loc[restored, "line_no"] = state.loc[restored, "own_line"]
    state.loc[restored, "date"] = None
    moved = (state["status"] != state["life_status"]) | (_day(state["date"]) != _day(state["life_status_date"]))
    changed = moved | (state["source_feed"] != state["life_status_source"])
    changed &= ~(restored & state["life_status_source"].isna() & (state["life_status"] == auth.default))
    state, moved = state[changed], moved[changed]
    dates = lambda v: [None if pd.isna(x) else pd.Timestamp(x).date() for x in v]  # noqa: E731
    ints = lambda v: [None if pd.isna(x) else int(x) for x in v]  # noqa: E731
    rows = [dict(zip(("aac002", "from_status", "to_status", "from_date", "effective_date", "source_feed", "batch_id",
                      "line_no", "recorded_at"), t))
            for t in zip(state["aac002"], state["life_status"], state["status"], dates(state["life_status_date"]),
                         dates(state["date"]), state["source_feed"], [batch_id] * len(state),
                         ints(state["own_line"]), [stamp] * len(state))]
    kept = [r for r, m in zip(rows, moved) if m]
    if kept:
        conn.execute(sa.insert(life_status_history), kept)
    for a, s, d, f, b, ln in zip(state["aac002"], state["status"], dates(state["date"]), state["source_feed"],
                                 ints(state["batch_id"]), ints(state["line_no"])):
        conn.execute(sa.update(register).where(register.c.aac002 == a).values(
            life_status=s, life_status_date=d, life_status_source=f, life_status_batch=b, life_status_line=ln,
            life_status_at=stamp))
    return len(state)


# ------------------------------------------------------------------ random worlds
def world(rng: random.Random, auth: Authority, n: int = 160):
    """Register rows (some people absent: new), their death records, and the batch's people."""
    ids = [f"1101051945{i:08d}" for i in range(n)]
    statuses = ["alive", "deceased", "emigrated", "duplicate", "deregistered"]
    held, records, people = [], [], []
    for i, pid in enumerate(ids):
        if rng.random() < 0.8:                       # in the register, in any state
            fresh = rng.random() < 0.4
            held.append({"aac002": pid, "life_status": "alive" if fresh else rng.choice(statuses),
                         "life_status_date": None if fresh or rng.random() < 0.3 else rng.choice(DAYS),
                         "life_status_source": None if fresh else rng.choice([*auth.deaths, None]),
                         "life_status_batch": None if fresh else rng.choice([7, None]),
                         "life_status_line": None if fresh else rng.randint(2, 9)})
        for feed in auth.deaths:
            if rng.random() < 0.5:
                police = feed == "police.death"
                records.append({
                    "aac002": pid, "source_feed": feed, "aac060": rng.choice(DAYS),
                    "dereg_date": rng.choice([None, *DAYS]) if police else None,
                    "dereg_reason": rng.choice([None, "1", "2", "3", "9", "7"]) if police or rng.random() < 0.1
                    else None,
                    "death_action": rng.choice([None, "1", "2", "2"]),
                    "batch_id": rng.choice([BATCH, 3, 4, None]), "line_no": rng.choice([None, rng.randint(2, 99)]),
                    "updated_at": STAMP})
        if rng.random() < 0.85:
            people.append({"aac002": pid, "line_no": i + 2})
    return held, records, people


def load(conn, held, records, people) -> sa.Table:
    if held:
        conn.execute(sa.insert(register), held)
    if records:
        conn.execute(sa.insert(death_record), records)
    table = scratch.create(conn, "register_batch_offer", sa.Column("aac002", sa.String(18)),
                           sa.Column("line_no", sa.Integer))
    scratch.fill(conn, table, pa.Table.from_pylist(people, pa.schema([("aac002", pa.string()), ("line_no", pa.int64())])))
    return table


def outcome(conn) -> tuple[list, list]:
    reg = [tuple(r) for r in conn.execute(sa.select(
        register.c.aac002, register.c.life_status, register.c.life_status_date, register.c.life_status_source,
        register.c.life_status_batch, register.c.life_status_line, register.c.life_status_at)
        .order_by(register.c.aac002))]
    h = life_status_history.c
    hist = sorted(tuple(r) for r in conn.execute(sa.select(
        h.aac002, h.from_status, h.to_status, h.from_date, h.effective_date, h.source_feed, h.batch_id, h.line_no,
        h.recorded_at)))
    return reg, hist


@pytest.mark.parametrize("seed", range(6))
def test_the_store_derives_what_pandas_did(store_url, seed):
    same_as_pandas(store_url, seed)


def test_the_same_on_mariadb(mariadb_url):
    """MariaDB: the window and the null-safe comparisons as its dialect writes them."""
    same_as_pandas(mariadb_url, 0)


def same_as_pandas(url: str, seed: int) -> None:
    auth = authority()
    db = upgrade(url)
    held, records, people = world(random.Random(seed), auth)
    feed = sa.literal(FEED, sa.String(64))
    with db.connect() as conn:
        with conn.begin() as txn:         # before: new people in at the default, then the pandas settlement
            offer = load(conn, held, records, people)
            _insert_new(conn, offer, len(people), [], feed, sa.literal(BATCH, BigId),
                        sa.literal(STAMP, UtcDateTime()), auth.default)
            expected_changes = old_settle(conn, offer, FEED, BATCH, STAMP, auth)
            expected = outcome(conn)
            txn.rollback()
        with conn.begin() as txn:         # now: derived in the store, new people in with their status
            offer = load(conn, held, records, people)
            change = life.derive(conn, offer, FEED, BATCH, auth)
            _insert_new(conn, offer, len(people), [], feed, sa.literal(BATCH, BigId),
                        sa.literal(STAMP, UtcDateTime()), auth.default, change, STAMP)
            changes = life.settle(conn, change, BATCH, STAMP)
            got = outcome(conn)
            txn.rollback()
    assert expected_changes > 20 and len(expected[1]) > 20       # the world moved: a test that can fail
    assert changes == expected_changes
    assert got[0] == expected[0]
    assert got[1] == expected[1]
