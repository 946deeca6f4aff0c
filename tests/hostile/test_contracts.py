"""Data contracts (issue 23, class 9; agreements §5), on SQLite and PostgreSQL.

A delivery's header holds exactly the columns of the agreement version in force on its business date (the
feed mapping's version, mappings/feeds/*.yaml): any other column breaches the agreement and refuses the
delivery whole, the receipt naming the column and, when a later version of the agreement has it, the day
it takes effect.  Before, such a column was dropped silently: a death file dated before 2026-12-01 whose
CZBZ said 2 (withdraw) was published as a death.  The partners' cases run over the plain local folder and,
sealed, over the real sshd (`transport`).
"""
from __future__ import annotations

import datetime as dt

import pytest

from jinbao.cli import main
from tests.deliveries import (
    CREMATION, HEALTH_DEATH, HRSS_COLUMNS, POLICE_DEATH, cremation_row, death_row, health_death_row, pension_row,
    write_delivery, write_hrss,
)
from tests.faults.invariants import assert_accounted
from tests.hostile.partner_view import CST, assert_partner_terms, life, query, receipt, set_hub_clock
from tests.hostile.sealed_zone import LOCAL_AND_SFTP, zone_for

DEATH_FEEDS = {   # feed: (partner, encoding, columns, row builder, ID column)
    "police.death": ("police", "GB18030", POLICE_DEATH, death_row, "GMSFHM"),
    "health.death_certificate": ("health", "UTF-8", HEALTH_DEATH, health_death_row, "ID_NO"),
    "civil_affairs.cremation": ("civil_affairs", "UTF-8", CREMATION, cremation_row, "SFZH"),
}
NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=CST)


@pytest.fixture(autouse=True)
def hub_clock(monkeypatch):
    set_hub_clock(monkeypatch, NOW)


@pytest.fixture(params=LOCAL_AND_SFTP)
def transport(request):
    return request.param


def _death_file(zone, feed: str, rows: list[dict], date: str, seq: int, extra: list[str] = ()) -> str:
    """The partner's delivery, uploaded to its zone (sealed where the zone is); returns its name there."""
    partner, encoding, columns, _, _ = DEATH_FEEDS[feed]
    plain = write_delivery(zone.cfg.home / f"{partner}-side" / str(seq), feed, rows, date=date, seq=seq,
                           encoding=encoding, columns=columns + list(extra))
    return zone.put(plain, encoding)


def _over(zone, batches: list[dict]) -> None:
    """Every batch was fetched from the partner's zone (over SFTP: the sshd's chroot) and acknowledged there,
    its receipt sent back there (sealed where the zone is)."""
    for b in batches:
        assert (zone.inbound / "processed" / str(b["id"]) / b["file_name"]).is_file()
    sent = [p.name for p in zone.outbound.iterdir()]
    assert len([n for n in sent if n.endswith(".receipt.json.p7m" if zone.sealed else ".receipt.json")]) \
        == len(batches), sent
    if zone.owner:
        assert not zone.cfg.inbound(zone.partner).exists()     # nothing went through the local folder


