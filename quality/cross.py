"""The cross-field rules a feed declaration may list under `quality.rules`, typed.

Declared per feed (jinbao/declarations.py reads them) and judged here in quality
(plan.py turns each into a step on both paths); the type lives with its judge so
that quality never reads the declaration module.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar


@dataclass(frozen=True)
class NotBefore:
    """`field` may not be earlier than `than` (both hub codes); a record where it is gets `reason`."""

    field: str
    than: str
    reason: str
    rule: ClassVar[str] = "not_before"


#: The cross-field rules a declaration may name (its `rule:` key), each with the type that holds it.
CROSS_RULES = {"not_before": NotBefore}


def keys(rule: str) -> set[str]:
    """The keys a declared rule of that kind takes, `rule` included."""
    return {"rule"} | {f.name for f in fields(CROSS_RULES[rule])}
