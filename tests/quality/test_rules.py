"""quality/rules.py on its own: every hub type has rules, and each rule's two forms fail the same values.

The agreement test (tests/test_ge_agreement.py) compares whole feeds; here
each rule is held to a hand-picked good and bad value, so a broken rule is
named directly, including rules no generated day happens to exercise.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pyarrow as pa
import pytest
import yaml

from jinbao.formats.citizen_id import with_check_char
from jinbao.formats.fixed_width import rows_with_digits
from jinbao.formats.uscc import with_check_char as with_uscc_check_char
from jinbao.quality import rules
from jinbao.quality.columns import ID, ID_BIRTH, ID_GENDER, STATED_GENDER, Column, ge_column
from jinbao.quality.failures import Failures
from jinbao.quality.reasons import REASONS
from jinbao.schemas.dictionary import HERE as SCHEMAS, hub_dictionary

DAY = dt.date(2026, 11, 22)
DICT = hub_dictionary()


def _id(first17: str) -> str:
    return with_check_char(pa.array([first17])).to_pylist()[0]


GOOD_ID = _id("11010519450312001")            # 朝阳区, born 1945-03-12, male
GOOD_USCC = with_uscc_check_char(pa.array(["12110000400000123"])).to_pylist()[0]


@dataclass
class Case:
    """A hub field, values (None is padding: absent values are never judged) and the rows that must fail."""

    code: str
    values: list
    reason: str
    bad: set[int]
    coded: bool = False


CASES = [
    Case("AAC002", [GOOD_ID, GOOD_ID[:-1]], "ID_FORMAT", {1}),
    Case("AAC002", [GOOD_ID, "1101051945031200lX"], "ID_FORMAT", {1}),
    Case("AAC002", [GOOD_ID, GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")], "ID_CHECKSUM", {1}),
    Case("AAC002", [GOOD_ID, _id("11010519450230001"), _id("11010520300101001")], "ID_BIRTHDATE_INVALID", {1, 2}),
    Case("AAC002", [GOOD_ID, _id("99010519450312001"), _id("31011519491001001")], "ID_ADDRESS_UNKNOWN", {1}),
    Case("AAC003", ["王伟", "王伟2", "王伟２"], "NAME_INVALID", {1, 2}),
    Case("AAC003", ["买买提·艾力", "王" * 51, "王" * 50], "NAME_INVALID", {1}),
    Case("AAC003", ["王伟", "ÍõÎ°", "寮犱笁"], "BAD_ENCODING", {1, 2}),
    Case("funeral_home", ["八宝山殡仪馆", "殡" * 201, "殡" * 200], "TEXT_TOO_LONG", {1}),
    Case("funeral_home", ["八宝山殡仪馆", "八宝山\ufffd"], "BAD_ENCODING", {1}),
    Case("AAA002", ["1", "5", "9"], "UNMAPPED_CODE", {1}),
    Case("AAC005", ["01", "57", "56"], "UNMAPPED_CODE", {1}),
    Case("AAC060", [DAY, DAY + dt.timedelta(days=1), dt.date(1945, 3, 12)], "DATE_IN_FUTURE", {1}),
    Case("AAB301", ["310115", "310119", "310100"], "DIVISION_UNKNOWN", {1, 2}),
    # the owing division: a province, a city (a municipality's 市辖区 too) or a county, in force on DAY
    Case("owing_division", ["130000", "130100", "130101"], "DIVISION_UNKNOWN", {2}),
    Case("owing_division", ["310100", "310119", "139000"], "DIVISION_UNKNOWN", {1, 2}),
    Case("owing_division", ["310115", "990000", "13010"], "DIVISION_UNKNOWN", {1, 2}),
    Case("AAB998", [GOOD_USCC, GOOD_USCC[:-1] + ("0" if GOOD_USCC[-1] != "0" else "1"), "x"], "USCC_CHECKSUM",
         {1, 2}),
    Case("amount", ["12.50", "-1", "1.234"], "AMOUNT_INVALID", {1, 2}),
    Case("subsidy_year", ["2026", "26", "2126"], "FORMAT_INVALID", {1, 2}),
    Case("report_quarter", ["2026Q3", "2026Q5", "2026"], "FORMAT_INVALID", {1, 2}),
    # a month is its first day (the translator reads YYYY-MM / YYYYMM); the business month is not the future
    Case("month", [dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(1998, 1, 1)], "MONTH_IN_FUTURE", {1}),
    Case("paid_flag", ["1", "2", "0"], "UNMAPPED_CODE", {1}),
    Case("death_action", ["1", "3", "2"], "UNMAPPED_CODE", {1}),
]
DATED = ("date", "month")
ROWS = 3


def _padded(values: list) -> list:
    return values + [None] * (ROWS - len(values))


def _column(case: Case, i: int, with_values: bool) -> Column:
    spec = DICT[case.code]
    values = None
    if with_values:
        values = pa.array(_padded(case.values), pa.date32() if spec.type in DATED else pa.string())
    return Column(f"case{i}", spec, DAY, values)


def _fast(rule: rules.Rule, *cols: Column) -> set[int]:
    f = Failures(ROWS)
    rule.check(f, "F", pa.nulls(ROWS, pa.string()), *cols)
    return set(f.table().column("row").to_pylist())


def test_every_hub_type_has_an_entry_and_no_entry_is_stale():
    raw = yaml.safe_load((SCHEMAS / "hub_dictionary.yaml").read_text(encoding="utf-8"))
    types = {f["type"] for f in raw["fields"].values()}
    assert types == set(rules.TYPE_RULES)


def test_every_reason_is_a_known_reason_code():
    table = [r for rs in rules.TYPE_RULES.values() for r in rs]
    for rule in table + [rules.REQUIRED, rules.BIRTH_MATCHES_ID, rules.GENDER_MATCHES_ID]:
        assert rule.reason in REASONS and rule.expect


def test_an_unknown_hub_type_is_refused_not_skipped():
    with pytest.raises(ValueError, match="TYPE_RULES"):
        rules.field_rules(replace(DICT["AAC003"], type="postcode"), coded=False)


def test_every_type_with_a_case():
    judged = {DICT[c.code].type for c in CASES}
    assert judged == {t for t, rs in rules.TYPE_RULES.items() if rs}


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c.code}-{c.reason}" for c in CASES])
def test_fast_path_fails_exactly_the_bad_values(i):
    case = CASES[i]
    col = _column(case, i, True)
    got = {(row, rule.reason) for rule in rules.field_rules(col.spec, case.coded) for row in _fast(rule, col)}
    assert got == {(row, case.reason) for row in case.bad}


def _pairs():
    """(rule, reason, fast columns, GE columns as a frame dict) for the rules that compare two columns."""
    ids = pa.array([GOOD_ID] * ROWS)
    id_col = Column(ge_column(ID), DICT[ID], DAY, ids)
    births = [dt.date(1945, 3, 12), dt.date(1945, 3, 13), None]
    later = Column("hub__later", DICT["AAC060"], DAY, pa.array([DAY, dt.date(1945, 3, 11), DAY]))
    earlier = Column("hub__earlier", DICT["AAC006"], DAY, pa.array([dt.date(1945, 3, 12)] * ROWS))
    return [
        (rules.BIRTH_MATCHES_ID, (Column("hub__AAC006", DICT["AAC006"], DAY, pa.array(births)), id_col),
         {"hub__AAC006": births, ID_BIRTH: [dt.date(1945, 3, 12)] * ROWS}),
        (rules.GENDER_MATCHES_ID, (Column("hub__AAA002", DICT["AAA002"], DAY, pa.array(["1", "2", "9"])), id_col),
         {STATED_GENDER: ["1", "2", None], ID_GENDER: ["1"] * ROWS}),
        (rules.not_before("DEATH_BEFORE_BIRTH"), (later, earlier),
         {"hub__later": later.values.to_pylist(), "hub__earlier": earlier.values.to_pylist()}),
        (rules.REQUIRED, (Column("P", values=pa.array(["x", None, "y"])),), {"P": ["x", None, "y"]}),
    ]


def test_pair_rules_fast_path():
    for rule, cols, _ in _pairs():
        assert _fast(rule, *cols) == {1}, rule.reason


def test_a_month_is_in_the_future_from_the_first_day_after_the_business_month():
    assert rules.month_end(DAY) == dt.date(2026, 11, 30) and rules.month_end(dt.date(2026, 12, 31)) == dt.date(2026, 12, 31)
    col = Column("m", DICT["month"], dt.date(2026, 12, 1), pa.array([dt.date(2026, 12, 1), dt.date(2027, 1, 1), None]))
    (rule,) = rules.field_rules(DICT["month"], coded=False)
    assert _fast(rule, col) == {1}


def test_name_forbidden_pattern_is_what_the_byte_scan_finds():
    import re
    samples = ["王伟", "王伟2", "王伟２", "０", "Ａ", "买买提·艾力", "x9y", "", "①"]
    assert rows_with_digits(pa.array(samples)).tolist() == [bool(re.search(rules.NAME_FORBIDDEN, s)) for s in samples]


# --- the GE form: one validation run for every case ------------------------------------------------

@pytest.fixture(scope="module")
def ge_lines():
    ge_check = pytest.importorskip("jinbao.quality.ge_check")
    import pandas as pd
    from jinbao.quality.suites import Spec

    frame, specs = {"line_no": list(range(ROWS))}, []
    for i, case in enumerate(CASES):
        col = _column(case, i, False)
        values = _padded(case.values)
        frame[col.name] = pd.to_datetime(pd.Series(values)) if col.spec.type in DATED else values
        specs += [Spec(t, kw, rule.reason, col.name) for rule in rules.field_rules(col.spec, case.coded)
                  for t, kw in rule.expectations(col)]
    for rule, cols, columns in _pairs():
        for name, values in columns.items():
            dated = any(isinstance(v, dt.date) for v in values)
            frame[name] = pd.to_datetime(pd.Series(values)) if dated else values
        specs += [Spec(t, kw, rule.reason, cols[0].name) for t, kw in rule.expectations(*cols)]
    df = pd.DataFrame(frame)
    text = [c for c in df.columns if c != "line_no" and not pd.api.types.is_datetime64_any_dtype(df[c])]
    df[text] = df[text].astype(object).where(df[text].notna(), None)
    _, lines = ge_check.run_specs(df, specs, name="rules")
    return lines


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c.code}-{c.reason}" for c in CASES])
def test_ge_form_fails_exactly_the_bad_values(ge_lines, i):
    case = CASES[i]
    got = {(row, reason) for (reason, name), rows in ge_lines.items() if name == f"case{i}" for row in rows}
    assert got == {(row, case.reason) for row in case.bad}


def test_pair_rules_ge_form(ge_lines):
    for rule, cols, _ in _pairs():
        assert ge_lines[(rule.reason, cols[0].name)] == {1}, rule.reason
