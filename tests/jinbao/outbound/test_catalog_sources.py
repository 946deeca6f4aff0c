"""Each outbound query's lineage sources (jinbao/outbound/catalog.py SOURCES) match what it produces."""
from __future__ import annotations

import pytest

from jinbao.outbound.catalog import QUERIES, SOURCES
from jinbao.schemas.store_tables import metadata


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_every_field_of_a_query_has_sources_and_they_exist(query):
    assert set(SOURCES[query]) == set(QUERIES[query])
    for field, sources in SOURCES[query].items():
        assert sources, field
        for source in sources:
            table, column = source.split(".")
            assert column in metadata.tables[table].columns, source


def test_the_sources_name_only_the_queries_there_are():
    assert set(SOURCES) == set(QUERIES)
