"""The value rules a feed declaration may list under `quality.rules`: range, exact length, digits only and
pattern, typed and checked when the declaration loads.

Declared per feed, next to the cross-field `not_before` (quality/cross.py), not in the hub dictionary:
the dictionary says what the hub speaks (a field's type, which decides the checks every feed gets), while
how far one partner's values may go (an enrolment year between 2000 and 2030) is that partner's
agreement, reviewed with its feed; a bound in the dictionary would change every feed mapping the field.

No pyarrow here: declarations load at DAG parse.  quality/rules.py `value_rule` turns each into the rule
both paths judge (fast mask and Great Expectations form), and `expected` is the text every rejection's
message carries, so a partner reads what was agreed rather than only that something failed.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import MISSING, dataclass, fields
from typing import ClassVar

from jinbao.schemas.dictionary import HubField

#: A declared reason code: what partners match on, so a plain upper-case word.
REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]{2,39}$")
#: Hub types whose values are numbers written as text (quality/rules.py: YEAR_PATTERN, AMOUNT_PATTERN).
NUMBER_TYPES = ("year", "amount", "int")
DATE_TYPES = ("date", "month")
#: Hub types held as text after translation: what length, digits and pattern read.
TEXT_TYPES = ("text", "name", "code", "citizen_id", "division", "division_any", "uscc", "year", "quarter", "amount")
#: Regular-expression constructs Arrow's RE2 (the fast path) does not have: refused at load, not at 02:30.
NOT_RE2 = re.compile(r"\(\?[=!<]|\\[1-9]|\(\?P=")


class RuleError(ValueError):
    """A declared value rule is malformed; the message names the key (the caller adds file and rule)."""


@dataclass(frozen=True)
class Range:
    """`field` lies between `min` and `max` (either may be left out), inclusive: numbers for a year, amount
    or int field, dates (YYYY-MM-DD) for a date or month field."""

    field: str
    min: float | dt.date | None = None
    max: float | dt.date | None = None
    reason: str = "OUT_OF_RANGE"
    rule: ClassVar[str] = "range"
    types: ClassVar[tuple[str, ...]] = NUMBER_TYPES + DATE_TYPES

    def expected(self, spec: HubField) -> tuple[str, str]:
        lo, hi = bound_text(self.min), bound_text(self.max)
        if lo is not None and hi is not None:
            return f"{spec.label}须在{lo}至{hi}之间", f"{spec.en} must lie between {lo} and {hi}"
        dated = spec.type in DATE_TYPES
        if lo is not None:
            return f"{spec.label}不得早于{lo}" if dated else f"{spec.label}不得小于{lo}", \
                f"{spec.en} must be {lo} or later" if dated else f"{spec.en} must be at least {lo}"
        return f"{spec.label}不得晚于{hi}" if dated else f"{spec.label}不得大于{hi}", \
            f"{spec.en} must be {hi} or earlier" if dated else f"{spec.en} must be at most {hi}"


@dataclass(frozen=True)
class Length:
    """`field` has exactly `length` characters."""

    field: str
    length: int
    reason: str = "LENGTH_INVALID"
    rule: ClassVar[str] = "length"
    types: ClassVar[tuple[str, ...]] = TEXT_TYPES

    def expected(self, spec: HubField) -> tuple[str, str]:
        return f"{spec.label}须为{self.length}位", f"{spec.en} must have exactly {self.length} characters"


@dataclass(frozen=True)
class Digits:
    """`field` holds the digits 0-9 and nothing else."""

    field: str
    reason: str = "NOT_DIGITS"
    rule: ClassVar[str] = "digits"
    types: ClassVar[tuple[str, ...]] = TEXT_TYPES

    def expected(self, spec: HubField) -> tuple[str, str]:
        return f"{spec.label}须全部为数字", f"{spec.en} must hold digits only"


@dataclass(frozen=True)
class Pattern:
    """`field` matches `regex` as a whole; `expected` says in words what that is, for the partner (a
    regular expression is no answer to someone who has to correct a record)."""

    field: str
    regex: str
    expected_text: str
    reason: str = "PATTERN_MISMATCH"
    rule: ClassVar[str] = "pattern"
    types: ClassVar[tuple[str, ...]] = TEXT_TYPES

    @property
    def anchored(self) -> str:
        return f"^(?:{self.regex})$"

    def expected(self, spec: HubField) -> tuple[str, str]:
        return f"{spec.label}须为{self.expected_text}", f"{spec.en} must be {self.expected_text}"


#: The value rules a declaration may name (its `rule:` key), each with the type that holds it.
VALUE_RULES = {cls.rule: cls for cls in (Range, Length, Digits, Pattern)}
ValueRule = Range | Length | Digits | Pattern
#: Declared key -> field, where the two differ (`expected` is a method: the text every kind gives).
_RENAMED = {"expected": "expected_text"}


def keys(rule: str) -> tuple[set[str], set[str]]:
    """(every key, the required keys) a declared value rule of that kind takes, `rule` included."""
    back = {v: k for k, v in _RENAMED.items()}
    every = {"rule"} | {back.get(f.name, f.name) for f in fields(VALUE_RULES[rule])}
    required = {"rule"} | {back.get(f.name, f.name) for f in fields(VALUE_RULES[rule])
                           if f.default is MISSING and f.default_factory is MISSING}
    return every, required


def bound_text(bound) -> str | None:
    """A bound as messages and pages write it: 2000, not 2000.0; a date as YYYY-MM-DD."""
    if bound is None:
        return None
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(f"{key} must be a number, got {value!r}")
    return float(value)


def _date(key: str, value) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise RuleError(f"{key} must be a date YYYY-MM-DD, got {value!r}")
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except ValueError as exc:
        raise RuleError(f"{key} must be a date YYYY-MM-DD, got {value!r}") from exc


def build(raw: dict, dictionary: dict[str, HubField], known_reasons) -> ValueRule:
    """The typed rule of one declared entry (its keys already checked against `keys`); RuleError naming
    the key for a bad value.  `known_reasons`: the hub's fixed codes, which a declared rule may not reuse
    under another meaning (a partner matching on DATE_INVALID must not get a range failure)."""
    cls = VALUE_RULES[raw["rule"]]
    given = {_RENAMED.get(k, k): v for k, v in raw.items() if k != "rule"}
    spec = dictionary.get(given["field"]) if isinstance(given["field"], str) else None
    if spec is None:
        raise RuleError(f"field {given['field']!r} is not a hub field (schemas/hub_dictionary.yaml)")
    if spec.type not in cls.types:
        others = [r for r, c in VALUE_RULES.items() if spec.type in c.types]
        raise RuleError(f"field {spec.code} is a {spec.type} field; rule {cls.rule} applies to "
                        f"{', '.join(cls.types)} fields: "
                        + (f"on {spec.code} use {' or '.join(others)} instead" if others else
                           f"no value rule applies to {spec.code}") + " (docs/quality.md)")
    reason = given.get("reason", cls.reason)
    if not isinstance(reason, str) or not REASON_CODE.match(reason):
        raise RuleError(f"reason {reason!r} must be a code of capital letters, digits and _ (e.g. YEAR_OUT_OF_RANGE)")
    defaults = {c.reason for c in VALUE_RULES.values()}
    if reason in known_reasons and reason not in defaults:
        raise RuleError(f"reason {reason} already means something else to partners; name one of this rule's own "
                        f"(e.g. {spec.code.upper()}_{cls.reason})")
    if cls is Range:
        if given.get("min") is None and given.get("max") is None:
            raise RuleError("range needs min, max or both")
        read = _date if spec.type in DATE_TYPES else _number
        for key in ("min", "max"):
            if given.get(key) is not None:
                given[key] = read(key, given[key])
        if given.get("min") is not None and given.get("max") is not None and given["min"] > given["max"]:
            raise RuleError(f"min {bound_text(given['min'])} is above max {bound_text(given['max'])}")
    if cls is Length and (isinstance(given["length"], bool) or not isinstance(given["length"], int)
                          or given["length"] < 1):
        raise RuleError(f"length must be a whole number of at least 1, got {given['length']!r}")
    if cls is Pattern:
        if not isinstance(given["regex"], str) or not given["regex"]:
            raise RuleError("regex must be a non-empty regular expression")
        try:
            re.compile(given["regex"])
        except re.error as exc:
            raise RuleError(f"regex {given['regex']!r} is not a regular expression: {exc}") from exc
        if NOT_RE2.search(given["regex"]):
            raise RuleError(f"regex {given['regex']!r} uses a look-around or back-reference, which the gate's "
                            "regular expressions (RE2) do not have")
        if not isinstance(given["expected_text"], str) or not given["expected_text"].strip():
            raise RuleError("expected must say in words what a value must be, for the partner's receipt")
    return cls(**{**given, "reason": reason})
