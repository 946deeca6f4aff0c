"""Findings 1-4 on a store whose every death and payment the test wrote: exact rows, exact fen."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from jinbao.audit.deaths import find
from tests.jinbao.register.conftest import death, person

ROLL, DEATH, HEALTH, CREMATION, ID = ("hrss.pension_roll", "police.death", "health.death_certificate",
                                      "civil_affairs.cremation", "police.identity")
NOVEMBER = dt.date(2026, 11, 1)


def _roll(hub, people_months: dict[int, list[int]], amount="3000.50"):
    rows = [dict(person(i), month=dt.date(2026, m, 1), amount=amount) for i, months in people_months.items()
            for m in months]
    hub.publish(ROLL, rows, day="2026-11-20")


def _pid(i):
    return person(i)["AAC002"]


def _story(hub):
    _roll(hub, {1: [6, 7, 8, 9, 10, 11], 2: [9, 10, 11], 3: [9, 10], 4: [10, 11], 5: [8, 9], 6: [10, 11]})
    hub.publish(ID, [person(8, AAC003="张叁")], day="2026-11-20")
    hub.publish(DEATH, [death(1, "2026-08-15", dereg_reason="1"), death(3, "2026-10-10", dereg_reason="1"),
                        death(5, "2026-09-01", dereg_reason="1"), death(6, "2026-10-02", dereg_reason="1")],
                day="2026-11-21")
    hub.publish(HEALTH, [death(2, "2026-10-31"), death(4, "2026-10-05"), death(5, "2026-09-10"),
                         death(6, "2026-10-03"), death(8, "2026-10-20", AAC003="张三")], day="2026-12-01")
    hub.publish(HEALTH, [death(4, "2026-10-05", death_action="2")], day="2026-12-02")
    hub.publish(DEATH, [death(6, "2026-10-02", dereg_reason="1", death_action="2")], day="2026-12-02")
    hub.publish(CREMATION, [death(7, "2026-10-07")], day="2026-12-02")


def test_paid_after_death_counts_months_after_the_death_month_to_the_fen(hub):
    _story(hub)
    rows = find_rows(hub, "paid_after_death")
    assert sorted((r["aac002"], r["death_date"], r["sources"], r["months_paid_after"], r["overpaid"],
                   r["last_month_paid"]) for r in rows) == sorted([
        (_pid(1), dt.date(2026, 8, 15), DEATH, 3, Decimal("9001.50"), NOVEMBER),
        (_pid(2), dt.date(2026, 10, 31), HEALTH, 1, Decimal("3000.50"), NOVEMBER),
        (_pid(6), dt.date(2026, 10, 3), HEALTH, 1, Decimal("3000.50"), NOVEMBER)])
    # 3: paid up to the death month (stopped in time); 4: the only death was withdrawn; 5: stopped in time


def test_sources_disagree_on_dates_and_on_withdrawals(hub):
    _story(hub)
    rows = find_rows(hub, "sources_disagree")
    assert [(r["aac002"], r["kind"], r["police_date"], r["health_date"], r["spread_days"], r["withdrawn_by"],
             r["still_reported_by"]) for r in rows] == [
        (_pid(5), "dates differ", dt.date(2026, 9, 1), dt.date(2026, 9, 10), 9, None, f"{DEATH}, {HEALTH}"),
        (_pid(6), "withdrawn but still reported", None, dt.date(2026, 10, 3), 0, DEATH, HEALTH)]


def test_not_deregistered_while_still_on_the_roll(hub):
    _story(hub)
    assert sorted((r["aac002"], r["sources"], r["last_month_paid"]) for r in find_rows(hub, "not_deregistered")) \
        == sorted([(_pid(2), HEALTH, NOVEMBER), (_pid(6), HEALTH, NOVEMBER)])


def test_identity_mismatch_only_against_a_non_death_source_and_unknown_people_unplaced(hub):
    _story(hub)
    rows = find_rows(hub, "identity_mismatch")
    assert [(r["aac002"], r["source_feed"], r["kind"], r["name_reported"], r["name_registered"], r["registered_by"])
            for r in rows] == [(_pid(8), HEALTH, "name differs", "张三", "张叁", ID)]
    assert [(r["aac002"], r["name"], r["reported"], r["sources"]) for r in find_rows(hub, "unplaced")] == [
        (_pid(7), person(7)["AAC003"], "death", CREMATION)]


def test_a_person_the_register_holds_no_name_or_division_for(hub):
    """Two death sources that carry no household division (and a name nobody else gives) disagree by
    more than the tolerance: the row says so with empty name and division instead of failing."""
    hub.publish(HEALTH, [death(21, "2026-11-01", AAC003=None, AAB301=None)], day="2026-11-22")
    hub.publish(CREMATION, [death(21, "2026-11-12", AAC003=None, AAB301=None)], day="2026-11-23")
    (row,) = [r for r in find_rows(hub, "sources_disagree") if r["aac002"] == _pid(21)]
    assert (row["name"], row["division"], row["spread_days"]) == (None, None, 11)


def test_an_earlier_month_sees_only_what_was_due_then(hub):
    _story(hub)
    rows = find_rows(hub, "paid_after_death", month=dt.date(2026, 10, 1))
    assert [(r["aac002"], r["months_paid_after"], r["overpaid"]) for r in rows] == [(_pid(1), 2, Decimal("6001.00"))]


def find_rows(hub, kind, month=NOVEMBER, tolerance=3):
    with hub.db.connect() as conn:
        return find(conn, month, tolerance).tables[kind].to_pylist()


def test_a_person_another_feed_told_of_is_not_unknown_even_when_a_death_feed_outranks_it(hub):
    """Civil affairs sent the person; police deaths then took every field civil affairs had set."""
    hub.publish("civil_affairs.assistance", [person(11)], day="2026-11-20")
    hub.publish(DEATH, [death(11, "2026-10-02", dereg_reason="1")], day="2026-11-21")
    assert [r for r in find_rows(hub, "identity_mismatch") if r["aac002"] == _pid(11)] == []
