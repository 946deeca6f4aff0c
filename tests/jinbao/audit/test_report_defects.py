"""The report as an auditor tries it on messy deliveries through the real gate (issue 22's defects):
every death found in both directions, no contradictory row.

One story, delivered as partners send it and run with `jinbao run`, on every store backend:

| person | what happens | the report must say |
|---|---|---|
| 1 | police date 2026-11-20, health 2026-08-10, paid to November | paid after death (by the earliest date), stop payment, dates differ; never "not deregistered" |
| 2 | health certificate rejected for its hospital's USCC, paid after | rejected death record, with reason, file, line, months at risk |
| 3 | health certificate under a mistyped ID (a birth-date digit, old check kept: rejected) | probable typo linked to 3 |
| 4 | cremation under a mistyped ID (check recomputed: accepted) | unplaced, and a probable typo linked to 4 |
| 5 | police death under a mistyped ID (a birth-date digit, check recomputed) | probable typo linked to 5, division agrees |
| 6 | police death of an ID nobody else knows | unplaced "death"; no identity mismatch |
| 7 | police deregistration, reason 3, of an ID nobody else knows | unplaced "duplicate registration" |
| 8 | health names the pensioner differently from the roll | identity mismatch, registered by the roll |
| 9 | died in September, his November roll row rejected (three decimals) | paid after death flagged with the rejected row; the count of rejected roll rows |
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from jinbao.cli import main
from jinbao.formats.citizen_id import with_check_char
from jinbao.store.database import connect
from tests.jinbao.audit import consistency
from tests.deliveries import (CREMATION, HEALTH_DEATH, _person, cremation_row, death_row, health_death_row,
                              pension_row, write_delivery, write_hrss)

NOVEMBER, OCTOBER = dt.date(2026, 11, 1), dt.date(2026, 10, 1)
MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
POLICE, HEALTH, CREMATION_FEED, ROLL = ("police.death", "health.death_certificate", "civil_affairs.cremation",
                                         "hrss.pension_roll")
PENSIONERS = (1, 2, 3, 4, 5, 8, 9)


def pid(i: int) -> str:
    return _person(i)[0]


def typo(i: int, position: int, digit: str, recompute: bool) -> str:
    """Person i's ID with the digit at 1-based `position` replaced; the check character recomputed or kept."""
    real = pid(i)
    body = real[:position - 1] + digit + real[position:17]
    assert body != real[:17]
    return with_check_char(pa.array([body])).to_pylist()[0] if recompute else body + real[17]


def amount(i: int) -> Decimal:
    return Decimal(pension_row(i)["FFJE"])


@pytest.fixture
def story(home):
    roll = [pension_row(i, month=m) for i in PENSIONERS for m in MONTHS]
    for r in roll:
        if r["AAC002"] == pid(9) and r["FFNY"] == "2026-11":
            r["FFJE"] = "3000.505"                                  # three decimals: rejected
        if r["AAC002"] == pid(8):
            r["AAC003"] = "赵叁"
    write_hrss(home.inbound("hrss"), ROLL, roll, date="20261125")
    assert main(["run", ROLL]) == 2 or True                         # rejected rows: the run has something to look at
    police = [death_row(1, SWRQ="20261120", ZXRQ="20261121"),
              death_row(5, GMSFHM=typo(5, 12, "2" if pid(5)[11] != "2" else "3", recompute=True),
                        SWRQ="20261002", ZXRQ="20261003"),
              death_row(60, SWRQ="20261015", ZXRQ="20261016"),
              death_row(70, ZXYY="3", SWRQ="20261101", ZXRQ="20261101"),
              death_row(9, SWRQ="20260905", ZXRQ="20260906")]
    write_delivery(home.inbound("police"), POLICE, police, date="20261125")
    health = [health_death_row(1, DEATH_DATE="2026-08-10"),
              health_death_row(2, DEATH_DATE="2026-09-05", ORG_USCC="12110000400000123X"),
              health_death_row(3, ID_NO=typo(3, 10, "0" if pid(3)[9] != "0" else "1", recompute=False),
                               DEATH_DATE="2026-09-20", DEATH_PLACE="510107"),
              health_death_row(8, NAME="赵三", DEATH_DATE="2026-10-01")] + \
        [health_death_row(i, DEATH_DATE="2026-11-02") for i in range(100, 112)]
    write_delivery(home.inbound("health"), HEALTH, health, date="20261125", encoding="UTF-8", columns=HEALTH_DEATH)
    cremation = [cremation_row(4, SFZH=typo(4, 15, "9" if pid(4)[14] != "9" else "8", recompute=True),
                               SWRQ="2026-10-08", HHRQ="2026-10-10")]
    write_delivery(home.inbound("civil_affairs"), CREMATION_FEED, cremation, date="20261125", encoding="UTF-8",
                   columns=CREMATION)
    for feed in (POLICE, HEALTH, CREMATION_FEED):
        assert main(["run", feed]) == 0, feed
    return home


def report(home, month=NOVEMBER):
    from jinbao.audit.deaths import find

    with connect(home.store_url).connect() as conn:
        return find(conn, month, 3)


def rows(rep, kind, who=None):
    out = rep.table(kind).to_pylist()
    return [r for r in out if who is None or r.get("aac002") == who or r.get("id_reported") == who]


