"""Judging a whole delivery: stream it through the gate into accepted and rejected Parquet.

To *judge* is to decide every record's fate; this module does it for a
delivery file as the engine's judge step needs it, `verdict.judge` does it
for one block of records.  The file is streamed block by block (memory
depends on the block size and thread count, never on the file), and the two
Parquet files appear under their final names only when complete, so a crash
leaves either nothing or a whole result.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jinbao.exchange_zone.reader import open_csv
from jinbao.quality.parallel import judge_stream
from jinbao.quality.reasons import message as reason_message
from jinbao.quality.verdict import REJECTION_SCHEMA, CrossRule, Gate

ACCEPTED = "accepted.parquet"
REJECTED = "rejected.parquet"


@dataclass(frozen=True)
class Judged:
    received: int
    rejected: int

    @property
    def accepted(self) -> int:
        return self.received - self.rejected


def gate_for(spec, business_date: dt.date) -> Gate:
    """The gate of a declared feed, pinned to the mapping version in force on the business date."""
    from jinbao.mappings.tables import feed_mapping
    from jinbao.schemas.dictionary import partner_schema

    return Gate(mapping=feed_mapping(spec.mapping, business_date), schema=partner_schema(spec.schema),
                business_date=business_date, rules=tuple(CrossRule(**r) for r in spec.rules))


def open_delivery_csv(path: Path, encoding: str, gate: Gate):
    """The delivery as a stream of (block, line numbers), its header checked against the partner schema."""
    return open_csv(path, encoding, gate.schema.names, [c.name for c in gate.schema.columns if c.required])


def judge_delivery(path: Path, encoding: str, gate: Gate, staging: Path, workers: int) -> Judged:
    """Write `staging/accepted.parquet` and `staging/rejected.parquet`; return the counts."""
    stream = open_delivery_csv(path, encoding, gate)
    acc_tmp, rej_tmp = staging / (ACCEPTED + ".tmp"), staging / (REJECTED + ".tmp")
    acc_writer = rej_writer = None
    received = rejected = 0
    try:
        rej_writer = pq.ParquetWriter(rej_tmp, REJECTION_SCHEMA)
        for block, verdict in judge_stream(stream.blocks(), gate, workers):
            received += block.num_rows
            rejected += verdict.rejected_records
            if acc_writer is None:
                acc_writer = pq.ParquetWriter(acc_tmp, verdict.accepted.schema)
            acc_writer.write_table(verdict.accepted)
            rej_writer.write_table(verdict.rejected)
        if stream.malformed:
            rej_writer.write_table(malformed_rejections(stream.malformed))
            received += len(stream.malformed)
            rejected += len(stream.malformed)
    finally:
        for w in (acc_writer, rej_writer):
            if w is not None:
                w.close()
    if acc_writer is None:  # no well-formed record at all
        pq.write_table(pa.table({"line_no": pa.array([], pa.int64())}), acc_tmp)
    os.replace(acc_tmp, staging / ACCEPTED)
    os.replace(rej_tmp, staging / REJECTED)
    return Judged(received, rejected)


def malformed_rejections(rows: list[tuple[int, str]]) -> pa.Table:
    """Rejections for lines the reader could not split into the header's fields."""
    return pa.table({
        "line_no": pa.array([r[0] for r in rows], pa.int64()),
        "masked_id": pa.nulls(len(rows), pa.string()),
        "field": pa.array(["*"] * len(rows), pa.string()),
        "value": pa.array([r[1] for r in rows], pa.string()),
        "reason_code": pa.array(["FIELD_COUNT"] * len(rows), pa.string()),
        "message": pa.array([reason_message("FIELD_COUNT", "*", r[1]) for r in rows], pa.string()),
    }, schema=REJECTION_SCHEMA)
