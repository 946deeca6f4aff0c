"""Declared value rules (quality/value_rules.py, a feed's `quality.rules`): range, exact length, digits only and
pattern, judged on both paths with messages that say what was expected; and the mapping's rejections (a date
that does not parse, a code without a mapping) stating the agreed format or values."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from jinbao.declarations import load_feeds
from jinbao.mappings.tables import feed_mapping
from jinbao.quality.reasons import REASONS
from jinbao.quality.value_rules import Range, build
from jinbao.quality.verdict import Gate, judge
from jinbao.schemas.dictionary import hub_dictionary, partner_schema
from tests.deliveries import HRSS_COLUMNS, death_row, enrollment_row
from tests.jinbao.test_declarations import _broken, _refused, _write

DAY = dt.date(2026, 11, 22)
ENROLMENT = "hrss.resident_enrollment"
DECLARED = [
    {"rule": "range", "field": "enrollment_year", "min": 2000, "max": 2030, "reason": "YEAR_OUT_OF_RANGE"},
    {"rule": "length", "field": "unit_code", "length": 11},
    {"rule": "digits", "field": "unit_code"},
    {"rule": "pattern", "field": "unit_name", "regex": "[^0-9]*(社区|学校)[^0-9]*",
     "expected": "a school or community (学校、社区)"},
    {"rule": "range", "field": "paid_date", "min": dt.date(2020, 1, 1)},
    {"rule": "range", "field": "amount", "max": 1000},
]


def _rules():
    return tuple(build(r, hub_dictionary(), REASONS) for r in DECLARED)


def _enrolments():
    """One record per rule broken, one per malformed value the type's own rule catches, two good ones."""
    rows = [enrollment_row(i) for i in range(10)]
    rows[1]["CBND"] = "1999"                 # YEAR_OUT_OF_RANGE
    rows[2]["CBND"] = "20x6"                 # FORMAT_INVALID only: malformed is not also out of range
    rows[3]["DWBH"] = "52110105A01"          # NOT_DIGITS (11 characters)
    rows[4]["DWBH"] = "521101050011"         # LENGTH_INVALID (12 digits)
    rows[5]["DWMC"] = "某某贸易有限公司"        # PATTERN_MISMATCH
    rows[6]["JFRQ"] = "2019-12-31"           # OUT_OF_RANGE on a date
    rows[7]["GRJFJE"] = "1000.01"            # OUT_OF_RANGE on an amount
    rows[8]["GRJFJE"] = "1000.001"           # AMOUNT_INVALID only
    rows[9]["CBND"] = "2030"                 # the bound itself is inside
    batch = pa.record_batch({k: pa.array([r[k] for r in rows], pa.string()) for k in HRSS_COLUMNS[ENROLMENT]})
    return batch, np.arange(2, len(rows) + 2)


def _gate(rules=None) -> Gate:
    return Gate(feed_mapping(ENROLMENT, DAY), partner_schema(ENROLMENT), DAY, _rules() if rules is None else rules)


def test_each_declared_rule_rejects_its_record_with_a_message_saying_what_was_expected():
    batch, lines = _enrolments()
    verdict = judge(batch, lines, _gate())
    got = {(r["line_no"], r["field"], r["reason_code"]): r["message"] for r in verdict.rejected.to_pylist()}
    assert sorted(got) == [(3, "CBND", "YEAR_OUT_OF_RANGE"), (4, "CBND", "FORMAT_INVALID"),
                           (5, "DWBH", "NOT_DIGITS"), (6, "DWBH", "LENGTH_INVALID"),
                           (7, "DWMC", "PATTERN_MISMATCH"), (8, "JFRQ", "OUT_OF_RANGE"),
                           (9, "GRJFJE", "OUT_OF_RANGE"), (10, "GRJFJE", "AMOUNT_INVALID")]
    assert verdict.rejected_records == 8 and verdict.accepted.num_rows == 2       # 一票否决, the rest goes on
    assert got[(3, "CBND", "YEAR_OUT_OF_RANGE")] == ("参保年度须在2000至2030之间：CBND=1999 / "
                                                     "CBND=1999: enrolment year must lie between 2000 and 2030")
    assert "enrolling unit code must have exactly 11 characters" in got[(6, "DWBH", "LENGTH_INVALID")]
    assert "enrolling unit code must hold digits only" in got[(5, "DWBH", "NOT_DIGITS")]
    assert "must be a school or community (学校、社区)" in got[(7, "DWMC", "PATTERN_MISMATCH")]
    assert "JFRQ=2019-12-31: date paid must be 2020-01-01 or later" in got[(8, "JFRQ", "OUT_OF_RANGE")]
    assert "GRJFJE=1000.01: amount in yuan must be at most 1000" in got[(9, "GRJFJE", "OUT_OF_RANGE")]
    # without the declaration the same records pass those fields: the rules come from it alone
    plain = {(r["line_no"], r["reason_code"]) for r in judge(batch, lines, _gate(())).rejected.to_pylist()}
    assert plain == {(4, "FORMAT_INVALID"), (10, "AMOUNT_INVALID")}


