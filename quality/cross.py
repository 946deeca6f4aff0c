"""The cross-field rules a feed declaration may list under `quality.rules`, typed.

Declared per feed (jinbao/declarations.py reads them) and judged here in quality
(plan.py turns each into a step on both paths); the type lives with its judge so
that quality never reads the declaration module.

A rule's `reason` is either one of the hub's codes, whose fixed message partners already know, or a new
code the declaration names together with its message (`expected`, the shape of a value rule's pattern):
a comparison no hub code describes (a registration before the birth) is then declared, not coded.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import ClassVar

from jinbao.quality.value_rules import REASON_CODE, RuleError


@dataclass(frozen=True)
class NotBefore:
    """`field` may not be earlier than `than` (both hub codes); a record where it is gets `reason`, whose
    message is the hub's fixed one, or `expected` for a code the declaration brings."""

    field: str
    than: str
    reason: str
    expected: str | None = None
    rule: ClassVar[str] = "not_before"


#: The cross-field rules a declaration may name (its `rule:` key), each with the type that holds it.
CROSS_RULES = {"not_before": NotBefore}


def keys(rule: str) -> tuple[set[str], set[str]]:
    """(every key, the required keys) a declared rule of that kind takes, `rule` included."""
    every = {"rule"} | {f.name for f in fields(CROSS_RULES[rule])}
    return every, {"rule"} | {f.name for f in fields(CROSS_RULES[rule]) if f.default is MISSING}


def build(raw: dict, known_reasons, taken=()) -> NotBefore:
    """The typed rule of one declared entry (its keys already checked against `keys`).  RuleError's text
    starts with the key at fault (`reason ...`, `expected ...`) so the caller can name its key path.
    `known_reasons`: the hub's fixed codes, each with the message partners match on, so one of them keeps
    it (given another, the same code would mean two things) and any other code must bring its own;
    `taken`: codes meaning something else to partners (a whole delivery's refusal), never a record's."""
    cls = CROSS_RULES[raw["rule"]]
    given = {k: v for k, v in raw.items() if k != "rule"}
    reason, expected = given["reason"], given.get("expected")
    if not isinstance(reason, str) or not REASON_CODE.match(reason):
        raise RuleError(f"reason {reason!r} must be a code of capital letters, digits and _ "
                        "(e.g. REGISTRATION_BEFORE_BIRTH)")
    if reason in taken and reason not in known_reasons:
        raise RuleError(f"reason {reason} already means something else to partners (quality/reasons.py); "
                        "name a code of this comparison's own")
    if reason in known_reasons:
        if expected is not None:
            raise RuleError(f"expected: {reason} is a hub reason code with a fixed message partners know "
                            "(quality/reasons.py); leave expected out, or name a code of your own for this message")
    elif expected is None:
        raise RuleError(f"expected is missing: {reason} is not one of the hub's reason codes, so the rule must say "
                        "in words what was agreed, for the partner's receipt (e.g. expected: \"登记日期不得早于出生日期 "
                        "registration date must not be before the birth date\"), or name a hub code such as "
                        + ", ".join(r for r in known_reasons if "BEFORE" in r))
    elif not isinstance(expected, str) or not expected.strip():
        raise RuleError(f"expected must say in words what was agreed, for the partner's receipt; got {expected!r}")
    return cls(**given)


def declared_message(code: str, rules) -> str | None:
    """The message a feed's own cross-field reason `code` carries (its declared `expected`), for the pages
    and questions that show a reason without a value; None for a hub code or another rule's."""
    return next((r.expected for r in rules if isinstance(r, NotBefore) and r.reason == code and r.expected), None)
