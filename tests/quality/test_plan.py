"""quality/plan.py: which rules a feed gets, in which order, on which columns."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from jinbao.declarations import OutboundFeed, load_feeds
from jinbao.mappings.tables import feed_mapping
from jinbao.quality.columns import ID_BIRTH
from jinbao.quality.plan import Columns, plan
from jinbao.quality.suites import suite_specs
from jinbao.quality.cross import NotBefore
from jinbao.quality.verdict import Gate
from jinbao.schemas.dictionary import partner_schema
from jinbao.settings import Settings
from tests.quality.test_rules import GOOD_ID

DAY = dt.date(2026, 11, 22)


def test_plan_judges_the_id_first_and_skips_translated_codes():
    mapping = feed_mapping("police.death", DAY)
    steps = plan(mapping, ())
    assert [s.rule.reason for s in steps[:4]] == ["ID_FORMAT", "ID_CHECKSUM", "ID_BIRTHDATE_INVALID",
                                                  "ID_ADDRESS_UNKNOWN"]
    xb = [s for s in steps if s.field == "XB"]                     # police.gender table: the translator's business
    assert [s.rule.reason for s in xb] == ["ID_GENDER_MISMATCH"]


def test_unmapped_birth_date_is_the_one_inside_the_id():
    mapping = feed_mapping("civil_affairs.cremation", DAY)
    rule = NotBefore("AAC060", "AAC006", "DEATH_BEFORE_BIRTH")
    (step,) = [s for s in plan(mapping, (rule,)) if s.rule.reason == "DEATH_BEFORE_BIRTH"]
    assert step.reads == ("AAC060", "AAC006") and step.field == "SWRQ"
    assert Columns(mapping, DAY)["AAC006"].name == ID_BIRTH
    hub = pa.table({"AAC002": [GOOD_ID, "x"], "AAC060": pa.array([DAY, DAY])})
    assert Columns(mapping, DAY, hub)["AAC006"].values.to_pylist() == [dt.date(1945, 3, 12), None]


def test_a_cross_rule_on_columns_the_feed_lacks_is_left_out():
    mapping = feed_mapping("central_bank.employer_status", DAY)            # no ID, no dates
    rules = (NotBefore("AAC060", "AAC006", "DEATH_BEFORE_BIRTH"),
             NotBefore("AAB301", "AAC006", "DEATH_BEFORE_BIRTH"))
    assert not [s for s in plan(mapping, rules) if s.rule.reason == "DEATH_BEFORE_BIRTH"]


def test_the_ge_suite_has_every_step_of_the_plan():
    # every inbound feed declared (a new feed is covered without editing a list here)
    inbound = {(s.mapping, s.schema) for s in load_feeds(Settings(home="/nonexistent")).values()
               if not isinstance(s, OutboundFeed)}
    assert len(inbound) >= 10
    for mapping, schema in sorted(inbound):
        cross = (NotBefore("AAC060", "AAC006", "DEATH_BEFORE_BIRTH"),)
        gate = Gate(feed_mapping(mapping, DAY), partner_schema(schema), DAY, cross)
        specs = {(s.reason, s.field) for s in suite_specs(gate)}
        assert {(s.rule.reason, s.field) for s in plan(gate.mapping, cross)} <= specs, mapping
