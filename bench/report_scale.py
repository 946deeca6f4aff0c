"""The auditors' death report at province scale on PostgreSQL: `jinbao report deaths` beside DuckDB.

Usage: python bench/report_scale.py [--people 1000000] [--deaths 100000] [--months 12]
                                    [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]
                                    [--keep-store NAME]

--keep-store NAME builds the store into database NAME and keeps it; a later run with the same NAME
and sizes reuses it (the build takes minutes, the report is what is being measured).  Without it
the store is built afresh and dropped at the end, as before.

Outside the clock, a fresh database (migrated to head) is filled set-based (numpy -> Arrow -> CSV ->
COPY through psycopg; the big tables' keys are built after their COPY) with what the hub would have
published, without running the publish itself (loading 12M roll rows through every feed's gate
would take longer than the report; the register's tests cover that path):
  * police.identity: `people` pensioners and 5 % more people who draw no pension, into `person`
    and the register (every field set by police.identity);
  * hrss.pension_roll: one delivery per month, `months` months up to the report month, into
    `pension_payment` (5 % start later, 3 % stop earlier; a dead pensioner is stopped in the month
    of death, a month later, or never); its name, gender, birth date and division as the outranked
    offers the register keeps (`source_value`); 0.005 % of rows rejected (`rejected_payment`);
  * the three death sources, one delivery per source per day, `deaths` people between them
    (`death_record`, ~1.8 records a person): 85 % pensioners, 5 % other registered people, 10 %
    nobody else knows (unplaced: strangers, 10 % of them police deregistrations that are not deaths,
    and 20 % a pensioner's ID with one digit mistyped and the check character recomputed); 5 % of
    the later sources date a death 4-40 days off, 3 % of records are withdrawn (CZBZ 2), 0.5 % name
    the person otherwise; 2 % more records carry a mistyped ID with the check character as typed,
    which the gate rejects (`rejected_death`, `rejection` ID_CHECKSUM), a fifth of them with the
    pensioner's ID as it is, rejected for the hospital's USCC;
  * the register's life status as the settlement leaves it (deceased with the most trusted active
    source's date, emigrated/duplicate for a police deregistration) and one `life_status_history`
    row per change; the death sources' offers the register keeps in `source_value`.
`conflict` and `register_history` stay empty (the report reads neither).

Then, in the same run:
  1. `jinbao report deaths --month <last>` in a fresh process, as a user runs it: wall time and peak
     RSS (the child's VmHWM, read while it runs).  Aim <= 60 s and <= 2 GB.
  2. death_record and pension_payment exported to Parquet (not timed), then DuckDB computing the
     paid-after-death finding (docs/audit.md: dead by an active record dated up to the month's end,
     paid for a month up to the report month after the month of the earliest active date) from
     those files, timed.  Its people, each with the amount paid after that month (`overpaid_high`),
     must be the hub's rows of `deaths-<month>-paid_after_death.csv` (IDs masked there: compared as
     masked ID and amount, as multisets); otherwise the run exits non-zero.
  3. The typo search over every unplaced (and rejected) record, in this process: reading the
     candidates and the pensioners from the store, then `probable_typos`, each timed.  Every
     planted typo must be found with its pensioner.
Prints the figures and one BENCH-JSON line (bench/summary.py).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pcsv  # noqa: E402

from bench.death_match import counties, from_matrix, id_strings, names  # noqa: E402
from bench.memory import peak_rss_kb  # noqa: E402
from bench.summary import emit  # noqa: E402

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB = "i26report_bench_scale"
REPORT_MONTH = np.datetime64("2026-11", "M")
FEEDS = ["police.death", "health.death_certificate", "civil_affairs.cremation"]
#: What each death source offers the register (hub field -> record column); schemas/register.yaml.
OFFERS = {"police.death": ("aac003", "aaa002", "aab301"), "health.death_certificate": ("aac003", "aaa002", "aac006"),
          "civil_affairs.cremation": ("aac003", "aaa002")}
STAMP = "2026-12-02 08:00:00+00"
CHUNK = 500_000


# ------------------------------------------------------------------ loading
#: The big tables' primary keys, built after their COPY (one sort instead of a B-tree filled in random order).
KEYS = {"person": "aac002", "register": "aac002", "source_value": "aac002, field, source_feed",
        "pension_payment": "aac002, month"}


def copy(conn, table: str, data: pa.Table) -> None:
    """COPY an Arrow table into `table` (its column names), as CSV written by Arrow in chunks."""
    cols = ", ".join(data.column_names)
    if table in KEYS:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, data.num_rows, CHUNK):
            sink = io.BytesIO()
            pcsv.write_csv(data.slice(start, CHUNK), sink, pcsv.WriteOptions(include_header=False))
            cp.write(sink.getvalue())
    if table in KEYS:
        conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({KEYS[table]})")


def const(value, n: int, kind=pa.string()) -> pa.Array:
    return pa.array([value], kind).take(pa.array(np.zeros(n, dtype=np.int64)))


def days(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype="datetime64[D]"), pa.date32())


def mistype(ids: pa.Array, rng, recompute: bool) -> tuple[pa.Array, np.ndarray]:
    """One digit of the first 17 replaced; the check character recomputed over it, or kept as typed."""
    from jinbao.formats.citizen_id import CHECK_CHARS, WEIGHTS

    n = len(ids)
    mat = np.frombuffer(ids.buffers()[2], dtype=np.uint8)[ids.offset * 18:(ids.offset + n) * 18] \
        .reshape(-1, 18).copy()
    pos = rng.integers(14, 17, n) if recompute else rng.integers(0, 17, n)   # sequence digits: still a valid ID
    rows = np.arange(n)
    mat[rows, pos] = (mat[rows, pos] - 48 + rng.integers(1, 10, n)) % 10 + 48
    if recompute:
        total = ((mat[:, :17].astype(np.int64) - 48) * WEIGHTS).sum(axis=1)
        mat[:, 17] = CHECK_CHARS[total % 11]
    return from_matrix(mat), pos


def build(url: str, people: int, deaths: int, months: int, seed: int = 11) -> dict:
    """Fill the fresh store; returns the planted facts the checks need."""
    import pandas as pd
    import sqlalchemy as sa

    rng = np.random.default_rng(seed)
    others = people // 20
    unplaced = deaths // 10
    recomputed = unplaced // 5
    strangers = unplaced - recomputed
    rejected = deaths // 50
    known = people + others
    total = known + strangers
    # Everyone: distinct valid IDs (as bench/death_match.py draws them).
    codes = counties()
    draw = int(total * 1.03) + 1000
    male = rng.random(draw) < 0.5
    birth = np.datetime64("1935-01-01") + rng.integers(0, 30 * 365, draw)
    bd = birth.astype("datetime64[D]")
    y = bd.astype("datetime64[Y]").astype(np.int64) + 1970
    m = bd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (bd - bd.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    division = codes[rng.integers(0, len(codes), draw)]
    first17 = division * 10**11 + (y * 10000 + m * 100 + d) * 1000 + rng.integers(0, 500, draw) * 2 + male
    _, first = np.unique(first17, return_index=True)
    first = rng.permutation(first)[:total]
    male, bd, division, first17 = male[first], bd[first], division[first], first17[first]
    ids = id_strings(first17)
    nm = names(rng, male)
    gender = pc.if_else(pa.array(male), "1", "2")
    div = pa.array(division.astype(str).astype(object), pa.string())
    born = days(bd)

    first_month = REPORT_MONTH - (months - 1)
    month_days = (first_month + np.arange(months)).astype("datetime64[D]")
    # batches: police.identity once, the roll monthly, each death source daily
    day0 = first_month.astype("datetime64[D]")
    n_days = int(((REPORT_MONTH + 1).astype("datetime64[D]") - day0).astype(np.int64))
    batch_rows = [("police.identity", "police.identity_20251130_001.txt", np.datetime64("2025-11-30"))]
    batch_rows += [("hrss.pension_roll", f"hrss.pension_roll_{str(md)[:7].replace('-', '')}.csv",
                    (md.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1) for md in month_days]
    death_batch0 = len(batch_rows) + 1
    for f in FEEDS:
        batch_rows += [(f, f"{f}_{str(day0 + i).replace('-', '')}_001.dat", day0 + i) for i in range(n_days)]
    identity_batch, roll_batch0 = 1, 2

    def death_batch(feed_index: np.ndarray, date: np.ndarray) -> np.ndarray:
        day = np.clip((date - day0).astype(np.int64) + 1, 0, n_days - 1)
        return death_batch0 + feed_index * n_days + day

    # Death people: 85 % pensioners, 5 % others registered, the rest unplaced (recomputed typos, strangers).
    pens_dead = rng.choice(people, int(deaths * 0.85), replace=False)
    other_dead = people + rng.choice(others, deaths - len(pens_dead) - unplaced, replace=False)
    typo_of = rng.choice(np.setdiff1d(np.arange(people), pens_dead), recomputed + rejected, replace=False)
    typo_ids, _ = mistype(ids.take(pa.array(typo_of[:recomputed])), rng, recompute=True)
    stranger = np.arange(known, total)
    died = np.concatenate([pens_dead, other_dead, typo_of[:recomputed], stranger])   # person index of each
    died_ids = pa.concat_arrays([ids.take(pa.array(np.concatenate([pens_dead, other_dead]))), typo_ids,
                                 ids.slice(known, strangers)])
    nd = len(died)
    true_day = day0 + rng.integers(0, n_days, nd)
    # which sources report each: police 80 %, health 60 %, cremation 50 %, at least one
    has = rng.random((nd, 3)) < np.array([0.8, 0.6, 0.5])
    has[~has.any(axis=1), 0] = True
    per, src = np.nonzero(has)
    nr = len(per)
    date = true_day[per] + np.where((rng.random(nr) < 0.05) & (src > 0), rng.integers(4, 41, nr)
                                    * rng.choice([-1, 1], nr), 0)
    date = np.minimum(date, (REPORT_MONTH + 1).astype("datetime64[D]") - 1)
    withdrawn = rng.random(nr) < 0.03
    is_stranger = per >= nd - strangers
    dereg = np.where(src == 0, "1", None).astype(object)
    not_death = is_stranger & (src == 0) & (rng.random(nr) < 0.10)
    dereg[not_death] = rng.choice(["2", "3"], not_death.sum())
    rec_name = nm.take(pa.array(died[per]))
    renamed = rng.random(nr) < 0.005
    rec_name = pc.if_else(pa.array(renamed), nm.take(pa.array(rng.integers(0, total, nr))), rec_name)
    feeds = pa.array(FEEDS).take(pa.array(src))
    rec_batch = death_batch(src, date)
    records = pa.table({
        "aac002": died_ids.take(pa.array(per)), "source_feed": feeds, "aac003": rec_name,
        "aaa002": gender.take(pa.array(died[per])), "aac060": days(date),
        "aab301": pc.if_else(pa.array(src == 0), div.take(pa.array(died[per])), pa.nulls(nr, pa.string())),
        "dereg_date": pc.if_else(pa.array(src == 0), days(date + 2), pa.nulls(nr, pa.date32())),
        "dereg_reason": pa.array(dereg, pa.string()),
        "cremation_date": pc.if_else(pa.array(src == 2), days(date + 3), pa.nulls(nr, pa.date32())),
        "death_action": pa.array(np.where(withdrawn, "2", "1")),
        "id_upgraded": const(False, nr, pa.bool_()),
        "batch_id": pa.array(rec_batch), "line_no": pa.array(rng.integers(2, 5000, nr)),
        "updated_at": const(STAMP, nr), "source_version": pa.array(rec_batch * 10),
    })
    # rejected records: a pensioner's ID with a digit mistyped, the check character as typed
    bad_ids, _ = mistype(ids.take(pa.array(typo_of[recomputed:])), rng, recompute=False)
    # a fifth rejected for another field (the hospital's USCC): the ID as sent is the pensioner's
    other_field = np.arange(rejected) < rejected // 5
    bad_ids = pc.if_else(pa.array(other_field), ids.take(pa.array(typo_of[recomputed:])), bad_ids)
    rsrc = rng.integers(0, 3, rejected)
    rdate = day0 + rng.integers(0, n_days, rejected)
    rp = pa.array(typo_of[recomputed:])
    rj_batch = death_batch(rsrc, rdate)
    rj_line = np.arange(rejected) + 10_000
    rejected_death = pa.table({
        "batch_id": pa.array(rj_batch), "line_no": pa.array(rj_line), "source_feed": pa.array(FEEDS).take(pa.array(rsrc)),
        "id_sent": bad_ids, "aac003": nm.take(rp), "aaa002": gender.take(rp),
        "aac006": pc.if_else(pa.array(rsrc == 1), born.take(rp), pa.nulls(rejected, pa.date32())),
        "aab301": pc.if_else(pa.array(rsrc == 0), div.take(rp), pa.nulls(rejected, pa.string())),
        "aac060": days(rdate)})

    # The roll: months paid per pensioner, a dead one stopped in the month of death, a month later or never.
    start = np.where(rng.random(people) < 0.05, rng.integers(1, months, people), 0)
    stop = np.where(rng.random(people) < 0.03, rng.integers(0, months - 1, people), months - 1)
    truly = np.full(people, -1)
    pd_rows = np.flatnonzero(died[per] < people)        # pensioners' records, typos included (they are dead)
    earliest = pd.Series(date[pd_rows]).groupby(died[per][pd_rows]).min()
    truly[earliest.index.to_numpy()] = (earliest.to_numpy().astype("datetime64[M]") - first_month).astype(int)
    lag = rng.choice([0, 1, months], people, p=[0.55, 0.25, 0.20])
    stop = np.where(truly >= 0, np.minimum(stop, truly + lag), stop)
    stop = np.maximum(stop, start)
    count = stop - start + 1
    who = np.repeat(np.arange(people), count)
    month_index = np.repeat(start, count) + (np.arange(len(who)) - np.repeat(np.cumsum(count) - count, count))
    fen = rng.integers(150_000, 600_000, people)
    roll_rejected = np.sort(rng.choice(len(who), max(1, len(who) // 20_000), replace=False))
    keep = np.ones(len(who), dtype=bool)
    keep[roll_rejected] = False
    amounts = np.zeros((people, 2), dtype=np.int64)
    amounts[:, 0] = fen
    amount = pa.Array.from_buffers(pa.decimal128(12, 2), people, [None, pa.py_buffer(amounts)])
    kw, km = who[keep], month_index[keep]
    payments = pa.table({
        "aac002": ids.take(pa.array(kw)), "month": days(month_days[km]), "amount": amount.take(pa.array(kw)),
        "source_feed": const("hrss.pension_roll", len(kw)), "batch_id": pa.array(roll_batch0 + km),
        "line_no": pa.array(kw + 2), "updated_at": const(STAMP, len(kw)), "source_version": pa.array((roll_batch0 + km) * 10)})
    rr_who, rr_month = who[roll_rejected], month_index[roll_rejected]
    rejected_payment = pa.table({
        "batch_id": pa.array(roll_batch0 + rr_month), "line_no": pa.array(rr_who + 2), "aac002": ids.take(pa.array(rr_who)),
        "month": days(month_days[rr_month]), "amount_sent": const("-1.00", len(rr_who))})

    # The register: police.identity's values for everyone it knows; the death sources' for the unplaced.
    ident = np.arange(known)
    idt = pa.array(ident)
    person = pa.table({
        "aac002": ids.slice(0, known), "aac003": nm.slice(0, known), "aaa002": gender.slice(0, known),
        "aac006": born.slice(0, known), "aac005": const("01", known), "aab301": div.slice(0, known),
        "id_upgraded": const(False, known, pa.bool_()), "source_feed": const("police.identity", known),
        "batch_id": const(identity_batch, known, pa.int64()), "line_no": pa.array(ident + 2),
        "updated_at": const(STAMP, known), "source_version": const(identity_batch * 10, known, pa.int64())})
    rec = records.select(["aac002", "source_feed", "aac003", "aaa002", "aab301", "aac060", "dereg_reason",
                          "death_action", "batch_id", "line_no"]).to_pandas()
    rec["rank"] = rec["source_feed"].map({f: i for i, f in enumerate(FEEDS)})
    rec["aac006"] = pd.to_datetime(pd.Series(born.take(pa.array(died[per])).to_numpy(zero_copy_only=False)))
    rec.loc[rec["rank"] != 1, "aac006"] = pd.NaT
    active = rec[(rec["death_action"] != "2") & (rec["dereg_reason"].isna() | (rec["dereg_reason"] == "1"))]
    in_force = active.sort_values(["aac002", "rank"]).drop_duplicates("aac002")
    deregs = rec[(rec["death_action"] != "2") & rec["dereg_reason"].isin(["2", "3"])]
    deregs = deregs[~deregs["aac002"].isin(in_force["aac002"])]
    status = pd.concat([in_force.assign(life_status="deceased"),
                        deregs.assign(life_status=deregs["dereg_reason"].map({"2": "emigrated", "3": "duplicate"}))])
    reg = pd.DataFrame({"aac002": person["aac002"].to_numpy(zero_copy_only=False)})
    for f in ("aac003", "aaa002", "aac006", "aac005", "aab301"):
        reg[f] = person[f].to_pandas()
        reg[f"{f}_source"], reg[f"{f}_batch"] = "police.identity", identity_batch
        reg[f"{f}_line"], reg[f"{f}_at"] = ident + 2, STAMP
    # the unplaced: each field from the most trusted death source offering it
    only = rec[~rec["aac002"].isin(reg["aac002"])].sort_values(["aac002", "rank"])
    held = pd.DataFrame({"aac002": only["aac002"].unique()})
    for f in ("aac003", "aaa002", "aac006", "aab301"):
        best = only[only[f].notna()].drop_duplicates("aac002").set_index("aac002")
        held[f] = held["aac002"].map(best[f])
        held[f"{f}_source"] = held["aac002"].map(best["source_feed"])
        held[f"{f}_batch"] = held["aac002"].map(best["batch_id"]).astype("Int64")
        held[f"{f}_line"] = held["aac002"].map(best["line_no"]).astype("Int64")
        held[f"{f}_at"] = held[f"{f}_source"].map(lambda s: STAMP if isinstance(s, str) else None)
    reg = pd.concat([reg, held], ignore_index=True)
    st = status.set_index("aac002")
    reg["life_status"] = reg["aac002"].map(st["life_status"]).fillna("alive")
    reg["life_status_date"] = reg["aac002"].map(st["aac060"])
    reg["life_status_source"] = reg["aac002"].map(st["source_feed"])
    reg["life_status_batch"] = reg["aac002"].map(st["batch_id"]).astype("Int64")
    reg["life_status_line"] = reg["aac002"].map(st["line_no"]).astype("Int64")
    reg["life_status_at"] = reg["life_status_source"].map(lambda s: STAMP if isinstance(s, str) else None)
    history = status.rename(columns={"life_status": "to_status", "aac060": "effective_date"}).assign(
        from_status="alive", recorded_at=STAMP)[["aac002", "from_status", "to_status", "effective_date",
                                                 "source_feed", "batch_id", "line_no", "recorded_at"]]
    # outranked offers: the roll's for every pensioner, the death sources' where another holds the field
    pens = pa.array(np.arange(people))
    last_roll = roll_batch0 + months - 1
    offers = [pa.table({"aac002": ids.slice(0, people), "field": const(f, people), "source_feed":
                        const("hrss.pension_roll", people), "value": col, "batch_id": const(last_roll, people, pa.int64()),
                        "line_no": pa.array(np.arange(people) + 2), "seen_at": const(STAMP, people)})
              for f, col in (("aac003", nm.take(pens)), ("aaa002", gender.take(pens)),
                             ("aac006", born.take(pens).cast(pa.string())), ("aab301", div.take(pens)))]
    regi = reg.set_index("aac002")
    for feed, fields in OFFERS.items():
        mine = rec[rec["source_feed"] == feed]
        for f in fields:
            o = mine[mine[f].notna() & (mine["aac002"].map(regi[f"{f}_source"]) != feed)]
            value = o[f].dt.strftime("%Y-%m-%d") if f == "aac006" else o[f]
            offers.append(pa.table({"aac002": pa.array(o["aac002"], pa.string()), "field": const(f, len(o)),
                                    "source_feed": const(feed, len(o)), "value": pa.array(value, pa.string()),
                                    "batch_id": pa.array(o["batch_id"], pa.int64()),
                                    "line_no": pa.array(o["line_no"], pa.int64()), "seen_at": const(STAMP, len(o))}))
    batches = pa.table({
        "feed": pa.array([b[0] for b in batch_rows]), "file_name": pa.array([b[1] for b in batch_rows]),
        "sha256": pa.array([f"{i:064x}" for i in range(len(batch_rows))]),
        "sequence": pa.array(np.ones(len(batch_rows), dtype=np.int64)),
        "business_date": days([b[2] for b in batch_rows]), "encoding": const("UTF-8", len(batch_rows)),
        "status": const("published", len(batch_rows)), "received_at": const(STAMP, len(batch_rows)),
        "published_at": const(STAMP, len(batch_rows))})
    rejections = pa.concat_tables([
        pa.table({"batch_id": rejected_death["batch_id"], "line_no": rejected_death["line_no"],
                  "field": pc.if_else(pa.array(other_field), "JGDM", "GMSFHM"),
                  "reason_code": pc.if_else(pa.array(other_field), "USCC_CHECKSUM", "ID_CHECKSUM"),
                  "message": const("身份证校验位错误 ID check character wrong", rejected)}),
        pa.table({"batch_id": rejected_payment["batch_id"], "line_no": rejected_payment["line_no"],
                  "field": const("FFJE", rejected_payment.num_rows),
                  "reason_code": const("AMOUNT_INVALID", rejected_payment.num_rows),
                  "message": const("金额无效 amount invalid", rejected_payment.num_rows)})])

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        copy(raw, "batch", batches)
        copy(raw, "person", person)
        copy(raw, "register", pa.Table.from_pandas(reg, preserve_index=False).cast(pa.schema(
            [(c, pa.date32() if c in ("aac006", "life_status_date") else
              pa.int64() if c.endswith(("_batch", "_line")) else pa.string()) for c in reg.columns])))
        copy(raw, "life_status_history", pa.Table.from_pandas(history, preserve_index=False))
        copy(raw, "source_value", pa.concat_tables(offers))
        copy(raw, "death_record", records)
        copy(raw, "rejected_death", rejected_death)
        copy(raw, "rejected_payment", rejected_payment)
        copy(raw, "rejection", rejections)
        copy(raw, "pension_payment", payments)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    typo_truth = {a: b for a, b, typed in zip(typo_ids.to_pylist() + bad_ids.to_pylist(),
                                              ids.take(pa.array(typo_of)).to_pylist(),
                                              np.concatenate([np.zeros(recomputed, bool), other_field])) if not typed}
    return {"people": people, "others": others, "death_people": nd, "death_records": nr,
            "rejected_deaths": rejected, "payments": len(kw), "rejected_roll_rows": int(len(roll_rejected)),
            "unplaced_ids": unplaced, "typos": typo_truth, "first_month": str(first_month)}


# ------------------------------------------------------------------ a kept store
#: The planted facts of a kept store (sizes, typo truth), in a table of its own beside the store's.
FACTS = "report_scale_facts"


def keep_facts(url: str, facts: dict, sizes: dict) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {FACTS} (doc text NOT NULL)")
        conn.exec_driver_sql(f"INSERT INTO {FACTS} VALUES (%s)", (json.dumps({"sizes": sizes, "facts": facts}),))
    engine.dispose()


def kept_facts(admin: str, db: str, sizes: dict) -> dict | None:
    """The facts of a store kept under `db` with these sizes; None when there is none to reuse."""
    import sqlalchemy as sa

    from bench.fresh_db import database_url

    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).scalar()
    eng.dispose()
    if not exists:
        return None
    eng = sa.create_engine(database_url(admin, db))
    try:
        with eng.connect() as conn:
            doc = conn.exec_driver_sql(f"SELECT doc FROM {FACTS}").scalar()
    except sa.exc.ProgrammingError:          # a build that did not finish: no facts table
        return None
    finally:
        eng.dispose()
    kept = json.loads(doc) if doc else None
    return kept["facts"] if kept and kept["sizes"] == sizes else None


# ------------------------------------------------------------------ the hub's report, as a user runs it
def _hwm_kb(pid: int) -> int:
    """VmHWM of a running process in kB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def run_report(env: dict, month: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, stdout) of `jinbao report deaths --month month` in a fresh process."""
    jinbao = Path(sys.executable).parent / "jinbao"
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(jinbao), "report", "deaths", "--month", month], env=env, stdout=out, stderr=err)
        peak_kb = 0
        while proc.poll() is None:       # the child's own VmHWM: its ru_maxrss would carry this process's
            peak_kb = max(peak_kb, _hwm_kb(proc.pid))   # peak (the store's build) across fork and exec
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            sys.exit(f"jinbao report deaths failed ({proc.returncode}):\n{err.read()[-3000:]}")
        return seconds, peak_kb / 1024, out.read()


# ------------------------------------------------------------------ DuckDB on Parquet exports
def export(url: str, folder: Path) -> dict[str, Path]:
    """death_record and pension_payment as Parquet (every column), through COPY TO CSV and DuckDB."""
    import duckdb
    import sqlalchemy as sa

    types = {"death_record": {"aac060": "DATE", "dereg_date": "DATE", "cremation_date": "DATE"},
             "pension_payment": {"month": "DATE", "amount": "DECIMAL(12,2)"}}
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for table, typed in types.items():
            text = folder / f"{table}.csv"
            with open(text, "wb") as fh, raw.cursor() as cur, \
                    cur.copy(f"COPY {table} TO STDOUT (FORMAT csv, HEADER)") as cp:
                for block in cp:
                    fh.write(block)
            out[table] = folder / f"{table}.parquet"
            cols = ", ".join(f"'{c}': '{t}'" for c, t in typed.items())
            duckdb.sql(f"COPY (SELECT * FROM read_csv('{text}', header=true, types={{{cols}}})) "
                       f"TO '{out[table]}' (FORMAT parquet)")
            text.unlink()
    engine.dispose()
    return out


def duckdb_paid_after_death(files: dict[str, Path], month: dt.date, end: dt.date) -> tuple[float, list]:
    """(seconds, [(aac002, overpaid_high in fen)]): paid for a month up to `month` after the month of
    the earliest active death date (not withdrawn; police only with reason 1; dated up to `end`)."""
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    rows = con.sql(f"""
        WITH dead AS (
            SELECT aac002, min(aac060) AS earliest FROM read_parquet('{files['death_record']}')
            WHERE coalesce(death_action, '1') <> '2' AND (dereg_reason IS NULL OR dereg_reason = '1')
              AND aac060 <= DATE '{end}'
            GROUP BY aac002)
        SELECT p.aac002, CAST(sum(p.amount) * 100 AS BIGINT) AS fen
        FROM read_parquet('{files['pension_payment']}') p JOIN dead d USING (aac002)
        WHERE p.month <= DATE '{month}' AND p.month > date_trunc('month', d.earliest)
        GROUP BY p.aac002""").fetchall()
    return time.perf_counter() - t0, rows


def hub_paid_after_death(folder: Path, month: str) -> list[tuple[str, int]]:
    """(masked ID, overpaid_high in fen) of the hub's paid-after-death CSV."""
    from jinbao.audit.render import COLUMNS

    at = [c.field for c in COLUMNS["paid_after_death"]].index("overpaid_high")
    with open(folder / f"deaths-{month}-paid_after_death.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    return [(r[0], round(float(r[at]) * 100)) for r in rows]


# ------------------------------------------------------------------ the typo search
def typo_search(url: str, month: dt.date, truth: dict) -> dict:
    from jinbao.audit.deaths import AsOf, pensioners, read, typo_candidates
    from jinbao.audit.typos import probable_typos
    from jinbao.store.database import connect

    with connect(url).connect() as conn:
        t0 = time.perf_counter()
        store = read(conn, month)
        candidates = typo_candidates(store, AsOf(month, None, None, None, None, None, None))
        t1 = time.perf_counter()
        roll = pensioners(conn, month)
        t2 = time.perf_counter()
    found = probable_typos(candidates, roll)
    t3 = time.perf_counter()
    got = dict(zip(found["id_reported"].to_pylist(), found["aac002"].to_pylist()))
    wrong = sum(1 for k, v in got.items() if k in truth and truth[k] != v)
    missed = sum(1 for k in truth if k not in got)
    # A mistyped ID can land on a registered person's (then it is not unplaced) or lie one edit from
    # two namesakes (then no suggestion is right): a few planted typos may go unfound, none wrongly.
    return {"candidates": candidates.num_rows, "pensioners": roll.num_rows, "found": found.num_rows,
            "planted": len(truth), "read_s": t1 - t0, "pensioners_s": t2 - t1, "search_s": t3 - t2,
            "missed": missed, "wrong": wrong, "ok": wrong == 0 and missed <= max(1, len(truth) // 200)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--deaths", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--url", default=ADMIN, help="an AUTOCOMMIT URL to the server's postgres database")
    ap.add_argument("--keep", action="store_true", help="leave the database (dropped otherwise)")
    ap.add_argument("--keep-store", metavar="NAME", help="build the store into database NAME and keep it; reuse "
                    "it when a run with the same NAME and sizes built it before")
    args = ap.parse_args()
    db = args.keep_store or DB
    sizes = {"people": args.people, "deaths": args.deaths, "months": args.months}
    month = REPORT_MONTH.astype(dt.date)
    end = (REPORT_MONTH + 1).astype("datetime64[D]").astype(dt.date) - dt.timedelta(days=1)
    from bench.fresh_db import drop_database, fresh_database
    from jinbao.store.database import upgrade

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)",
          flush=True)
    from bench.fresh_db import database_url

    facts = kept_facts(args.url, db, sizes) if args.keep_store else None
    url = database_url(args.url, db)
    try:
        if facts is None:
            url = fresh_database(args.url, db)
            upgrade(url).dispose()
            t0 = time.perf_counter()
            facts = build(url, args.people, args.deaths, args.months)
            build_s = time.perf_counter() - t0
            if args.keep_store:
                keep_facts(url, facts, sizes)
        else:
            build_s = 0.0
            print(f"reusing the store kept in {db}", flush=True)
        print(f"built: {facts['people']:,} pensioners (+{facts['others']:,} not paid), {facts['payments']:,} roll "
              f"rows {facts['first_month']}..{month:%Y-%m}, {facts['death_people']:,} people in "
              f"{facts['death_records']:,} death records, {facts['rejected_deaths']:,} rejected death records, "
              f"{facts['rejected_roll_rows']:,} rejected roll rows in {build_s:.0f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="jinbao-report-scale-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            env = {**os.environ, "JINBAO_HOME": str(home), "JINBAO_STORE_URL": url}
            env.pop("JINBAO_TRANSPORT", None)
            report_s, report_mb, out = run_report(env, f"{month:%Y-%m}")
            print(out)
            print(f"jinbao report deaths --month {month:%Y-%m}: {report_s:.1f} s, peak RSS {report_mb:,.0f} MB "
                  f"(aim <= 60 s, <= 2,048 MB)", flush=True)
            hub = hub_paid_after_death(home / "reports" / "deaths" / f"{month:%Y-%m}", f"{month:%Y-%m}")
            t = time.perf_counter()
            files = export(url, Path(tmp))
            export_s = time.perf_counter() - t
            duck_s, duck = duckdb_paid_after_death(files, month, end)
        from jinbao.privacy import mask_text
        same = sorted((mask_text(a), f) for a, f in duck) == sorted(hub)
        print(f"DuckDB paid after death from Parquet (exported in {export_s:.0f} s): {duck_s:.2f} s, "
              f"{len(duck):,} people; the hub's report {len(hub):,}: {'the same' if same else 'DIFFERENT'}; "
              f"report / DuckDB {report_s / duck_s:.1f}x", flush=True)
        os.environ["JINBAO_STORE_URL"] = url
        typos = typo_search(url, month, facts["typos"])
        print(f"typo search over {typos['candidates']:,} unplaced and rejected records against "
              f"{typos['pensioners']:,} pensioners: read {typos['read_s']:.1f} s, pensioners {typos['pensioners_s']:.1f} s, "
              f"search {typos['search_s']:.2f} s; {typos['found']:,} found, of {typos['planted']:,} planted "
              f"{typos['missed']} not found, {typos['wrong']} linked wrongly")
    finally:
        if not (args.keep or args.keep_store):
            drop_database(args.url, db)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; bench peak RSS "
          f"{peak_rss_kb() / 1024:,.0f} MB")
    ok = same and typos["ok"] and report_s > 0
    emit("report_scale", ok, people=args.people, deaths=args.deaths, months=args.months,
         payments=facts["payments"], death_records=facts["death_records"], build_s=build_s,
         report_s=report_s, report_peak_mb=report_mb, duckdb_s=duck_s, duckdb_export_s=export_s, duckdb_people=len(duck),
         hub_people=len(hub), same_people=same, typo=typos, load=os.getloadavg())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
