"""Every feed's OpenLineage datasets, built as the provider's extractor builds them (jinbao/lineage.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from jinbao.declarations import InboundFeed, load_feeds
from jinbao.lineage import drop_zone, feed_lineage, store_namespace
from jinbao.mappings.tables import feed_mapping

ON = dt.date(2026, 12, 1)
STORE = "postgresql+psycopg://hub:s3cret@db.example:6543/jinbao?sslmode=require"


@pytest.mark.parametrize("url, namespace", [
    (STORE, "postgres://db.example:6543/jinbao"),
    ("postgresql+psycopg://hub@db.example/jinbao", "postgres://db.example:5432/jinbao"),
    ("mysql+pymysql://root:pw@127.0.0.1/jinbao", "mysql://127.0.0.1:3306/jinbao"),
    ("sqlite:////srv/jinbao/store.db", "sqlite:///srv/jinbao/store.db"),
])
def test_the_store_namespace_has_no_credentials(url, namespace):
    assert store_namespace(url) == namespace


@pytest.mark.parametrize("feed", sorted(load_feeds()))
def test_every_feed_has_lineage_from_its_mapping(feed):
    spec = load_feeds()[feed]
    got = feed_lineage(spec, ON, STORE)
    mapping = feed_mapping(spec.mapping, ON)
    store = store_namespace(STORE)
    if isinstance(spec, InboundFeed):
        [delivery], [table] = got.inputs, got.outputs
        assert (delivery.namespace, delivery.name) == (drop_zone(spec.partner), spec.name)
        assert (table.namespace, table.name) == (store, spec.target.table)
        lineage = table.facets["columnLineage"].fields
        columns = {f.name for f in table.facets["schema"].fields}
        assert set(lineage) <= columns and lineage
        written = {r.hub.lower(): r.partner for r in mapping.fields if r.hub.lower() in columns}
        assert {c: [i.field for i in f.inputFields] for c, f in lineage.items() if c in written} == \
            {c: [p] for c, p in written.items()}
    else:
        [sent] = got.outputs
        assert (sent.namespace, sent.name) == (drop_zone(spec.partner), spec.name)
        lineage = sent.facets["columnLineage"].fields
        assert set(lineage) == {mapping.partner_name(h) for h in spec.fields}
        assert {i.name for f in lineage.values() for i in f.inputFields} == {d.name for d in got.inputs}
        assert all(d.namespace == store for d in got.inputs)
