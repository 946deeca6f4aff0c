"""Which rules of quality/rules.py a feed gets, in which order, on which columns: one walk for both paths.

The fast path executes the steps on a batch, the GE suite turns the same
steps into expectations, so which rules apply to a feed is decided here once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from importlib import resources

import pyarrow as pa

from jinbao import __version__
from jinbao.quality import rules
from jinbao.quality.columns import BIRTH, GENDER, ID, ID_BIRTH, Column, ge_column
from jinbao.quality.value_rules import VALUE_RULES
from jinbao.schemas.dictionary import DICTIONARY, hub_dictionary


@dataclass(frozen=True)
class Step:
    rule: rules.Rule
    field: str                 # partner column the failure is reported on: the receipt speaks to the partner
    reads: tuple[str, ...]     # hub codes handed to the rule, the judged one first


def plan(mapping, cross=()) -> list[Step]:
    """The feed's field rules in the order a record's failures are listed.

    The ID comes first because the birth-date and gender rules compare with
    what it says; `cross` are the declaration's rules (cross.NotBefore, the value_rules kinds), each
    on a field the mapping translates.
    """
    dictionary = hub_dictionary()
    partner = {r.hub: r.partner for r in mapping.fields}
    coded = {r.hub for r in mapping.fields if r.codes}
    steps: list[Step] = []
    if ID in partner:
        steps += [Step(r, partner[ID], (ID,)) for r in rules.field_rules(dictionary[ID], ID in coded)]
        if BIRTH in partner:
            steps.append(Step(rules.BIRTH_MATCHES_ID, partner[BIRTH], (BIRTH, ID)))
    for code, name in partner.items():
        spec = dictionary.get(code)
        if spec is not None and code != ID:
            steps += [Step(r, name, (code,)) for r in rules.field_rules(spec, code in coded)]
    if ID in partner and GENDER in partner:
        steps.append(Step(rules.GENDER_MATCHES_ID, partner[GENDER], (GENDER, ID)))
    for c in cross:
        if c.rule == "not_before" and c.field in partner and (c.than in partner or c.than == BIRTH and ID in partner):
            steps.append(Step(rules.not_before(c.reason, c.expected), partner[c.field], (c.field, c.than)))
        elif c.rule in VALUE_RULES and c.field in partner:
            steps.append(Step(rules.value_rule(c), partner[c.field], (c.field,)))
    return steps


def rules_version(mapping, cross=()) -> str:
    """A short, stable name for the rules that judged a batch, kept with the batch for field lineage.

    The digest covers the rules' code, the hub dictionary (patterns, widths, code sets), the division
    successions and their grace period (mappings/successions.py) and the
    feed's plan (which rule on which field, the declaration's cross-field rules): when any of them
    changes, so does the version, so a lineage entry says which edition of the gate passed a value.
    """
    digest = hashlib.sha256()
    digest.update(resources.files("jinbao.quality").joinpath("rules.py").read_bytes())
    digest.update(DICTIONARY.read_bytes())
    for name in ("gbt2260_changes.csv", "divisions.yaml"):       # what an abolished division code becomes
        digest.update(resources.files("jinbao.mappings").joinpath("reference", name).read_bytes())
    digest.update(repr([(s.rule.reason, s.field, s.reads) for s in plan(mapping, cross)]).encode())
    digest.update(repr(tuple(cross)).encode())        # a declared rule's bounds, not only its reason
    return f"{__version__}+{digest.hexdigest()[:12]}"


class Columns(dict):
    """Hub code -> Column for one batch (hub table given) or one suite (names only), built on first use.

    An unmapped birth date is the one inside the ID: the fast path publishes
    it and the cross-field rules compare with it; GE reads ge_check's column.
    """

    def __init__(self, mapping, on: dt.date, hub: pa.Table | None = None, latest: dt.date | None = None):
        super().__init__()
        self.mapped, self.on, self.hub = {r.hub for r in mapping.fields}, on, hub
        self.latest = latest

    def __missing__(self, code: str) -> Column:
        spec = hub_dictionary().get(code)
        if code == BIRTH and code not in self.mapped:
            values = self[ID].once(rules.read_ids).births if self.hub is not None else None
            col = Column(ID_BIRTH, spec, self.on, values, latest=self.latest)
        else:
            values = self.hub.column(code).combine_chunks() if self.hub is not None else None
            col = Column(ge_column(code), spec, self.on, values, latest=self.latest)
        self[code] = col
        return col