def test_great_expectations_agrees_with_the_fast_path_on_every_declared_rule():
    ge_check = pytest.importorskip("jinbao.quality.ge_check")
    batch, lines = _enrolments()
    gate = _gate()
    fast: dict = {}
    for r in judge(batch, lines, gate).rejected.to_pylist():
        fast.setdefault((r["reason_code"], r["field"]), set()).add(r["line_no"])
    _, ge = ge_check.run(ge_check.ge_frame(batch, lines, gate), gate)
    assert {k: v for k, v in ge.items() if v} == fast


def test_a_personal_field_is_never_echoed():
    rule = build({"rule": "length", "field": "AAC003", "length": 3, "reason": "NAME_LENGTH"}, hub_dictionary(),
                 REASONS)
    batch, lines = _enrolments()                     # every name has two characters
    rows = [r for r in judge(batch, lines, _gate((rule,))).rejected.to_pylist() if r["reason_code"] == "NAME_LENGTH"]
    assert len(rows) == 10 and all(r["value"] is None for r in rows)
    assert {r["message"] for r in rows} == {"姓名须为3位：AAC003 / AAC003: name must have exactly 3 characters"}


def test_a_declared_rule_loads_typed_with_the_feed(tmp_path):
    raw = _broken(quality__rules=[*_broken()["quality"]["rules"],
                                  {"rule": "range", "field": "AAC060", "min": "2000-01-01", "reason": "TOO_OLD"}])
    spec = load_feeds(_write(tmp_path, raw))["police.death"]
    assert spec.quality.rules[1] == Range(field="AAC060", min=dt.date(2000, 1, 1), reason="TOO_OLD")


@pytest.mark.parametrize("rule, says", [
    ({"rule": "between", "field": "AAC060"}, "quality.rules[0].rule 'between'"),
    ({"rule": "range", "field": "AAC060", "min": "2000-01-01", "low": 1}, "quality.rules[0] has unknown key(s) low"),
    ({"rule": "length", "field": "AAC003"}, "quality.rules[0] lacks length"),
    ({"rule": "pattern", "field": "AAC003", "regex": "[a-z]+"}, "quality.rules[0] lacks expected"),
    ({"rule": "range", "field": "AAC999", "max": 3}, "quality.rules[0] (range on AAC999): field 'AAC999' is not a "
                                                     "hub field"),
    ({"rule": "range", "field": "AAC003", "max": 3}, "AAC003 is a name field; rule range applies to year, amount"),
    ({"rule": "range", "field": "AAC060"}, "range needs min, max or both"),
    ({"rule": "range", "field": "AAC060", "min": "2030-02-30"}, "min must be a date YYYY-MM-DD, got '2030-02-30'"),
    ({"rule": "range", "field": "enrollment_year", "min": "2000"}, "min must be a number, got '2000'"),
    ({"rule": "range", "field": "enrollment_year", "min": 2030, "max": 2000}, "min 2030 is above max 2000"),
    ({"rule": "range", "field": "dereg_date", "min": 2030}, "min must be a date YYYY-MM-DD, got 2030"),
    ({"rule": "length", "field": "dereg_reason", "length": 0}, "length must be a whole number of at least 1"),
    ({"rule": "pattern", "field": "AAB301", "regex": "([0-9]", "expected": "x"}, "is not a regular expression"),
    ({"rule": "pattern", "field": "AAB301", "regex": "(a)\\1", "expected": "x"}, "look-around or back-reference"),
    ({"rule": "digits", "field": "AAB301", "reason": "not digits"}, "reason 'not digits' must be a code"),
    ({"rule": "digits", "field": "AAB301", "reason": "DATE_INVALID"}, "DATE_INVALID already means something else"),
    ({"rule": "digits", "field": "unit_code"}, "quality.rules[0] (digits on unit_code): no version of mapping "
                                               "police.death translates a partner column into unit_code"),
])
def test_a_bad_value_rule_is_refused_naming_file_and_key(tmp_path, rule, says):
    message = _refused(tmp_path, _broken(quality__rules=[rule]))
    assert says in message, message


def test_a_date_that_does_not_parse_states_the_agreed_format_and_a_code_the_agreed_values():
    mapping = feed_mapping("police.death", DAY)
    rows = [death_row(0, SWRQ="2026/11/01"), death_row(1, ZXYY="7"), death_row(2, XB="5")]
    batch = pa.record_batch({k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]})
    got = {r["field"]: r["message"] for r in
           judge(batch, np.arange(2, 5), Gate(mapping, partner_schema("police.death"), DAY)).rejected.to_pylist()}
    assert got["SWRQ"] == ("日期不存在或不符合约定格式YYYYMMDD：SWRQ=2026/11/01 / "
                           "SWRQ=2026/11/01 is not a date in the agreed format YYYYMMDD")
    dereg = sorted(mapping.code_tables["police.dereg_reason"].forward)
    assert got["ZXYY"].endswith(f"code 7 of ZXYY has no mapping; agreed values: {', '.join(dereg)}")
    assert got["XB"].endswith("code 5 of XB has no mapping; agreed values: 0, 1, 2, 9")


def test_a_long_code_table_is_named_by_its_first_values_and_its_count():
    from jinbao.mappings.tables import agreed_values
    assert agreed_values([f"{i:02d}" for i in range(1, 57)]) == \
        "01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12, … (56 values)"