@pytest.mark.parametrize("feed", list(DEATH_FEEDS))
def test_czbz_before_the_agreement_adds_it_refuses_the_delivery(home, feed, transport, request, monkeypatch):
    partner, _, _, make, id_col = DEATH_FEEDS[feed]
    write_hrss(home.inbound("hrss"), "hrss.pension_roll", [pension_row(i) for i in range(3)], date="20261125")
    assert main(["run", "hrss.pension_roll"]) == 0         # the bureau's own roll, from the local folder
    zone = zone_for(transport, home, request, monkeypatch, partner)
    withdrawn, registered = make(1, CZBZ="2"), make(2, CZBZ="1")
    # a withdrawal sent before 2026-12-01: the column is not in the agreement yet
    _death_file(zone, feed, [withdrawn, registered], date="20261125", seq=1, extra=["CZBZ"])
    assert main(["run", feed]) == 2
    (first,) = assert_accounted(home, zone.inbound, feed=feed, sources=zone.sources)
    assert (first["status"], first["reason_code"], first["published"]) == ("refused", "COLUMN_NOT_AGREED", None)
    said = receipt(home, feed, first["id"])
    assert said["reason_code"] == "COLUMN_NOT_AGREED"
    assert "CZBZ" in said["message"] and "2026-12-01" in said["message"] and "2026-11-25" in said["message"]
    assert life(home, withdrawn[id_col])[0] == life(home, registered[id_col])[0] == "alive"
    assert query(home, "select count(*) as n from death_record")[0]["n"] == 0
    _over(zone, [first])

    # the same records under a business date from 2026-12-01: the withdrawal is one, the registration counts
    _death_file(zone, feed, [withdrawn, registered], date="20261201", seq=2, extra=["CZBZ"])
    assert main(["run", feed]) == 0
    rows = assert_accounted(home, zone.inbound, feed=feed, sources=zone.sources)
    assert [(r["status"], r["received"], r["accepted"], r["published"]) for r in rows] == \
        [("refused", None, None, None), ("published", 2, 2, 2)]
    assert life(home, withdrawn[id_col])[0] == "alive"
    assert life(home, registered[id_col])[0] == "deceased"
    assert query(home, "select aac002, death_action from death_record order by death_action") == \
        [{"aac002": registered[id_col], "death_action": "1"}, {"aac002": withdrawn[id_col], "death_action": "2"}]
    _over(zone, rows)
    assert_partner_terms(home, partner, zone.outbound)


def test_a_column_no_agreement_has_is_refused_naming_every_one(home, caplog, transport, request, monkeypatch):
    # health adds a remark column and a phone number of its own: neither is in any version of the agreement
    zone = zone_for(transport, home, request, monkeypatch, "health")
    rows = [health_death_row(i, BZ="补录", LXDH="13800138000") for i in range(3)]
    _death_file(zone, "health.death_certificate", rows, date="20261202", seq=1, extra=["BZ", "LXDH", "CZBZ"])
    with caplog.at_level("WARNING"):
        assert main(["run", "health.death_certificate"]) == 2
    (batch,) = assert_accounted(home, zone.inbound, feed="health.death_certificate",
                                 sources=zone.sources)
    assert (batch["status"], batch["reason_code"]) == ("refused", "COLUMN_NOT_AGREED")
    said = receipt(home, "health.death_certificate", batch["id"])["message"]
    assert "2026-12-02: BZ, LXDH;" in said and "agreed from" not in said      # every one, no version has them
    assert "agreed columns: ID_NO, NAME, SEX, BIRTH_DATE, DEATH_DATE, DEATH_PLACE, ORG_USCC, CZBZ" in said
    told = [r.getMessage() for r in caplog.records if "COLUMN_NOT_AGREED" in r.getMessage()]
    assert any("ask health" in m and "mapping" in m for m in told), told
    assert query(home, "select count(*) as n from death_record")[0]["n"] == 0
    _over(zone, [batch])
    assert_partner_terms(home, "health", zone.outbound)


def test_the_bureaus_own_feeds_keep_to_their_contract_too(home):
    """hrss speaks hub codes, but its columns are agreed all the same: a new column refuses the roll."""
    rows = [pension_row(i, FFLX="01") for i in range(4)]
    write_delivery(home.inbound("hrss"), "hrss.pension_roll", rows, date="20261130", seq=1, encoding="UTF-8",
                   columns=HRSS_COLUMNS["hrss.pension_roll"] + ["FFLX"])
    assert main(["run", "hrss.pension_roll"]) == 2
    write_hrss(home.inbound("hrss"), "hrss.pension_roll", rows, date="20261130", seq=1)   # as agreed: taken
    assert main(["run", "hrss.pension_roll"]) == 0
    batches = assert_accounted(home, home.inbound("hrss"), feed="hrss.pension_roll")
    assert [(b["status"], b["reason_code"], b["received"], b["published"]) for b in batches] == \
        [("refused", "COLUMN_NOT_AGREED", None, None), ("published", None, 4, 4)]
    assert "FFLX" in receipt(home, "hrss.pension_roll", batches[0]["id"])["message"]
    assert_partner_terms(home, "hrss")
