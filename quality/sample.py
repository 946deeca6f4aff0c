"""A partner's sample file judged exactly as a delivery would be, with nothing kept (`jinbao feeds check
FEED --sample FILE`): which columns fail, how often and why, before the first real delivery, so a wrong
date format or a code table missing a common value is found by the data engineer and not by the partner.

The real reader, translator and gate run (quality/judging.py `judge_delivery`) into a temporary folder
that is removed afterwards: no ledger batch, no receipt, no staging, nothing in the store.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from jinbao.privacy import mask_text
from jinbao.quality.judge_step import record_keys
from jinbao.quality.judging import gate_for, judge_delivery
from jinbao.quality.suspect import Suspicion, suspicion
from jinbao.staged.layout import REJECTED


@dataclass(frozen=True)
class ColumnShare:
    column: str        # the partner's column name, as the receipt would say it
    records: int       # records failing on it
    share: float       # of the records received


@dataclass(frozen=True)
class Reason:
    column: str
    code: str
    records: int
    example: str       # one message, IDs masked


@dataclass(frozen=True)
class Sample:
    received: int
    rejected: int
    columns: tuple[ColumnShare, ...]     # worst first
    reasons: tuple[Reason, ...]          # most frequent first
    #: a column failing one rule throughout: a delivery like it is held before any receipt (quality/suspect.py)
    suspected: Suspicion | None = None


def judge_sample(spec, path: Path, business_date: dt.date, workers: int = 1, top: int = 10) -> Sample:
    """`path` judged as a delivery of `spec` on `business_date` (the mapping in force that day)."""
    gate = gate_for(spec, business_date)
    with tempfile.TemporaryDirectory(prefix="jinbao-sample-") as tmp:
        judged = judge_delivery(Path(path), spec.format.encoding, gate, Path(tmp), workers, keys=record_keys(spec))
        rejected = pq.read_table(Path(tmp) / REJECTED, columns=["line_no", "field", "reason_code", "message"])
        suspected = suspicion(Path(tmp), judged.present, gate.mapping, spec)
    received = max(judged.received, 1)
    per_column = rejected.group_by("field").aggregate([("line_no", "count_distinct")])
    columns = sorted((ColumnShare(f, n, n / received) for f, n in
                      zip(per_column["field"].to_pylist(), per_column["line_no_count_distinct"].to_pylist())),
                     key=lambda c: (-c.records, c.column))
    per_reason = rejected.group_by(["field", "reason_code"]).aggregate([("line_no", "count_distinct")])
    reasons = []
    for field, code, n in zip(per_reason["field"].to_pylist(), per_reason["reason_code"].to_pylist(),
                              per_reason["line_no_count_distinct"].to_pylist()):
        first = rejected.filter(pc.and_(pc.equal(rejected["field"], field), pc.equal(rejected["reason_code"], code)))
        reasons.append(Reason(field, code, n, mask_text(str(first["message"][0].as_py()))))
    reasons.sort(key=lambda r: (-r.records, r.column, r.code))
    return Sample(judged.received, judged.rejected, tuple(columns), tuple(reasons[:top]), suspected)
