"""The record-level verdict: one failed field rejects the whole record (一票否决).

The rules for a feed are not written per feed: they follow from each hub
field's type in the hub dictionary, the partner schema's required columns and
the few cross-field rules the feed declaration lists.  The same rule list is
what the Great Expectations suites are generated from, so the two cannot drift.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.mappings.tables import FeedMapping
from jinbao.mappings.translator import normalise_batch, translate
from jinbao.quality import checks, citizen_id
from jinbao.quality.failures import Failures
from jinbao.schemas.dictionary import HubField, PartnerSchema, hub_dictionary

REJECTION_SCHEMA = pa.schema([
    ("line_no", pa.int64()),
    ("masked_id", pa.string()),
    ("field", pa.string()),
    ("value", pa.string()),
    ("reason_code", pa.string()),
    ("message", pa.string()),
])


@dataclass(frozen=True)
class CrossRule:
    rule: str        # not_before
    field: str       # hub code
    than: str        # hub code
    reason: str


@dataclass(frozen=True)
class Gate:
    """Everything needed to judge one delivery, pinned to its business date."""

    mapping: FeedMapping
    schema: PartnerSchema
    business_date: dt.date
    rules: tuple[CrossRule, ...] = ()


@dataclass
class Verdict:
    accepted: pa.Table     # hub columns + line_no
    rejected: pa.Table     # REJECTION_SCHEMA, one row per failed field
    rejected_records: int


def judge(batch: pa.RecordBatch, lines: np.ndarray, gate: Gate) -> Verdict:
    f = Failures(batch.num_rows)
    mapping = gate.mapping
    clean = normalise_batch(batch)
    for col in gate.schema.columns:
        if col.required:
            values = clean.column(col.name) if col.name in batch.schema.names \
                else pa.nulls(batch.num_rows, pa.string())
            f.add(pc.is_null(values), col.name, "REQUIRED")
    hub = _field_rules(translate(batch, mapping, f, clean), batch, gate, f)
    rejected_mask = f.rejected_mask()
    hub = hub.append_column("line_no", pa.array(lines, pa.int64()))
    accepted = hub.filter(pa.array(~rejected_mask))
    return Verdict(accepted=accepted, rejected=_rejections(f, hub, lines),
                   rejected_records=int(rejected_mask.sum()))


def _field_rules(hub: pa.Table, raw: pa.RecordBatch, gate: Gate, f: Failures) -> pa.Table:
    """Apply the dictionary type rules, then the declared cross-field rules.

    Returns the hub table with AAC006 derived from the ID when the partner
    does not send a birth date, so that cross-field rules can use it.
    """
    dictionary = hub_dictionary()
    on = gate.business_date
    partner = {r.hub: r.partner for r in gate.mapping.fields}
    coded = {r.hub for r in gate.mapping.fields if r.codes}

    def col(code: str) -> pa.Array:
        return hub.column(code).combine_chunks()

    def sent(code: str) -> pa.Array:
        return raw.column(partner[code]) if partner.get(code) in raw.schema.names \
            else pa.nulls(raw.num_rows, pa.string())

    id_ok = np.zeros(hub.num_rows, dtype=bool)
    if "AAC002" in hub.column_names:
        id_ok, id_births, id_male = checks.check_citizen_id(col("AAC002"), partner["AAC002"], on, f)
        if "AAC006" in hub.column_names:
            checks.check_birth_date(col("AAC006"), id_births, partner["AAC006"], f, sent("AAC006"))
        else:
            hub = hub.append_column("AAC006", id_births)
    for code in list(hub.column_names):
        spec: HubField | None = dictionary.get(code)
        if spec is None or code not in partner or code == "AAC002":
            continue
        _type_rule(spec, col(code), partner[code], code in coded, on, f, sent(code))
    if "AAA002" in hub.column_names and "AAC002" in hub.column_names:
        checks.check_gender(col("AAA002"), id_male, id_ok, partner["AAA002"], f, sent("AAA002"))
    for rule in gate.rules:
        if rule.rule == "not_before" and rule.field in hub.column_names and rule.than in hub.column_names:
            checks.check_not_before(col(rule.field), col(rule.than), rule.reason,
                                    partner.get(rule.field, rule.field), f, sent(rule.field))
    return hub


def _type_rule(spec: HubField, values: pa.Array, field: str, coded: bool, on: dt.date, f: Failures,
               raw: pa.Array) -> None:
    t = spec.type
    if t == "name":
        checks.check_name(values, field, spec.max_length or 50, f)
    elif t == "text":
        checks.check_text(values, field, spec.max_length, f, raw)
    elif t == "code":
        if spec.codes and not coded:
            checks.check_in_set(values, set(spec.codes), field, f, raw)
        elif spec.reference == "gbt3304":
            from jinbao.mappings.reference import ethnicity_codes
            checks.check_in_set(values, ethnicity_codes(), field, f, raw)
    elif t == "date":
        if spec.not_future:
            checks.check_not_future(values, on, field, f, raw)
    elif t == "division":
        from jinbao.mappings.reference import division_valid
        present = checks.as_mask(pc.is_valid(values))
        f.add(present & ~division_valid(values, on), field, "DIVISION_UNKNOWN", raw)
    elif t == "uscc":
        from jinbao.quality.uscc import valid
        present = checks.as_mask(pc.is_valid(values))
        f.add(present & ~valid(values), field, "USCC_CHECKSUM", raw)
    elif t == "amount":
        checks.check_pattern(values, checks.AMOUNT_PATTERN, "AMOUNT_INVALID", field, f, raw)
    elif t == "year":
        checks.check_pattern(values, r"^(19|20)[0-9]{2}$", "FORMAT_INVALID", field, f, raw)
    elif t == "quarter":
        checks.check_pattern(values, r"^(19|20)[0-9]{2}Q[1-4]$", "FORMAT_INVALID", field, f, raw)


def _rejections(f: Failures, hub: pa.Table, lines: np.ndarray) -> pa.Table:
    fails = f.table()
    if fails.num_rows == 0:
        return REJECTION_SCHEMA.empty_table()
    rows = fails.column("row")
    ids = pc.take(hub.column("AAC002"), rows) if "AAC002" in hub.column_names \
        else pa.nulls(fails.num_rows, pa.string())
    return pa.table({
        "line_no": pc.take(pa.array(lines, pa.int64()), rows),
        "masked_id": citizen_id.mask(ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids),
        "field": fails.column("field"),
        "value": fails.column("value"),
        "reason_code": fails.column("reason_code"),
        "message": fails.column("message"),
    }, schema=REJECTION_SCHEMA)
