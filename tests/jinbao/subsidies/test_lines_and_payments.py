"""Subsidy lines and finance's payments through the real engine, on SQLite and PostgreSQL.

Twenty residents enrol through units in another county; assistance, a move before the claim and a
move after it change what is owed; two payment files pay, short-pay, misdirect, invent and repeat.
Every line's final status and amount, the receipts' reasons and the ledger's counts are asserted.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow.csv as pcsv
import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.schemas.store_tables import subsidy_line
from jinbao.store.database import connect
from jinbao.outbound.claims import mark_claimed
from jinbao.subsidies.lines import in_arrears
from tests.conftest import private_home
from tests.deliveries import COUNTIES, _person, enrollment_row, write_delivery, write_hrss

PAYMENT = ["SFZH", "XZQH", "BTJB", "BTND", "BTJE", "DZRQ"]
IDENTITY = ["GMSFHM", "XM", "XB", "CSRQ", "MZ", "HJDZ_XZQH", "BGRQ"]
ASSISTANCE = ["SFZH", "XM", "SEX", "JZLB", "XZQH", "KSRQ", "ZZRQ"]
PEOPLE = 20
ORDINARY = {"1": Decimal("200.00"), "2": Decimal("120.00"), "3": Decimal("80.00")}
DIBAO = {"1": Decimal("300.00"), "2": Decimal("180.00"), "3": Decimal("120.00")}


def pid(i: int) -> str:
    return _person(i)[0]


def county(i: int) -> str:
    return COUNTIES[i % len(COUNTIES)]


def pay(i: int, division: str | None = None, amount: str = "80.00", level: str = "3") -> dict:
    return {"SFZH": pid(i), "XZQH": division or county(i), "BTJB": level, "BTND": "2026", "BTJE": amount,
            "DZRQ": "20261121"}


def identity(i: int, division: str) -> dict:
    _, name, male, birth = _person(i)
    return {"GMSFHM": pid(i), "XM": name, "XB": "1" if male else "2", "CSRQ": birth, "MZ": "01",
            "HJDZ_XZQH": division, "BGRQ": "20261120"}


def lines(cfg) -> dict:
    with connect(cfg.store_url).connect() as conn:
        return {(r.aac002, r.subsidy_level): r for r in conn.execute(sa.select(subsidy_line))}


def batch(cfg, feed: str) -> list:
    with connect(cfg.store_url).connect() as conn:
        return conn.execute(sa.text("select id, status, received, accepted, rejected, published from batch "
                                    "where feed = :f order by id"), {"f": feed}).all()


def rejections(cfg, batch_id: int) -> list[tuple]:
    """The batch's rejections as its receipt told the partner (the hub's copy): the store keeps each one's
    line, field and reason, but not the value once the receipt went out (jinbao/store/rejection_values.py)."""
    with connect(cfg.store_url).connect() as conn:
        stored = conn.execute(sa.text("select line_no, field, value, reason_code from rejection where batch_id = :b"),
                              {"b": batch_id}).all()
    assert all(r.value is None for r in stored)
    [copy] = (cfg.receipts / "finance.subsidy_payment").glob(f"{batch_id}/*.receipt.csv")
    told = pcsv.read_csv(copy, read_options=pcsv.ReadOptions(encoding="gb18030"),
                         convert_options=pcsv.ConvertOptions(column_types={"value": "string"})).to_pylist()
    assert sorted((r.line_no, r.field, r.reason_code) for r in stored) == \
        sorted((r["line_no"], r["field"], r["reason_code"]) for r in told)
    return sorted((r["line_no"], r["field"], r["value"], r["reason_code"]) for r in told)


def test_lines_follow_the_household_and_payments_flip_or_fail(home):
    cfg = home
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", [enrollment_row(i) for i in range(PEOPLE)])
    assert main(["run", "hrss.resident_enrollment"]) == 0
    got = lines(cfg)
    assert len(got) == 3 * PEOPLE
    for i in range(PEOPLE):       # owed where the person is registered, never where the unit is
        c = county(i)
        assert [got[(pid(i), lv)].aab301 for lv in "123"] == [c[:2] + "0000", c[:4] + "00", c]
        assert all(got[(pid(i), lv)].status == "arrears" and got[(pid(i), lv)].category == "00"
                   and got[(pid(i), lv)].amount_due == ORDINARY[lv] for lv in "123")
        assert enrollment_row(i)["DW_XZQH"] != c

    # person 1 is in 低保 since 2025 (in force on 1 January): recomputed before any claim
    _, name, male, _ = _person(1)
    write_delivery(cfg.inbound("civil_affairs"), "civil_affairs.assistance",
                   [{"SFZH": pid(1), "XM": name, "SEX": "2" if male else "1", "JZLB": "01", "XZQH": county(1),
                     "KSRQ": "2025-06-01", "ZZRQ": ""}], encoding="UTF-8", columns=ASSISTANCE)
    # person 3 moves to 310115 before the claim: the lines follow
    write_delivery(cfg.inbound("police"), "police.identity", [identity(3, "310115")], columns=IDENTITY)
    assert main(["run", "civil_affairs.assistance"]) == 0
    assert main(["run", "police.identity"]) == 0
    got = lines(cfg)
    assert {lv: (got[(pid(1), lv)].category, got[(pid(1), lv)].amount_due) for lv in "123"} \
        == {lv: ("01", DIBAO[lv]) for lv in "123"}
    assert [got[(pid(3), lv)].aab301 for lv in "123"] == ["310000", "310100", "310115"]
    assert got[(pid(3), "3")].division_source == "register"

    # the claim: every line, and the lead's feed marks them sent
    as_of = dt.date(2026, 11, 30)
    with connect(cfg.store_url).begin() as conn:
        claim = in_arrears(conn, as_of)
        assert claim.num_rows == 3 * PEOPLE and claim.column_names == \
            ["AAC002", "AAB301", "subsidy_level", "subsidy_year", "amount_due"]
        assert mark_claimed(conn, claim, 1, dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)) == 3 * PEOPLE
        assert in_arrears(conn, dt.date(2025, 12, 31)).num_rows == 0        # nothing of 2026 before 2026

    # person 2 moves after the claim: the line keeps what finance was told, a difference is recorded
    write_delivery(cfg.inbound("police"), "police.identity", [identity(2, "310115")], seq=2, columns=IDENTITY)
    assert main(["run", "police.identity"]) == 0
    got = lines(cfg)
    assert got[(pid(2), "3")].aab301 == county(2) and got[(pid(2), "3")].first_claim_seq == 1
    with connect(cfg.store_url).connect() as conn:
        diffs = conn.execute(sa.text("select aac002, subsidy_level, line_aab301, aab301, resolved_at "
                                     "from subsidy_difference order by subsidy_level")).all()
    assert [tuple(d) for d in diffs] == [(pid(2), "1", county(2)[:2] + "0000", "310000", None),
                                         (pid(2), "2", county(2)[:4] + "00", "310100", None),
                                         (pid(2), "3", county(2), "310115", None)]

    # payments: twelve exact county lines, then a short one, a misdirected one, one for nobody's line
    exact = [pay(i) for i in range(12)]
    exact[1] = pay(1, amount="120.00")
    exact[3] = pay(3, division="310115")
    failing = [pay(12, amount="79.00"), pay(13, division=county(14)), pay(PEOPLE + 5)]
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment", exact + failing, columns=PAYMENT)
    assert main(["run", "finance.subsidy_payment"]) == 0
    (b1,) = batch(cfg, "finance.subsidy_payment")
    assert tuple(b1)[1:] == ("published", 15, 12, 3, 12)                      # received = accepted + rejected
    assert rejections(cfg, b1.id) == [(14, "BTJE", "79.00", "SUBSIDY_WRONG_AMOUNT"),
                                      (15, "XZQH", county(14), "SUBSIDY_WRONG_DIVISION"),
                                      (16, "SFZH+BTND+BTJB", "2026+3", "SUBSIDY_NO_LINE")]
    receipt = cfg.outbound("finance") / "finance.subsidy_payment_20261122_000001.receipt.csv"
    sent = pcsv.read_csv(receipt, read_options=pcsv.ReadOptions(encoding="gb18030")).to_pylist()
    assert [(r["line_no"], r["reason_code"]) for r in sent] == [(14, "SUBSIDY_WRONG_AMOUNT"),
                                                                (15, "SUBSIDY_WRONG_DIVISION"),
                                                                (16, "SUBSIDY_NO_LINE")]
    assert all(pid(12) not in json.dumps(r, ensure_ascii=False) for r in sent)          # IDs masked

    # the next month: eight more, and person 0's line paid a second time
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment", [pay(i) for i in range(12, 20)] + [pay(0)],
                   date="20261123", seq=2, columns=PAYMENT)
    assert main(["run", "finance.subsidy_payment"]) == 0
    _, b2 = batch(cfg, "finance.subsidy_payment")
    assert tuple(b2)[1:] == ("published", 9, 8, 1, 8)
    assert rejections(cfg, b2.id) == [(10, "SFZH+BTND+BTJB", "2026+3", "SUBSIDY_ALREADY_PAID")]

    got = lines(cfg)
    paid = {(pid(i), "3") for i in range(PEOPLE)}
    for key, line in got.items():
        assert line.status == ("paid" if key in paid else "arrears"), key
    assert got[(pid(0), "3")].paid_batch == b1.id and got[(pid(0), "3")].paid_date == dt.date(2026, 11, 21)
    assert got[(pid(12), "3")].paid_batch == b2.id                      # short-paid first, paid in full later
    with connect(cfg.store_url).connect() as conn:
        assert in_arrears(conn, as_of).num_rows == 2 * PEOPLE
        assert conn.execute(sa.text("select count(*) from subsidy_payment")).scalar() == PEOPLE


def test_province_and_city_payments_pay_their_lines_or_fail_with_their_reasons(home):
    """XZQH names the owing division of the level: 130000 and 130100 pass the gate (owing_division takes
    any level) and are matched like a county's; a city named for a province line, a neighbouring city,
    a county for a city line and a short province payment fail with SUBSIDY_*, and a code that is no
    division at all still fails the gate as DIVISION_UNKNOWN."""
    cfg = home
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", [enrollment_row(i) for i in range(PEOPLE)])
    assert main(["run", "hrss.resident_enrollment"]) == 0
    prov = {i: county(i)[:2] + "0000" for i in range(PEOPLE)}
    city = {i: county(i)[:4] + "00" for i in range(PEOPLE)}
    other_city = next(c[:4] + "00" for c in COUNTIES if c[:4] != county(2)[:4])
    rows = [pay(0, prov[0], "200.00", "1"), pay(0, city[0], "120.00", "2"),   # exact, lines 2 and 3
            pay(1, prov[1], "200.00", "1"),                                    # exact, line 4
            pay(6, city[6], "200.00", "1"),                                    # the city named for the province
            pay(2, other_city, "120.00", "2"),                                 # another city
            pay(3, county(3), "120.00", "2"),                                  # the county for the city line
            pay(4, prov[4], "199.99", "1"),                                    # short
            pay(5, "139000", "120.00", "2")]                                   # no division on that day
    rest = [pay(i, d, a, lv) for i in range(7, PEOPLE)
            for d, a, lv in ((prov[i], "200.00", "1"), (city[i], "120.00", "2"))]
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment", rows + rest, columns=PAYMENT)
    assert main(["run", "finance.subsidy_payment"]) == 0
    (b,) = batch(cfg, "finance.subsidy_payment")
    assert tuple(b)[1:] == ("published", 8 + len(rest), 3 + len(rest), 5, 3 + len(rest))
    assert rejections(cfg, b.id) == [(5, "XZQH", city[6], "SUBSIDY_WRONG_DIVISION"),
                                     (6, "XZQH", other_city, "SUBSIDY_WRONG_DIVISION"),
                                     (7, "XZQH", county(3), "SUBSIDY_WRONG_DIVISION"),
                                     (8, "BTJE", "199.99", "SUBSIDY_WRONG_AMOUNT"),
                                     (9, "XZQH", "139000", "DIVISION_UNKNOWN")]
    got = lines(cfg)
    paid = {(pid(0), "1"): 2, (pid(0), "2"): 3, (pid(1), "1"): 4}
    paid.update({(r["SFZH"], r["BTJB"]): line for line, r in enumerate(rest, start=10)})
    for key, line in got.items():
        assert (line.status, line.paid_line) == (("paid", paid[key]) if key in paid else ("arrears", None)), key
    with connect(cfg.store_url).connect() as conn:
        stored = conn.execute(sa.text("select aac002, subsidy_level, owing_division from subsidy_payment")).all()
    assert sorted(tuple(r) for r in stored) == sorted([(pid(0), "1", prov[0]), (pid(0), "2", city[0]),
                                                       (pid(1), "1", prov[1])]
                                                      + [(r["SFZH"], r["BTJB"], r["XZQH"]) for r in rest])
    # a second province payment for a paid line, in the next delivery
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment",
                   [pay(i) for i in range(7, PEOPLE)] + [pay(1, prov[1], "200.00", "1")],
                   date="20261123", seq=2, columns=PAYMENT)
    assert main(["run", "finance.subsidy_payment"]) == 0
    _, b2 = batch(cfg, "finance.subsidy_payment")
    assert rejections(cfg, b2.id) == [(PEOPLE - 5, "SFZH+BTND+BTJB", "2026+1", "SUBSIDY_ALREADY_PAID")]


def test_a_line_paid_between_judging_and_publishing_refuses_the_batch(home):
    """The publish transaction's guard: nothing is paid twice, whatever ran in between."""
    from jinbao.declarations import get_feed
    from jinbao.engine import Engine

    cfg = home
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", [enrollment_row(i) for i in range(5)])
    assert main(["run", "hrss.resident_enrollment"]) == 0
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment", [pay(i) for i in range(5)], columns=PAYMENT)
    eng = Engine(get_feed("finance.subsidy_payment", cfg), cfg)
    (batch_id,) = eng.receive()
    assert eng.judge(batch_id).status == "judged"
    with connect(cfg.store_url).begin() as conn:      # another run paid person 2's line meanwhile
        conn.execute(sa.text("update subsidy_line set status = 'paid' where aac002 = :p and subsidy_level = '3'"),
                     {"p": pid(2)})
    out = eng.publish(batch_id)
    assert (out.status, out.reason_code) == ("refused", "PROCESSING_FAILED")
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from subsidy_payment")).scalar() == 0
        assert conn.execute(sa.text("select count(*) from subsidy_line where status = 'paid'")).scalar() == 1
    eng.close()


