"""The bureau's own feeds (partner hrss) end to end through `jinbao run`, on SQLite and PostgreSQL:
the same gate as any partner's file, accepted records land typed in their tables (a month as
its first day, amounts as exact decimals), hostile lines are rejected with reason and line."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.schemas.store_tables import contribution, pension_payment, resident_enrollment
from jinbao.store.database import connect as engine
from tests.deliveries import contribution_row, enrollment_row, pension_row, write_hrss

MONTHS = ["2026-09", "2026-10", "2026-11"]


def _select(cfg, table, *order):
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]


def _rejections(cfg, feed: str) -> list[tuple]:
    with engine(cfg.store_url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select r.line_no, r.field, r.reason_code from rejection r join batch b on b.id = r.batch_id "
            "where b.feed = :f order by r.line_no, r.field"), {"f": feed})]


def _batches(cfg, feed: str) -> list[tuple]:
    with engine(cfg.store_url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select status, received, accepted, rejected, published from batch where feed = :f order by id"),
            {"f": feed})]


def test_pension_roll_lands_typed_and_hostile_lines_are_rejected(home):
    feed = "hrss.pension_roll"
    good = [pension_row(i, month=m) for i in range(12) for m in MONTHS]            # lines 2..37
    bad_id = pension_row(40)
    bad_id["AAC002"] = bad_id["AAC002"][:-1] + ("0" if bad_id["AAC002"][-1] != "0" else "1")
    hostile = [
        bad_id,                                                    # 38 ID_CHECKSUM
        pension_row(41, AAA002="1"),                               # 39 the ID says female
        pension_row(42, FFNY="2026-13"),                           # 40 no such month
        pension_row(43, FFNY="2026-12"),                           # 41 after the business month
        pension_row(44, FFJE="12.345"),                            # 42 three decimals
        pension_row(45, AAB301="990101"),                          # 43 no such county
        pension_row(46, AAC006="1945-01-01"),                      # 44 not the ID's birth date
        pension_row(47, AAC003="王伟2"),                            # 45 digit in a name
    ]
    write_hrss(home.inbound("hrss"), feed, good + hostile)
    assert main(["run", feed]) == 0
    assert _batches(home, feed) == [("published", 44, 36, 8, 36)]
    assert _rejections(home, feed) == [
        (38, "AAC002", "ID_CHECKSUM"), (39, "AAA002", "ID_GENDER_MISMATCH"), (40, "FFNY", "DATE_INVALID"),
        (41, "FFNY", "MONTH_IN_FUTURE"), (42, "FFJE", "AMOUNT_INVALID"), (43, "AAB301", "DIVISION_UNKNOWN"),
        (44, "AAC006", "ID_BIRTHDATE_MISMATCH"), (45, "AAC003", "NAME_INVALID")]
    paid = _select(home, pension_payment, pension_payment.c.aac002, pension_payment.c.month)
    assert len(paid) == 36 and {p["source_feed"] for p in paid} == {feed}
    assert {p["month"] for p in paid} == {dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)}
    first = next(p for p in paid if p["aac002"] == pension_row(1)["AAC002"] and p["month"] == dt.date(2026, 10, 1))
    assert first["amount"] == Decimal("2037.01") and first["line_no"] == 6

    # Next month's restatement: the same months again (one amount corrected) and a new one: an upsert.
    again = [pension_row(i, month=m) for i in range(12) for m in MONTHS[1:] + ["2026-12"]]
    again[0]["FFJE"] = "2100.00"
    write_hrss(home.inbound("hrss"), feed, again, date="20261201", seq=2)
    assert main(["run", feed]) == 0
    paid = _select(home, pension_payment, pension_payment.c.aac002, pension_payment.c.month)
    assert len(paid) == 48                                           # 12 people x Sep..Dec, nothing twice
    fixed = next(p for p in paid if p["aac002"] == pension_row(0)["AAC002"] and p["month"] == dt.date(2026, 10, 1))
    assert fixed["amount"] == Decimal("2100.00")


def test_a_person_paid_twice_for_one_month_is_a_duplicate_key(home):
    feed = "hrss.pension_roll"
    rows = [pension_row(i) for i in range(10)] + [pension_row(3, FFJE="999.00")]    # line 12 repeats line 5
    write_hrss(home.inbound("hrss"), feed, rows)
    assert main(["run", feed]) == 0
    assert _rejections(home, feed) == [(5, "AAC002+FFNY", "DUPLICATE_KEY"), (12, "AAC002+FFNY", "DUPLICATE_KEY")]
    assert len(_select(home, pension_payment, pension_payment.c.aac002)) == 9


def test_resident_enrollment_lands_typed_and_hostile_lines_are_rejected(home):
    feed = "hrss.resident_enrollment"
    good = [enrollment_row(i) for i in range(30)]                      # lines 2..31
    hostile = [
        enrollment_row(50, CBND="26"),                                 # 32 not a year
        enrollment_row(51, DW_XZQH="310119"),                          # 33 no such county (the unit's)
        enrollment_row(52, GRJFJE="-5.00"),                            # 34 negative
        enrollment_row(53, JFRQ="2026-02-30"),                         # 35 no such day
        enrollment_row(54, JFRQ="2026-11-23"),                         # 36 after the business date
        enrollment_row(55, DWMC=""),                                   # 37 the unit's name is required
    ]
    write_hrss(home.inbound("hrss"), feed, good + hostile)
    assert main(["run", feed]) == 0
    assert _batches(home, feed) == [("published", 36, 30, 6, 30)]
    assert _rejections(home, feed) == [
        (32, "CBND", "FORMAT_INVALID"), (33, "DW_XZQH", "DIVISION_UNKNOWN"), (34, "GRJFJE", "AMOUNT_INVALID"),
        (35, "JFRQ", "DATE_INVALID"), (36, "JFRQ", "DATE_IN_FUTURE"), (37, "DWMC", "REQUIRED")]
    rows = _select(home, resident_enrollment, resident_enrollment.c.aac002)
    assert len(rows) == 30
    one = next(r for r in rows if r["aac002"] == enrollment_row(7)["AAC002"])
    assert (one["enrollment_year"], one["aac003"], one["unit_code"], one["unit_name"], one["unit_division"],
            one["amount"], one["paid_date"]) == ("2026", enrollment_row(7)["AAC003"], "52330106002",
                                                 "新华社区居民委员会", "330106", Decimal("400.00"), dt.date(2026, 11, 20))


def test_contribution_lands_typed_and_hostile_lines_are_rejected(home):
    feed = "hrss.contribution"
    good = [contribution_row(i, month=m) for i in range(10) for m in ("202609", "202610", "202611")]   # 2..31
    bad_id = contribution_row(40)
    bad_id["AAC002"] = bad_id["AAC002"][:-1] + ("0" if bad_id["AAC002"][-1] != "0" else "1")
    bad_uscc = contribution_row(41)
    bad_uscc["AAB998"] = bad_uscc["AAB998"][:-1] + ("0" if bad_uscc["AAB998"][-1] != "0" else "1")
    hostile = [bad_id,                                                 # 32 ID_CHECKSUM
               bad_uscc,                                               # 33 USCC_CHECKSUM
               contribution_row(42, month="202613"),                   # 34 no such month
               contribution_row(43, month="202612"),                   # 35 after the business month
               contribution_row(44, month="2026-11"),                  # 36 not the agreed YYYYMM
               contribution_row(45, JFBZ="2")]                         # 37 not a paid flag
    write_hrss(home.inbound("hrss"), feed, good + hostile)
    assert main(["run", feed]) == 0
    assert _batches(home, feed) == [("published", 36, 30, 6, 30)]
    assert _rejections(home, feed) == [
        (32, "AAC002", "ID_CHECKSUM"), (33, "AAB998", "USCC_CHECKSUM"), (34, "JFNY", "DATE_INVALID"),
        (35, "JFNY", "MONTH_IN_FUTURE"), (36, "JFNY", "DATE_INVALID"), (37, "JFBZ", "UNMAPPED_CODE")]
    rows = _select(home, contribution, contribution.c.aac002, contribution.c.month)
    assert len(rows) == 30 and {r["month"] for r in rows} == {dt.date(2026, 9, 1), dt.date(2026, 10, 1),
                                                              dt.date(2026, 11, 1)}
    assert {(r["aac002"], r["aab998"], r["paid_flag"]) for r in rows if r["month"] == dt.date(2026, 11, 1)} == {
        (contribution_row(i)["AAC002"], contribution_row(i)["AAB998"], contribution_row(i)["JFBZ"])
        for i in range(10)}
    assert {r["paid_flag"] for r in rows} == {"0", "1"}
