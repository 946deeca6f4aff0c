"""Every field rule of the gate, written once: reason, fast-path mask and Great Expectations form side by side.

The fast path (quality/verdict.py) and the GE suite (quality/suites.py) both
read this table through quality/plan.py, so a rule cannot exist in one and be
forgotten in the other, and tests/quality/test_ge_agreement.py can hold them to the
same rows.  Adding a hub type is one entry in TYPE_RULES; changing a pattern
is one edit below.

A rule's fast form is a mask over present values only (an absent value is
REQUIRED and nothing else).  Its GE form is a list of expectations on the
frame quality/ge_check.py builds (`hub__<CODE>` translated columns); the rule's
failures are the union of their unexpected rows.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from jinbao.formats import citizen_id, uscc
from jinbao.formats.encoding import looks_mojibake, mojibake_pattern
from jinbao.formats.fixed_width import rows_with_digits
from jinbao.mappings.reference import (ANY, allowed_codes, county_code_ints, division_valid, live_county_codes,
                                       live_division_codes)
from jinbao.mappings.tables import agreed_values
from jinbao.quality.columns import ID_BIRTH, ID_GENDER, STATED_GENDER, Column, as_mask
from jinbao.quality.failures import Failures
from jinbao.quality.value_rules import DATE_TYPES
from jinbao.schemas.dictionary import HubField, hub_dictionary
from jinbao.schemas.store_tables import TARGETS

ID_PATTERN = r"^[0-9]{17}[0-9X]$"
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
YEAR_PATTERN = r"^(19|20)[0-9]{2}$"
QUARTER_PATTERN = r"^(19|20)[0-9]{2}Q[1-4]$"
NAME_FORBIDDEN = r"[0-9０-９]"       # GE's form; the fast form is rows_with_digits, one scan of the bytes
NAME_MAX = 50
#: C0 controls and DEL: PostgreSQL cannot store NUL in text, and none belongs in a name or an address.
CONTROL_PATTERN = r"[\x00-\x1f\x7f]"


@dataclass(frozen=True)
class Expect:
    type: str
    kwargs: Callable[..., dict]       # called with the same Columns as Rule.fails (GE's have names only)


@dataclass(frozen=True)
class Rule:
    reason: str
    fails: Callable[..., np.ndarray]  # over the Column(s) the rule reads, the judged one first
    expect: tuple[Expect, ...]
    when: Callable[[HubField, bool], bool] = lambda spec, coded: True
    echo: bool = True                 # the receipt shows the value as sent (never personal or garbled text)
    #: What was agreed, for the message (quality/reasons.py EXPECTED): over the judged Column
    expected: Callable[[Column], str | tuple[str, str]] | None = None

    def check(self, f: Failures, field: str, sent: pa.Array, *cols: Column) -> None:
        f.add(self.fails(*cols), field, self.reason, sent if self.echo else None,
              self.expected(cols[0]) if self.expected else None)

    def expectations(self, *cols: Column) -> list[tuple[str, dict]]:
        return [(e.type, e.kwargs(*cols)) for e in self.expect]


def _col(c: Column, **kwargs) -> dict:
    return {"column": c.name, **kwargs}


def _regex(reason: str, pattern: str) -> Rule:
    return Rule(reason, lambda c: c.present & ~as_mask(pc.match_substring_regex(c.values, pattern)),
                (Expect("expect_column_values_to_match_regex", lambda c: _col(c, regex=pattern)),))


def _not_regex(pattern: str) -> Expect:
    return Expect("expect_column_values_to_not_match_regex", lambda c: _col(c, regex=pattern))


@functools.lru_cache(maxsize=None)
def store_length(code: str) -> int | None:
    """The shortest text column named after the hub field in any published table.

    A value longer than that cannot be stored (PostgreSQL and MariaDB refuse it,
    SQLite would keep it), so the gate rejects it per record and every backend
    gives the same result for the same file."""
    lengths = [col.type.length for table in TARGETS.values() for col in table.columns
               if col.name == code.lower() and isinstance(col.type, sa.String) and col.type.length]
    return min(lengths) if lengths else None


def _limit(*limits: int | None) -> int | None:
    given = [n for n in limits if n]
    return min(given) if given else None


def _name_max(spec: HubField) -> int:
    return _limit(spec.max_length or NAME_MAX, store_length(spec.code))


def _text_max(spec: HubField) -> int | None:
    return _limit(spec.max_length, store_length(spec.code))


def _longer(c: Column, limit: int | None) -> np.ndarray:
    return c.present & as_mask(pc.greater(pc.utf8_length(c.values), limit))


def _at_most(limit: Callable[[HubField], int | None]) -> Expect:
    return Expect("expect_column_value_lengths_to_be_between", lambda c: _col(c, max_value=limit(c.spec)))


@functools.lru_cache(maxsize=64)
def _value_set(codes: frozenset[str]) -> pa.Array:
    return pa.array(sorted(codes), pa.string())


@dataclass(frozen=True)
class IdReading:
    """All four ID verdicts from one pass over the bytes, and what the birth date and gender are held to."""

    fails: dict[str, np.ndarray]
    valid: np.ndarray
    births: pa.Array          # date32, null where the ID is not valid
    male: np.ndarray


def read_ids(c: Column) -> IdReading:
    facts = citizen_id.inspect(c.values)
    birth_ok = facts.checksum & ~np.isnat(facts.birth) & (facts.birth <= np.datetime64(c.until))
    # The address code must be a real county code of SOME year, not of the birth
    # year: IDs were issued decades after birth (docs/reference-data.md).
    address_ok = np.isin(facts.address, county_code_ints())
    valid = birth_ok & address_ok
    return IdReading(
        fails={"ID_FORMAT": facts.present & ~facts.well_formed, "ID_CHECKSUM": facts.well_formed & ~facts.checksum,
               "ID_BIRTHDATE_INVALID": facts.checksum & ~birth_ok, "ID_ADDRESS_UNKNOWN": birth_ok & ~address_ok},
        valid=valid, births=pa.array(np.where(valid, facts.birth, np.datetime64("NaT")), pa.date32()),
        male=facts.male)


def _id_rule(reason: str, expect: Expect) -> Rule:
    return Rule(reason, lambda c: c.once(read_ids).fails[reason], (expect,), echo=False)


def _id_stage(stage: str) -> Expect:
    return Expect("expect_column_values_to_pass_citizen_id_stage",
                  lambda c: _col(c, stage=stage, on=c.until.isoformat()))


_MOJIBAKE = Rule("BAD_ENCODING", lambda c: c.present & as_mask(looks_mojibake(c.values)),
                 (Expect("expect_column_values_to_not_match_regex", lambda c: _col(c, regex=mojibake_pattern())),),
                 echo=False)
_CONTROL = Rule("CONTROL_CHAR", lambda c: c.present & as_mask(pc.match_substring_regex(c.values, CONTROL_PATTERN)),
                (_not_regex(CONTROL_PATTERN),), echo=False)

def month_end(on: dt.date) -> dt.date:
    """The last day of `on`'s month: a month after it has not happened yet on the business date."""
    first_next = dt.date(on.year + on.month // 12, on.month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


#: Per hub type, the rules in the order their failures are listed for a record.
TYPE_RULES: dict[str, tuple[Rule, ...]] = {
    "citizen_id": (
        _id_rule("ID_FORMAT", Expect("expect_column_values_to_match_regex", lambda c: _col(c, regex=ID_PATTERN))),
        _id_rule("ID_CHECKSUM", _id_stage("checksum")),
        _id_rule("ID_BIRTHDATE_INVALID", _id_stage("birth")),
        _id_rule("ID_ADDRESS_UNKNOWN", _id_stage("address")),
    ),
    "name": (
        _MOJIBAKE,
        _CONTROL,
        Rule("NAME_INVALID", lambda c: c.present & (rows_with_digits(c.values) | _longer(c, _name_max(c.spec))),
             (_not_regex(NAME_FORBIDDEN), _at_most(_name_max)), echo=False),
    ),
    "text": (
        _MOJIBAKE,
        _CONTROL,
        Rule("TEXT_TOO_LONG", lambda c: _longer(c, _text_max(c.spec)), (_at_most(_text_max),),
             when=lambda spec, coded: bool(_text_max(spec)), echo=False),
    ),
    # A translated code is the mapping's business (UNMAPPED_CODE in the translator), and
    # `jinbao mappings check` keeps every table inside the dictionary's set.
    "code": (
        Rule("UNMAPPED_CODE",
             lambda c: c.present & ~as_mask(pc.is_in(c.values, value_set=_value_set(allowed_codes(c.spec)))),
             (Expect("expect_column_values_to_be_in_set",
                     lambda c: _col(c, value_set=sorted(allowed_codes(c.spec)))),),
             when=lambda spec, coded: not coded and allowed_codes(spec) is not None,
             expected=lambda c: agreed_values(allowed_codes(c.spec))),
    ),
    "date": (
        Rule("DATE_IN_FUTURE", lambda c: as_mask(pc.greater(c.values, pa.scalar(c.until, pa.date32()))),
             (Expect("expect_column_values_to_be_between",
                     lambda c: _col(c, max_value=dt.datetime.combine(c.until, dt.time()))),),
             when=lambda spec, coded: spec.not_future),
    ),
    "division": (
        Rule("DIVISION_UNKNOWN", lambda c: c.present & ~division_valid(c.values, c.on),
             (Expect("expect_column_values_to_be_in_set",
                     lambda c: _col(c, value_set=sorted(live_county_codes(c.on)))),)),
    ),
    # The division that owes a subsidy: a province (xx0000), a city (xxxx00) or a county, in force on
    # the business date; the same reason as a county's, since the partner made the same mistake.
    "division_any": (
        Rule("DIVISION_UNKNOWN", lambda c: c.present & ~division_valid(c.values, c.on, ANY),
             (Expect("expect_column_values_to_be_in_set",
                     lambda c: _col(c, value_set=sorted(live_division_codes(c.on)))),)),
    ),
    "uscc": (
        Rule("USCC_CHECKSUM", lambda c: c.present & ~uscc.valid(c.values),
             (Expect("expect_column_values_to_be_valid_uscc", _col),)),
    ),
    "amount": (_regex("AMOUNT_INVALID", AMOUNT_PATTERN),),
    "year": (_regex("FORMAT_INVALID", YEAR_PATTERN),),
    "quarter": (_regex("FORMAT_INVALID", QUARTER_PATTERN),),
    # A month is the first day of its month (the mapping's date_format has no day, mappings/check.py).
    "month": (
        Rule("MONTH_IN_FUTURE", lambda c: as_mask(pc.greater(c.values, pa.scalar(month_end(c.until), pa.date32()))),
             (Expect("expect_column_values_to_be_between",
                     lambda c: _col(c, max_value=dt.datetime.combine(month_end(c.until), dt.time()))),),
             when=lambda spec, coded: spec.not_future),
    ),
    # Outbound only: the hub writes these, no partner sends them.
    "int": (),
}


#: The widest value, in characters, that the rules of these types let through: the exact widths of
#: ID_PATTERN, GB/T 2260 codes (division_valid), GB 32100 (uscc.valid), AMOUNT_PATTERN, YEAR_PATTERN
#: and QUARTER_PATTERN.  Names, texts, codes and dates follow from the field (`widest`); "int" is
#: outbound only and has no bound.
FIXED_WIDTH = {"citizen_id": 18, "division": 6, "division_any": 6, "uscc": 18, "amount": 13, "year": 4,
               "quarter": 6}


def widest(spec: HubField, codes: dict[str, str] | None = None, date_format: str | None = None) -> int | None:
    """The widest value (characters, after trimming) of a partner column translated into hub field
    `spec` that the gate can accept; None when no rule bounds it.  `codes`: the column's code table
    (partner code -> hub code), `date_format`: its layout, as the feed's mapping gives them.
    The reader holds lines to what follows from these (jinbao/staged/reader.py `line_limit`)."""
    if codes:
        return max(map(len, codes), default=0)
    if date_format:                              # the exact width the date rules demand (format_regex)
        return len(dt.date(2000, 12, 31).strftime(date_format))
    if spec.type in FIXED_WIDTH:
        return FIXED_WIDTH[spec.type]
    if spec.type == "name":
        return _name_max(spec)
    if spec.type == "text":
        return _text_max(spec)
    if spec.type == "code" and allowed_codes(spec):
        return max(map(len, allowed_codes(spec)))
    return None


def field_rules(spec: HubField, coded: bool) -> list[Rule]:
    """The rules of one hub field; `coded` when the feed translates it through a code table."""
    if spec.type not in TYPE_RULES:
        raise ValueError(f"hub type {spec.type!r} of {spec.code} has no entry in quality/rules.py TYPE_RULES")
    return [r for r in TYPE_RULES[spec.type] if r.when(spec, coded)]


def _pair(type_: str, a: Callable[[Column], str], b: Callable[[Column], str], **extra) -> Expect:
    return Expect(type_, lambda x, y: {"column_A": a(x), "column_B": b(y), **extra,
                                       "ignore_row_if": "either_value_is_missing"})


# Fields held to the ID read (field, ID column); GE compares with the columns ge_check derives.
BIRTH_MATCHES_ID = Rule(
    "ID_BIRTHDATE_MISMATCH", lambda c, i: as_mask(pc.not_equal(c.values, i.once(read_ids).births)),
    (_pair("expect_column_pair_values_to_be_equal", lambda c: c.name, lambda i: ID_BIRTH),))


def _gender_differs(c: Column, i: Column) -> np.ndarray:
    """Hub 1/2 must agree with the 17th digit's parity; 9 (unspecified) is not a contradiction."""
    ids = i.once(read_ids)
    says_male, says_female = as_mask(pc.equal(c.values, "1")), as_mask(pc.equal(c.values, "2"))
    differs = (says_male & ~ids.male) | (says_female & ids.male)
    return ids.valid & (says_male | says_female) & differs


GENDER_MATCHES_ID = Rule(
    "ID_GENDER_MISMATCH", _gender_differs,
    (_pair("expect_column_pair_values_to_be_equal", lambda c: STATED_GENDER, lambda i: ID_GENDER),))


@functools.lru_cache(maxsize=16)
def not_before(reason: str, expected: str | None = None) -> Rule:
    """The declared cross-field rule (feed declaration `quality.rules`), read as (later, earlier);
    `expected`: the message a reason code of the declaration's own carries (a hub code has its fixed one)."""
    return Rule(reason, lambda a, b: as_mask(pc.less(a.values, b.values)),
                (_pair("expect_column_pair_values_a_to_be_greater_than_b", lambda a: a.name, lambda b: b.name,
                       or_equal=True),), expected=None if expected is None else (lambda a: expected))


#: The values a number rule reads, per hub type: a malformed one is its type's failure
#: (FORMAT_INVALID, AMOUNT_INVALID), not also out of range (one reason per mistake).
WELL_FORMED = {"year": YEAR_PATTERN, "amount": AMOUNT_PATTERN, "int": r"^-?[0-9]+$"}
DIGITS_PATTERN = r"^[0-9]+$"


def _outside(d, c: Column) -> np.ndarray:
    """Range's fast form: dates compared as dates, numbers as numbers (well-formed ones only)."""
    if c.spec.type in DATE_TYPES:
        values, bound = c.values, (lambda v: pa.scalar(v, pa.date32()))
    else:
        well = c.present & as_mask(pc.match_substring_regex(c.values, WELL_FORMED[c.spec.type]))
        values = pc.cast(pc.if_else(pa.array(well), c.values, pa.scalar(None, pa.string())), pa.float64())
        bound = (lambda v: pa.scalar(float(v), pa.float64()))
    out = np.zeros(len(c.values), dtype=bool)
    if d.min is not None:
        out |= as_mask(pc.less(values, bound(d.min)))
    if d.max is not None:
        out |= as_mask(pc.greater(values, bound(d.max)))
    return out


def _range_expect(d) -> Expect:
    def kwargs(c: Column) -> dict:
        if c.spec.type in DATE_TYPES:          # GE's frame holds dates as Timestamps (ge_check.ge_frame)
            day = lambda v: None if v is None else dt.datetime.combine(v, dt.time())  # noqa: E731
            return _col(c, min_value=day(d.min), max_value=day(d.max))
        return _col(c, lowest=d.min, highest=d.max, well_formed=WELL_FORMED[c.spec.type])
    return Expect("expect_column_values_to_be_between" if hub_dictionary()[d.field].type in DATE_TYPES
                  else "expect_column_values_to_be_number_between", kwargs)


@functools.lru_cache(maxsize=64)
def value_rule(d) -> Rule:
    """A declared value rule (quality/value_rules.py: range, length, digits, pattern) on its field, the
    message saying what was expected; a personal field's value is never echoed."""
    echo = not hub_dictionary()[d.field].personal
    expected = lambda c: d.expected(c.spec)  # noqa: E731
    if d.rule == "range":
        return Rule(d.reason, lambda c: _outside(d, c), (_range_expect(d),), echo=echo, expected=expected)
    if d.rule == "length":
        return Rule(d.reason, lambda c: c.present & as_mask(pc.not_equal(pc.utf8_length(c.values), d.length)),
                    (Expect("expect_column_value_lengths_to_equal", lambda c: _col(c, value=d.length)),),
                    echo=echo, expected=expected)
    pattern = DIGITS_PATTERN if d.rule == "digits" else d.anchored
    return Rule(d.reason, lambda c: c.present & ~as_mask(pc.match_substring_regex(c.values, pattern)),
                (Expect("expect_column_values_to_match_regex", lambda c: _col(c, regex=pattern)),),
                echo=echo, expected=expected)


#: On a partner column as sent (trimmed, empty = null), before translation.
REQUIRED = Rule("REQUIRED", lambda c: pc.is_null(c.values), (Expect("expect_column_values_to_not_be_null", _col),),
                echo=False)


def format_regex(fmt: str) -> str:
    """'%Y%m%d' -> '^[0-9]{4}[0-9]{2}[0-9]{2}$': the exact width the fast path demands."""
    out = re.escape(fmt)
    for code, rx in (("%Y", "[0-9]{4}"), ("%m", "[0-9]{2}"), ("%d", "[0-9]{2}")):
        out = out.replace(re.escape(code), rx).replace(code, rx)
    return f"^{out}$"


def mapping_expectations(mapping) -> list[tuple[str, str, str, dict]]:
    """(reason, partner field, expectation, kwargs) of the mapping's rules, on the columns as sent.

    Their fast form is the translation itself (mappings/translator.py), which
    reports every value it cannot translate instead of nulling it.
    """
    out = []
    for r in mapping.fields:
        col = {"column": r.partner}
        if r.codes:
            out.append(("UNMAPPED_CODE", r.partner, "expect_column_values_to_be_in_set",
                        {**col, "value_set": sorted(mapping.code_tables[r.codes].forward)}))
        elif r.date_format:
            out.append(("DATE_INVALID", r.partner, "expect_column_values_to_match_regex",
                        {**col, "regex": format_regex(r.date_format)}))
            out.append(("DATE_INVALID", r.partner, "expect_column_values_to_match_strftime_format",
                        {**col, "strftime_format": r.date_format}))
    return out
