"""Column lineage read from the mapping tables: what the translator does, field by field."""
from __future__ import annotations

import datetime as dt

from jinbao.mappings.lineage import inbound_links, outbound_links
from jinbao.mappings.tables import feed_mapping
from jinbao.outbound.catalog import SOURCES

DEATH_RECORD = ["aac002", "source_feed", "aac003", "aaa002", "aac060", "aab301", "dereg_date", "dereg_reason",
                "death_action", "id_upgraded"]


def _by_column(links):
    return {link.column: link for link in links}


def test_inbound_links_follow_the_version_in_force():
    before = _by_column(inbound_links(feed_mapping("police.death", dt.date(2026, 11, 30)), DEATH_RECORD))
    after = _by_column(inbound_links(feed_mapping("police.death", dt.date(2026, 12, 1)), DEATH_RECORD))
    assert "death_action" not in before                       # CZBZ arrives with version 2026.12
    assert after["death_action"].sources == ("CZBZ",) and after["death_action"].hub == "death_action"
    assert before["aac002"].sources == ("GMSFHM",) and not before["aac002"].identity
    assert before["aac002"].how == "upper-cased; 15-digit IDs upgraded to 18"
    assert before["id_upgraded"].sources == ("GMSFHM",)
    assert before["aac003"].how == "copied" and before["aac003"].identity
    assert before["aaa002"].how.startswith("code table police.gender@")
    assert before["dereg_date"].how == "date %Y%m%d"
    assert "source_feed" not in before                        # stamped by the hub, not from the partner


def test_a_hub_field_without_a_column_in_the_table_has_no_link():
    links = inbound_links(feed_mapping("police.death", dt.date(2026, 11, 30)), ["aac002"])
    assert [link.column for link in links] == ["aac002"]


def test_outbound_links_name_the_partner_columns_of_the_fields_sent_only():
    mapping = feed_mapping("police.insured_status", dt.date(2026, 11, 30))
    links = outbound_links(mapping, ["AAC002", "insured_flag"], SOURCES["insured_status"])
    assert [(link.column, link.hub) for link in links] == [("GMSFHM", "AAC002"), ("CBBZ", "insured_flag")]
    assert links[0].sources == ("contribution.aac002",) and links[0].identity
    assert links[1].sources == ("contribution.month", "contribution.paid_flag") and not links[1].identity
    assert links[1].how.startswith("code table police.yes_no@") and links[1].how.endswith("to partner code")
