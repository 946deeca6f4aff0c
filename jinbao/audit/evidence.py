"""The records the gate rejected, kept as the audit's evidence, and what the auditors' report asks of them.

A death reported under a mistyped ID is still a death (`rejected_death`, for the typo search); a
pension-roll row rejected for its amount still says the pensioner was on the roll that month
(`rejected_payment`): without it a dead pensioner looks stopped a month early.  Which feed keeps
which columns into which table is declared once here (`KEPT`, and the death sources of
schemas/register.yaml); `keep_rejected` does it for any of them inside the publish transaction
(EVIDENCE, listed in jinbao/store/consumers.py); the tables are schemas/store_tables.py's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.mappings.tables import pinned
from jinbao.staged.layout import HELD_BACK, REJECTED
from jinbao.quality.rules import CONTROL_PATTERN
from jinbao.register.authority import authority
from jinbao.schemas.store_tables import batch, rejected_death, rejected_payment, rejection
from jinbao.staged.parquet import read_staged
from jinbao.store.publish import records

#: Rejected records read from the staged Parquet per insert round.
CHUNK = 50_000


@dataclass(frozen=True)
class Evidence:
    """What a feed keeps of its rejected records, and where."""

    table: sa.Table
    #: store column <- hub column of the held-back records (as far as they translated)
    columns: Mapping[str, str]
    #: store column <- hub field whose text as sent (from the gate's rejection of it) is kept when it
    #: did not translate, e.g. a month the gate could not parse
    unparsed: Mapping[str, str] = field(default_factory=dict)
    #: store column that names the feed, if the table holds several feeds' records
    feed_column: str | None = None


DEATHS = Evidence(rejected_death, {"id_sent": "AAC002", "aac003": "AAC003", "aaa002": "AAA002",
                                   "aac006": "AAC006", "aab301": "AAB301", "aac060": "AAC060"},
                  feed_column="source_feed")
ROLL = Evidence(rejected_payment, {"aac002": "AAC002", "month": "month", "amount_sent": "amount"},
                unparsed={"month_sent": "month"})

#: Feeds whose rejected records are evidence, besides the death sources (schemas/register.yaml life_status.deaths).
KEPT: dict[str, Evidence] = {"hrss.pension_roll": ROLL}


def evidence_for(feed: str) -> Evidence | None:
    return DEATHS if feed in authority().deaths else KEPT.get(feed)


def keep_rejected(conn: Connection, staging: Path, feed: str, batch_id: int) -> int:
    """Keep a feed's rejected records (the judge step's held-back file in `staging`) as its evidence
    declares; returns how many.  Nothing for a feed that declares none or a delivery without rejections.

    Whatever a partner sent must fit: text with control characters is dropped, longer text is cut
    to the column, so keeping the evidence can never fail the publish.
    """
    kept = evidence_for(feed)
    held = Path(staging) / HELD_BACK
    if kept is None or not held.is_file():
        return 0
    sent = {column: _sent(Path(staging), REJECTED, hub) for column, hub in kept.unparsed.items()}
    stored = 0
    for chunk in read_staged(held).iter_batches(batch_size=CHUNK):
        lines = chunk.column("line_no")
        cols = {"line_no": lines}
        for column, hub in kept.columns.items():
            if hub in chunk.schema.names:
                cols[column] = _fitting(chunk.column(hub), kept.table.c[column].type)
        for column, hub in kept.unparsed.items():
            values = sent[column]
            text = pc.take(values.column("value"), pc.index_in(lines, value_set=values.column("line_no")))
            if hub in chunk.schema.names:
                text = pc.if_else(pc.is_null(chunk.column(hub)), text, pa.nulls(len(text), pa.string()))
            cols[column] = _fitting(text, kept.table.c[column].type)
        frame = pa.table(cols).to_pandas()
        frame["batch_id"] = batch_id
        if kept.feed_column:
            frame[kept.feed_column] = feed
        rows = records(frame)
        if rows:
            conn.execute(sa.insert(kept.table), rows)
        stored += len(rows)
    return stored


def _sent(staging: Path, rejected: str, hub: str) -> pa.Table:
    """(line_no, value): the text as sent of the partner field that translates into `hub`, from the
    gate's rejections of it (empty when the mapping pinned at receipt is not there to name the field)."""
    empty = pa.table({"line_no": pa.array([], pa.int64()), "value": pa.array([], pa.string())})
    mapping, path = pinned(staging), staging / rejected
    partner = next((f.partner for f in mapping.fields if f.hub == hub), None) if mapping is not None else None
    if partner is None or not path.is_file():
        return empty
    found = pq.read_table(path, columns=["line_no", "field", "value"], filters=[("field", "==", partner)])
    found = found.filter(pc.is_valid(found["value"]))
    return found.select(["line_no", "value"]).cast(empty.schema) if found.num_rows else empty


