"""The record-level verdict: one failed field rejects the whole record (一票否决).

The rules for a feed are not written per feed: they follow from each hub
field's type in the hub dictionary, the partner schema's required columns and
the few cross-field rules the feed declaration lists.  They live in
quality/rules.py, which the Great Expectations suites are generated from too,
so the two cannot drift.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.formats import citizen_id
from jinbao.mappings.successions import succeed
from jinbao.mappings.tables import FeedMapping
from jinbao.mappings.translator import normalise_batch, translate
from jinbao.privacy import mask_ids
from jinbao.quality import rules
from jinbao.quality.columns import BIRTH, ID, Column
from jinbao.quality.cross import NotBefore
from jinbao.quality.failures import Failures
from jinbao.quality.plan import Columns, plan
from jinbao.quality.value_rules import ValueRule
from jinbao.schemas.dictionary import PartnerSchema

REJECTION_SCHEMA = pa.schema([
    ("line_no", pa.int64()),
    ("masked_id", pa.string()),
    ("field", pa.string()),
    ("value", pa.string()),
    ("reason_code", pa.string()),
    ("message", pa.string()),
])


@dataclass(frozen=True)
class Gate:
    """Everything needed to judge one delivery, pinned to its business date."""

    mapping: FeedMapping
    schema: PartnerSchema
    business_date: dt.date
    rules: tuple[NotBefore | ValueRule, ...] = ()     # the declaration's (quality/cross.py, value_rules.py)
    #: The latest business date the hub's clock allowed when the delivery came in (ledger.latest_business_date);
    #: None: the business date alone.
    not_after: dt.date | None = None

    @property
    def latest(self) -> dt.date:
        """The latest date a "not in the future" field may hold: the business date, or the hub's day when
        that is earlier (a date is never in the future because a partner dated its file so)."""
        return min(self.business_date, self.not_after) if self.not_after else self.business_date


@dataclass
class Verdict:
    accepted: pa.Table     # hub columns + line_no
    rejected: pa.Table     # REJECTION_SCHEMA, one row per failed field
    rejected_records: int
    held_back: pa.Table | None = None   # the rejected records themselves, hub columns as far as translated
    #: REJECTION_SCHEMA rows that reject nothing: a division taken as its successor (mappings/successions.py)
    warnings: pa.Table | None = None
    #: partner column -> how many records hold a value in it (trimmed, not empty): what a column's
    #: failures are measured against (quality/suspect.py)
    present: dict[str, int] = field(default_factory=dict)


def judge(batch: pa.RecordBatch, lines: np.ndarray, gate: Gate) -> Verdict:
    f = Failures(batch.num_rows)
    clean = normalise_batch(batch)
    for col in gate.schema.columns:
        if col.required:
            values = clean.column(col.name) if col.name in batch.schema.names \
                else pa.nulls(batch.num_rows, pa.string())
            rules.REQUIRED.check(f, col.name, None, Column(col.name, values=values))
    notes = Failures(batch.num_rows)
    hub = succeed(translate(batch, gate.mapping, f, clean), batch, gate.mapping, gate.business_date, f, notes)
    hub = _field_rules(hub, batch, gate, f)
    rejected_mask = f.rejected_mask()
    hub = hub.append_column("line_no", pa.array(lines, pa.int64()))
    accepted = hub.filter(pa.array(~rejected_mask))
    return Verdict(accepted=accepted, rejected=_rejections(f, hub, lines),
                   rejected_records=int(rejected_mask.sum()),
                   held_back=hub.filter(pa.array(rejected_mask)) if rejected_mask.any() else None,
                   warnings=_rejections(notes, hub, lines) if notes.parts else None,
                   present={name: len(col) - col.null_count for name, col in zip(clean.schema.names, clean.columns)})


def _field_rules(hub: pa.Table, raw: pa.RecordBatch, gate: Gate, f: Failures) -> pa.Table:
    """Returns the hub table with AAC006 from the ID when the partner sends none: the store keeps a birth date."""
    cols = Columns(gate.mapping, gate.business_date, hub, latest=gate.latest)

    def sent(name: str) -> pa.Array:
        return raw.column(name) if name in raw.schema.names else pa.nulls(raw.num_rows, pa.string())

    for step in plan(gate.mapping, gate.rules):
        step.rule.check(f, step.field, sent(step.field), *(cols[code] for code in step.reads))
    if ID in hub.column_names and BIRTH not in hub.column_names:
        hub = hub.append_column(BIRTH, cols[BIRTH].values)
    return hub


def _rejections(f: Failures, hub: pa.Table, lines: np.ndarray) -> pa.Table:
    fails = f.table()
    if fails.num_rows == 0:
        return REJECTION_SCHEMA.empty_table()
    rows = fails.column("row")
    ids = pc.take(hub.column("AAC002"), rows) if "AAC002" in hub.column_names \
        else pa.nulls(fails.num_rows, pa.string())
    return pa.table({
        "line_no": pc.take(pa.array(lines, pa.int64()), rows),
        "masked_id": mask_ids(ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids),
        "field": fails.column("field"),
        "value": fails.column("value"),
        "reason_code": fails.column("reason_code"),
        "message": fails.column("message"),
    }, schema=REJECTION_SCHEMA)
