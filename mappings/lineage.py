"""Column lineage from the mapping tables: partner field -> hub field -> store column, and back out.

Lineage (docs/lineage.md) has to say what the translator does, not what someone once wrote
about it, so the links are read from the same mapping version the translator uses, and each
says how the value is made with the same rule (code table, date format, ID upgrade) the
translator applies.  Plain data: jinbao/lineage.py turns it into OpenLineage facets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from jinbao.mappings.tables import FeedMapping, FieldRule

#: The store column that says a 15-digit first-generation ID was upgraded (mappings/translator.py).
UPGRADED = "id_upgraded"


@dataclass(frozen=True)
class ColumnLink:
    """One column a feed writes and the columns it is made from."""

    #: the column written: a store column (inbound) or a partner field (outbound)
    column: str
    #: the hub dictionary code in between
    hub: str
    #: what it is made from: partner fields (inbound) or store columns as "table.column" (outbound)
    sources: tuple[str, ...]
    #: how, in words an operator reads in a lineage UI
    how: str
    #: True when the value is copied unchanged
    identity: bool


def _how(rule: FieldRule, mapping: FeedMapping, inbound: bool = True) -> tuple[str, bool]:
    if rule.codes:
        return f"code table {mapping.code_tables[rule.codes].label}", False
    if rule.date_format:
        return f"date {rule.date_format}", False
    if not inbound:
        return "copied", True
    if rule.hub == "AAC002" and mapping.upgrade_15_digit_ids:
        return "upper-cased; 15-digit IDs upgraded to 18", False
    if rule.hub == "AAC002":
        return "upper-cased", False
    return "copied", True


def inbound_links(mapping: FeedMapping, columns: Iterable[str]) -> tuple[ColumnLink, ...]:
    """The target table's columns (`columns`) a delivery translated with `mapping` fills, each from its
    partner field; a hub field the table has no column for is not written, so it has no link."""
    columns = set(columns)
    links = []
    for rule in mapping.fields:
        if rule.hub.lower() in columns:
            how, identity = _how(rule, mapping)
            links.append(ColumnLink(rule.hub.lower(), rule.hub, (rule.partner,), how, identity))
        if rule.hub == "AAC002" and mapping.upgrade_15_digit_ids and UPGRADED in columns:
            links.append(ColumnLink(UPGRADED, rule.hub, (rule.partner,), "whether a 15-digit ID was upgraded",
                                    False))
    return tuple(links)


def outbound_links(mapping: FeedMapping, fields: Iterable[str],
                   sources: Mapping[str, tuple[str, ...]]) -> tuple[ColumnLink, ...]:
    """The partner's columns of an outbound file: only the hub `fields` the feed sends (its agreement's),
    each named as the reverse mapping names it and made from the store columns `sources` gives."""
    links = []
    for hub in fields:
        rule = next(r for r in mapping.fields if r.hub == hub)
        how, identity = _how(rule, mapping, inbound=False)
        if rule.codes:
            how = f"{how}, hub code to partner code"
        links.append(ColumnLink(rule.partner, hub, tuple(sources[hub]), how,
                                identity and len(sources[hub]) == 1))
    return tuple(links)