def _fitting(values, kind) -> pa.Array:
    """Text as the column can hold it: null when it carries control characters, cut to the width."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_string(values.type) and isinstance(kind, sa.String):
        values = pc.if_else(pc.match_substring_regex(values, CONTROL_PATTERN),
                            pa.nulls(len(values), pa.string()), values)
        if kind.length:
            values = pc.utf8_slice_codeunits(values, 0, kind.length)
    return values


class _Evidence:
    """jinbao/store/consumers.py IN_PUBLISH: a batch's rejected records kept, for the feeds that declare it."""

    def applies(self, feed) -> bool:
        return evidence_for(feed.name) is not None

    def run(self, conn: Connection, batch, published: int, stamp: dt.datetime) -> None:
        keep_rejected(conn, batch.staging, batch.feed.name, batch.id)


EVIDENCE = _Evidence()


def rejected_roll_rows(conn: Connection, first_month: dt.date, last_month: dt.date) -> pa.Table:
    """The pension-roll rows the gate rejected whose month lies in [first_month, last_month] (first days
    or any day of them), and those whose month did not parse, which count for every period.

    Columns: `aac002` (as sent, possibly invalid), `month` (date32, null when it did not parse),
    `batch_id`, `line_no`, `file_name` (the delivery), `reasons` (the gate's reason codes for that line,
    sorted, joined with ", "), then `month_sent` and `amount_sent` (FFNY and FFJE as sent); ordered by
    batch and line.
    """
    rp, r = rejected_payment.c, rejection.c
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    period = sa.or_(rp.month.between(first, last), rp.month.is_(None))
    res = conn.execute(sa.select(rp.id, rp.aac002, rp.month, rp.batch_id, rp.line_no, batch.c.file_name,
                                 rp.month_sent, rp.amount_sent)
                       .join(batch, batch.c.id == rp.batch_id).where(period).order_by(rp.batch_id, rp.line_no))
    rows = res.fetchall()
    c = list(zip(*rows)) if rows else [[]] * 8
    found = pa.table({"id": pa.array(c[0], pa.int64()), "aac002": pa.array(c[1], pa.string()),
                      "month": pa.array(c[2], pa.date32()), "batch_id": pa.array(c[3], pa.int64()),
                      "line_no": pa.array(c[4], pa.int64()), "file_name": pa.array(c[5], pa.string()),
                      "month_sent": pa.array(c[6], pa.string()), "amount_sent": pa.array(c[7], pa.string())})
    codes = conn.execute(sa.select(rp.id, r.reason_code).distinct()
                         .join(rejection, sa.and_(r.batch_id == rp.batch_id, r.line_no == rp.line_no))
                         .where(period)).fetchall()
    c = list(zip(*codes)) if codes else [[], []]
    codes = pa.table({"id": pa.array(c[0], pa.int64()), "reason_code": pa.array(c[1], pa.string())})
    listed = (codes.sort_by([("id", "ascending"), ("reason_code", "ascending")])
              .group_by("id", use_threads=False).aggregate([("reason_code", "list")]))
    at = pc.index_in(found["id"], value_set=listed["id"])
    reasons = pc.binary_join(pc.take(listed["reason_code_list"], at), ", ")
    return pa.table([found["aac002"], found["month"], found["batch_id"], found["line_no"], found["file_name"],
                     reasons, found["month_sent"], found["amount_sent"]],
                    names=["aac002", "month", "batch_id", "line_no", "file_name", "reasons", "month_sent",
                           "amount_sent"])
