"""A field outside its agreement can never leave: declarations asking for one are refused when they load
(the feed's fields, its query, its mapping), and a query that returns more than it declared sends nothing."""
from __future__ import annotations

import datetime as dt
import shutil

import pyarrow as pa
import pytest

from jinbao.agreements import AgreementError, load_agreements
from jinbao.declarations import FeedError, load_feeds
from jinbao.settings import Settings, shipped_feeds_dir


@pytest.fixture
def feeds(tmp_path):
    folder = tmp_path / "feeds"
    shutil.copytree(shipped_feeds_dir(), folder)
    return folder


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _refused(folder) -> str:
    with pytest.raises(FeedError) as exc:
        load_feeds(Settings(home="/nonexistent", feeds_dir=folder))
    return str(exc.value)


def test_the_shipped_agreements_are_those_of_the_exchange_agreements():
    agreements = load_agreements(shipped_feeds_dir())
    assert set(agreements) == {"police.insured_status", "central_bank.contribution_status", "finance.subsidy_claim"}
    police = agreements["police.insured_status"]
    assert police.fields == ("AAC002", "AAC003", "AAA002", "insured_flag", "AAB998", "last_contribution_month")
    assert police.in_force(dt.date(2026, 1, 1)) and police.in_force(dt.date(2027, 12, 31))
    assert not police.in_force(dt.date(2025, 12, 31)) and not police.in_force(dt.date(2028, 1, 1))
    assert all("社会保险法" in a.legal_basis and a.purpose for a in agreements.values())
    assert agreements["central_bank.contribution_status"].schedule == "quarterly"


def test_a_feed_asking_for_a_field_outside_its_agreement_is_refused(feeds):
    _edit(feeds / "police.insured_status.yaml", "fields: [AAC002,", "fields: [AAC006, AAC002,")
    message = _refused(feeds)
    assert "police.insured_status.yaml" in message and "fields AAC006 are outside agreement police.insured_status" \
        in message and "can never be sent" in message


def test_narrowing_an_agreement_refuses_the_feed_and_mapping_that_still_send_the_field(feeds):
    agreement = feeds / "agreements" / "police.insured_status.yaml"
    _edit(agreement, "  - AAB998                     # employer\n", "")
    assert "fields AAB998 are outside agreement police.insured_status" in _refused(feeds)
    _edit(feeds / "police.insured_status.yaml", "insured_flag, AAB998,", "insured_flag,")
    message = _refused(feeds)          # the query still produces AAB998: refused before anything runs
    assert "query insured_status asks for AAB998, outside agreement police.insured_status" in message


def test_a_query_producing_a_forbidden_field_is_refused_at_load(feeds, monkeypatch):
    from jinbao.outbound import catalog
    monkeypatch.setitem(catalog.QUERIES, "insured_status", catalog.QUERIES["insured_status"] + ("AAC006",))
    assert "query insured_status asks for AAC006, outside agreement" in _refused(feeds)


def test_a_mapping_translating_a_forbidden_field_is_refused(feeds, tmp_path, monkeypatch):
    from jinbao.mappings import tables
    maps = tmp_path / "maps"
    shutil.copytree(tables.FEEDS_DIR, maps)
    _edit(maps / "police.insured_status.yaml", "      ZHJFNY:", "      CSRQ: {to: AAC006, date_format: \"%Y%m%d\"}\n"
          "      ZHJFNY:")
    monkeypatch.setattr(tables, "FEEDS_DIR", maps)
    assert "mapping police.insured_status translates AAC006, outside agreement police.insured_status" \
        in _refused(feeds)


@pytest.mark.parametrize("old, new, says", [
    ("transport: {kind: local, envelope: cms}", "transport: {kind: local}", "personal data leaves the hub only sealed"),
    ('schedule: "0 3 1 * *"', 'schedule: "0 3 * * *"', "does not run monthly"),
    ("agreement: police.insured_status    #", "agreement: police.secret    #", "agreement 'police.secret' is not declared"),
    ("partner: police", "partner: health", "covers police's police.insured_status, not health's"),
    ("query: insured_status ", "query: everything ", "query 'everything' is not one of"),
    ("mapping: police.insured_status ", "schema: police.death\nmapping: police.insured_status ",
     "schema belong(s) to inbound feeds"),
])
def test_other_outbound_mistakes_are_refused_naming_the_key(feeds, old, new, says):
    _edit(feeds / "police.insured_status.yaml", old, new)
    assert says in _refused(feeds)


@pytest.mark.parametrize("old, new, says", [
    ("to: 2027-12-31", "to: 2025-12-31", "in_force.to 2025-12-31 is before in_force.from 2026-01-01"),
    ("schedule: monthly", "schedule: weekly", "schedule 'weekly' is not one of monthly, quarterly"),
    ("purpose:", "goal:", "unknown key(s) goal"),
])
def test_a_malformed_agreement_is_refused_naming_file_and_key(feeds, old, new, says):
    path = feeds / "agreements" / "police.insured_status.yaml"
    _edit(path, old, new)
    with pytest.raises(AgreementError) as exc:
        load_agreements(feeds)
    assert str(path) in str(exc.value) and says in str(exc.value)
    assert says in _refused(feeds)


def test_a_query_returning_more_than_it_declared_sends_nothing(sqlite_home, monkeypatch):
    from jinbao.declarations import get_feed
    from jinbao.keys import init_keys
    from jinbao.outbound import queries
    from jinbao.outbound.send import send

    init_keys(sqlite_home.home)
    leaky = lambda conn, as_of: pa.table({c: pa.array([], pa.string()) for c in  # noqa: E731
                                          (*queries.QUERIES["insured_status"], "AAC006")})
    monkeypatch.setitem(queries.RUNNERS, "insured_status", leaky)
    with pytest.raises(RuntimeError, match="nothing was sent"):
        send(get_feed("police.insured_status", sqlite_home), sqlite_home, dt.date(2026, 11, 30))
    assert not list(sqlite_home.outbound("police").glob("*")) if sqlite_home.outbound("police").exists() else True
