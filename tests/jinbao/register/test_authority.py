"""schemas/register.yaml: every feed it names exists and really carries the fields it may set."""
from __future__ import annotations

import datetime as dt

import pytest

from jinbao.declarations import load_feeds
from jinbao.mappings.tables import feed_mapping
from jinbao.register.authority import RegisterError, authority, parse


def test_every_feed_named_is_declared_and_maps_the_fields_it_may_set(sqlite_home):
    auth = authority()
    declared = {name: spec for name, spec in load_feeds(sqlite_home).items() if spec.direction == "inbound"}
    assert auth.feeds() <= set(declared), auth.feeds() - set(declared)
    for column, feeds in auth.fields.items():
        for feed in feeds:
            hub = {r.hub for r in feed_mapping(declared[feed].mapping, dt.date(2026, 11, 22)).fields}
            assert column.upper() in hub, f"{feed} may set {column.upper()} but its mapping has no such field"
    for feed in auth.deaths:
        assert declared[feed].target.table == "death_record"


def test_police_identity_outranks_everyone_on_what_police_hold():
    auth = authority()
    for column in ("aac003", "aaa002", "aac006", "aac005", "aab301"):
        assert auth.fields[column][0] == "police.identity"
        assert auth.rank(column, "police.identity") == 0 < auth.rank(column, "civil_affairs.assistance")


@pytest.mark.parametrize("text, names", [
    ("fields: {NAME: [police.identity]}\nlife_status: {deaths: [], police_reasons: {}, default: alive}", "fields.NAME"),
    ("fields: {AAC003: police.identity}\nlife_status: {deaths: [], police_reasons: {}, default: alive}",
     "fields.AAC003"),
    ("fields: {AAC003: [a, a]}\nlife_status: {deaths: [], police_reasons: {}, default: alive}", "names a feed twice"),
    ("fields: {}\nlife_status: {deaths: [], police_reasons: {'1': dead}, default: alive}",
     "life_status.police_reasons.1"),
    ("fields: {}\nlife_status: {deaths: []}", "life_status needs"),
    ("fields: {}\nlife_status: {deaths: [], police_reasons: {}, default: alive}\nextra: 1", "may have"),
])
def test_a_typo_names_the_key(text, names):
    with pytest.raises(RegisterError, match=names.replace("(", r"\(")):
        parse(text)
