"""The feed's rules as Great Expectations expectation specs (plain data, no GE import).

Generated from the same sources as the fast path (hub dictionary types,
partner schema, mapping, declared cross-field rules), each tagged with the
reason code and partner field the fast path reports, so that GE's unexpected
rows can be compared with the fast path's failures rule by rule.

Columns of the frame GE validates (see quality/ge_check.py): partner columns as
sent (trimmed, empty = null), `hub__<CODE>` translated values (dates as ISO
strings), `ge__id_gender` / `ge__id_birth` derived from valid IDs, `line_no`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from jinbao.quality.checks import AMOUNT_PATTERN, ID_PATTERN, NAME_FORBIDDEN
from jinbao.quality.encoding import mojibake_pattern
from jinbao.quality.verdict import Gate
from jinbao.schemas.dictionary import hub_dictionary


@dataclass(frozen=True)
class Spec:
    type: str
    kwargs: dict
    reason: str
    field: str
    meta: dict = field(default_factory=dict)


def format_regex(fmt: str) -> str:
    """'%Y%m%d' -> '^[0-9]{4}[0-9]{2}[0-9]{2}$': the exact width the fast path demands."""
    out = re.escape(fmt)
    for code, rx in (("%Y", "[0-9]{4}"), ("%m", "[0-9]{2}"), ("%d", "[0-9]{2}")):
        out = out.replace(re.escape(code), rx).replace(code, rx)
    return f"^{out}$"


def hub(code: str) -> str:
    return f"hub__{code}"


def suite_specs(gate: Gate) -> list[Spec]:
    dictionary = hub_dictionary()
    on = gate.business_date.isoformat()
    partner = {r.hub: r.partner for r in gate.mapping.fields}
    specs: list[Spec] = []
    add = lambda t, reason, fld, **kw: specs.append(Spec(t, kw, reason, fld))  # noqa: E731

    for col in gate.schema.columns:
        if col.required:
            add("expect_column_values_to_not_be_null", "REQUIRED", col.name, column=col.name)
    for r in gate.mapping.fields:
        if r.codes:
            add("expect_column_values_to_be_in_set", "UNMAPPED_CODE", r.partner, column=r.partner,
                value_set=sorted(gate.mapping.code_tables[r.codes].forward))
        elif r.date_format:
            add("expect_column_values_to_match_regex", "DATE_INVALID", r.partner, column=r.partner,
                regex=format_regex(r.date_format))
            add("expect_column_values_to_match_strftime_format", "DATE_INVALID", r.partner, column=r.partner,
                strftime_format=r.date_format)
    if "AAC002" in partner:
        f = partner["AAC002"]
        add("expect_column_values_to_match_regex", "ID_FORMAT", f, column=hub("AAC002"), regex=ID_PATTERN)
        for stage, reason in (("checksum", "ID_CHECKSUM"), ("birth", "ID_BIRTHDATE_INVALID"),
                              ("address", "ID_ADDRESS_UNKNOWN")):
            add("expect_column_values_to_pass_citizen_id_stage", reason, f, column=hub("AAC002"),
                stage=stage, on=on)
        if "AAC006" in partner:
            add("expect_column_pair_values_to_be_equal", "ID_BIRTHDATE_MISMATCH", partner["AAC006"],
                column_A=hub("AAC006"), column_B="ge__id_birth", ignore_row_if="either_value_is_missing")
        if "AAA002" in partner:
            add("expect_column_pair_values_to_be_equal", "ID_GENDER_MISMATCH", partner["AAA002"],
                column_A="hub__AAA002_12", column_B="ge__id_gender", ignore_row_if="either_value_is_missing")
    coded = {r.hub for r in gate.mapping.fields if r.codes}
    for code, f in partner.items():
        spec = dictionary.get(code)
        if spec is None or code == "AAC002":
            continue
        col, t = hub(code), spec.type
        if t == "name":
            add("expect_column_values_to_not_match_regex", "BAD_ENCODING", f, column=col, regex=mojibake_pattern())
            add("expect_column_values_to_not_match_regex", "NAME_INVALID", f, column=col, regex=NAME_FORBIDDEN)
            add("expect_column_value_lengths_to_be_between", "NAME_INVALID", f, column=col,
                max_value=spec.max_length or 50)
        elif t == "text":
            add("expect_column_values_to_not_match_regex", "BAD_ENCODING", f, column=col, regex=mojibake_pattern())
            if spec.max_length:
                add("expect_column_value_lengths_to_be_between", "TEXT_TOO_LONG", f, column=col,
                    max_value=spec.max_length)
        elif t == "code" and code not in coded:
            if spec.codes:
                add("expect_column_values_to_be_in_set", "UNMAPPED_CODE", f, column=col, value_set=sorted(spec.codes))
            elif spec.reference == "gbt3304":
                from jinbao.mappings.reference import ethnicity_codes
                add("expect_column_values_to_be_in_set", "UNMAPPED_CODE", f, column=col,
                    value_set=sorted(ethnicity_codes()))
        elif t == "date" and spec.not_future:
            add("expect_column_values_to_be_between", "DATE_IN_FUTURE", f, column=col,
                max_value=dt.datetime.combine(gate.business_date, dt.time()))
        elif t == "division":
            from jinbao.mappings.reference import divisions
            import pyarrow.compute as pc
            d = divisions()
            county = pc.and_(pc.equal(d.column("level"), "county"), pc.not_equal(d.column("name"), "市辖区"))
            live = pc.and_(county, pc.and_(
                pc.less_equal(d.column("valid_from"), gate.business_date),
                pc.fill_null(pc.greater_equal(d.column("valid_to"), gate.business_date), True)))
            add("expect_column_values_to_be_in_set", "DIVISION_UNKNOWN", f, column=col,
                value_set=sorted(set(d.filter(live).column("code").to_pylist())))
        elif t == "uscc":
            add("expect_column_values_to_be_valid_uscc", "USCC_CHECKSUM", f, column=col)
        elif t == "amount":
            add("expect_column_values_to_match_regex", "AMOUNT_INVALID", f, column=col, regex=AMOUNT_PATTERN)
        elif t == "year":
            add("expect_column_values_to_match_regex", "FORMAT_INVALID", f, column=col, regex=r"^(19|20)[0-9]{2}$")
        elif t == "quarter":
            add("expect_column_values_to_match_regex", "FORMAT_INVALID", f, column=col,
                regex=r"^(19|20)[0-9]{2}Q[1-4]$")
    for rule in gate.rules:
        if rule.rule == "not_before" and rule.field in partner:
            earlier = hub(rule.than) if rule.than in partner else ("ge__id_birth" if rule.than == "AAC006" else None)
            if earlier:
                add("expect_column_pair_values_a_to_be_greater_than_b", rule.reason, partner[rule.field],
                    column_A=hub(rule.field), column_B=earlier, or_equal=True,
                    ignore_row_if="either_value_is_missing")
    return specs