@pytest.mark.parametrize("text, message", [
    ('"2026": {"00": {"1": 200.0, "2": "120.00", "3": "80.00"}}', "categories must be exactly"),
])
def test_standards_are_checked_when_read(text, message):
    from jinbao.subsidies.standards import StandardsError, load
    with pytest.raises(StandardsError, match=message):
        load(text)


def test_summary_per_division_and_level_to_the_fen(home, capsys, tmp_path):
    cfg = home
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", [enrollment_row(i) for i in range(10)])
    assert main(["run", "hrss.resident_enrollment"]) == 0
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment", [pay(i) for i in range(0, 10, 5)],
                   columns=PAYMENT)
    assert main(["run", "finance.subsidy_payment"]) == 0
    capsys.readouterr()
    out = tmp_path / "summary.csv"
    assert main(["subsidies", "summary", "--year", "2026", "--csv", str(out)]) == 0
    page = capsys.readouterr().out
    rows = {(r["AAB301"], str(r["subsidy_level"])): r
            for r in pcsv.read_csv(out, convert_options=pcsv.ConvertOptions(
                column_types={"AAB301": "string", "subsidy_level": "string", "due": "string", "paid": "string",
                              "in_arrears": "string"})).to_pylist()}
    assert len(rows) == 5 * 3                      # five counties, each level once (two people each)
    assert rows[("110105", "3")] == {"AAB301": "110105", "subsidy_level": "3", "lines": 2, "due": "160.00",
                                     "paid": "160.00", "in_arrears": "0.00"}
    assert rows[("110000", "1")]["in_arrears"] == "400.00" and rows[("310115", "3")]["paid"] == "0.00"
    assert "total" in page and "4000.00" in page and "3840.00" in page      # 10 people x 400.00 due, 160.00 paid


def test_the_same_when_the_people_go_through_a_temporary_table(home, monkeypatch):
    """Beyond ID_CHUNK people (a big enrolment, a big payments file) lines and payments read them by a join
    with a temporary table of their IDs: everything above holds as it does for a short IN list."""
    monkeypatch.setattr("jinbao.subsidies.lines.ID_CHUNK", 2)
    test_lines_follow_the_household_and_payments_flip_or_fail(home)


@pytest.mark.parametrize("chunk", [5_000, 2])
def test_the_same_on_mariadb(tmp_path, monkeypatch, mariadb_url, chunk):
    """The lines are computed and the payments checked by statements the store runs (UPDATE ... FROM is
    MariaDB's multi-table UPDATE): the whole story above holds on a MariaDB store, IN list or
    temporary table."""
    monkeypatch.setattr("jinbao.subsidies.lines.ID_CHUNK", chunk)
    test_lines_follow_the_household_and_payments_flip_or_fail(private_home(tmp_path, monkeypatch, mariadb_url))
