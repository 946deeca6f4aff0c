"""The feed's rules as Great Expectations expectation specs (plain data, no GE import).

Read from the same rule plan as the fast path (quality/plan.py over
quality/rules.py), each tagged with the reason code and partner field the fast
path reports, so that GE's unexpected rows can be compared with the fast
path's failures rule by rule.

Columns of the frame GE validates (see quality/ge_check.py): partner columns as
sent (trimmed, empty = null), `hub__<CODE>` translated values (dates as
Timestamps), `ge__id_gender` / `ge__id_birth` derived from valid IDs,
`hub__AAA002_12` (stated gender 1/2 only), `line_no`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from jinbao.quality import rules
from jinbao.quality.columns import Column
from jinbao.quality.plan import Columns, plan
from jinbao.quality.verdict import Gate


@dataclass(frozen=True)
class Spec:
    type: str
    kwargs: dict
    reason: str
    field: str
    meta: dict = field(default_factory=dict)


def suite_specs(gate: Gate) -> list[Spec]:
    specs = [Spec(t, kw, rules.REQUIRED.reason, c.name)
             for c in gate.schema.columns if c.required
             for t, kw in rules.REQUIRED.expectations(Column(c.name))]
    specs += [Spec(t, kw, reason, name) for reason, name, t, kw in rules.mapping_expectations(gate.mapping)]
    cols = Columns(gate.mapping, gate.business_date, latest=gate.latest)
    for step in plan(gate.mapping, gate.rules):
        specs += [Spec(t, kw, step.rule.reason, step.field)
                  for t, kw in step.rule.expectations(*(cols[code] for code in step.reads))]
    return specs