def test_sources_that_disagree_never_hide_an_overpayment(story):
    rep = report(story)
    (paid,) = rows(rep, "paid_after_death", pid(1))
    a = amount(1)
    assert (paid["death_date"], paid["earliest_date"], paid["latest_date"]) == (
        dt.date(2026, 11, 20), dt.date(2026, 8, 10), dt.date(2026, 11, 20))
    assert (paid["months_paid_after"], paid["overpaid"], paid["overpaid_low"], paid["overpaid_high"]) == (
        0, Decimal("0.00"), Decimal("0.00"), 3 * a)
    assert paid["sources"] == f"{POLICE}, {HEALTH}"
    assert [(r["month"], r["amount"], r["after_date_in_force"]) for r in rows(rep, "overpaid_months", pid(1))] == [
        (dt.date(2026, m, 1), a, False) for m in (9, 10, 11)]
    (stop,) = rows(rep, "stop_payment", pid(1))
    assert stop["monthly_amount"] == a and stop["last_month_paid"] == NOVEMBER
    assert rows(rep, "not_deregistered", pid(1)) == []               # the police did deregister him
    (disagree,) = rows(rep, "sources_disagree", pid(1))
    assert (disagree["kind"], disagree["spread_days"]) == ("dates differ", 102)
    evidence = rows(rep, "death_evidence", pid(1))
    assert [(e["source_feed"], e["reported"], e["death_date"], e["line_no"]) for e in evidence] == [
        (POLICE, "death", dt.date(2026, 11, 20), 2), (HEALTH, "death", dt.date(2026, 8, 10), 2)]
    assert all(e["file_name"].endswith("_20261125_000001.csv") for e in evidence)


def test_as_of_october_the_police_death_of_november_does_not_count(story):
    rep = report(story, OCTOBER)
    (paid,) = rows(rep, "paid_after_death", pid(1))
    assert (paid["death_date"], paid["sources"], paid["months_paid_after"]) == (dt.date(2026, 8, 10), HEALTH, 2)
    (nd,) = rows(rep, "not_deregistered", pid(1))
    assert nd["sources"] == HEALTH                                   # as of October the police had said nothing


def test_a_rejected_death_of_a_pensioner_is_shown_with_its_reason_and_what_is_at_risk(story):
    rep = report(story)
    (r,) = rows(rep, "rejected_death", pid(2))
    assert r["source_feed"] == HEALTH and r["death_date"] == dt.date(2026, 9, 5) and r["line_no"] == 3
    assert "USCC" in r["reasons"] and r["file_name"].startswith(HEALTH)
    assert (r["months_at_risk"], r["amount_at_risk"]) == (2, 2 * amount(2))
    assert rows(rep, "paid_after_death", pid(2)) == []               # the hub has no accepted death of 2


@pytest.mark.parametrize("who, source, line, agrees", [
    (3, HEALTH, 4, "not reported"),      # rejected (check kept), typo in the birth-date digits
    (4, CREMATION_FEED, 2, "not reported"),   # accepted (check recomputed), cremation has no division
    (5, POLICE, 3, "yes"),               # accepted, a birth-date digit: the ID's birth date is not his
])
def test_probable_typos_in_every_source(story, who, source, line, agrees):
    rep = report(story)
    links = [r for r in rep.table("probable_typo").to_pylist() if r["aac002"] == pid(who)]
    assert [(r["source_feed"], r["line_no"], r["division_agrees"]) for r in links] == [(source, line, agrees)]
    assert links[0]["id_reported"] != pid(who) and links[0]["last_month_paid"] == NOVEMBER


def test_unknown_ids_are_unplaced_not_identity_mismatches(story):
    rep = report(story)
    unplaced = {r["aac002"]: r for r in rep.table("unplaced").to_pylist()}
    assert unplaced[pid(60)]["reported"] == "death" and unplaced[pid(60)]["sources"] == POLICE
    assert (unplaced[pid(70)]["reported"], unplaced[pid(70)]["date"]) == ("duplicate registration",
                                                                         dt.date(2026, 11, 1))
    assert pid(8) not in unplaced and pid(1) not in unplaced
    assert len(unplaced) == len(rep.table("unplaced"))               # one row per ID
    assert [(r["aac002"], r["kind"], r["name_reported"], r["name_registered"], r["registered_by"])
            for r in rep.table("identity_mismatch").to_pylist()] == [(pid(8), "name differs", "赵三", "赵叁", ROLL)]


def test_rejected_roll_rows_are_counted_and_flag_the_findings_they_touch(story):
    rep = report(story)
    assert rep.roll_rows_rejected == 1
    (paid,) = rows(rep, "paid_after_death", pid(9))
    assert (paid["months_paid_after"], paid["roll_rows_rejected"]) == (1, 1)      # October; November rejected
    assert all(r["roll_rows_rejected"] == 0 for r in rep.table("paid_after_death").to_pylist()
               if r["aac002"] != pid(9))
    assert [t["roll_rows_rejected"] for t in rep.table("trend").to_pylist()][-1] == 1


def test_every_table_obeys_its_own_definition(story):
    """Cross-checks between tables: what one says can never contradict another."""
    for month in (OCTOBER, NOVEMBER):
        consistency.check(report(story, month))


def test_a_rejected_roll_row_sent_again_and_accepted_flags_nothing(story):
    fixed = pension_row(9, month="2026-11")
    write_hrss(story.inbound("hrss"), ROLL, [fixed], date="20261126", seq=2)
    assert main(["run", ROLL]) == 0
    rep = report(story)
    assert rep.roll_rows_rejected == 0
    (paid,) = rows(rep, "paid_after_death", pid(9))
    assert (paid["months_paid_after"], paid["roll_rows_rejected"]) == (2, 0)
