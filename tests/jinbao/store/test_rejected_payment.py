"""A pension-roll row the gate rejects is still evidence that the pensioner was on the roll that month:
kept as sent in `rejected_payment`, and found by the auditors' report for its period, with the gate's
reasons and the delivery it came in (issue 22, defect 6).  On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.schemas.store_tables import rejected_payment
from jinbao.store.database import connect, upgrade
from jinbao.audit.evidence import rejected_roll_rows
from tests.deliveries import pension_row, write_hrss

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def test_rejected_roll_rows_are_kept_as_sent_and_found_for_their_period(home):
    feed = "hrss.pension_roll"
    good = [pension_row(i, month=m) for i in range(12) for m in ("2026-10", "2026-11")]     # lines 2..25
    three_decimals = pension_row(44, FFJE="12.345")                                         # 26
    no_such_month = pension_row(42, FFNY="2026-13")                                         # 27
    october = pension_row(45, month="2026-10", FFJE="1.999")                                # 28
    delivery = write_hrss(home.inbound("hrss"), feed, good + [three_decimals, no_such_month, october])
    assert main(["run", feed]) == 0

    with connect(home.store_url).connect() as conn:
        kept = [tuple(r) for r in conn.execute(sa.select(
            rejected_payment.c.line_no, rejected_payment.c.aac002, rejected_payment.c.month,
            rejected_payment.c.month_sent, rejected_payment.c.amount_sent).order_by(rejected_payment.c.line_no))]
        november = rejected_roll_rows(conn, NOV, NOV)
        autumn = rejected_roll_rows(conn, dt.date(2026, 9, 1), dt.date(2026, 11, 30))
        october_rows = rejected_roll_rows(conn, OCT, OCT)
        december = rejected_roll_rows(conn, dt.date(2026, 12, 1), dt.date(2026, 12, 1))
    assert kept == [
        (26, three_decimals["AAC002"], NOV, None, "12.345"),
        (27, no_such_month["AAC002"], None, "2026-13", no_such_month["FFJE"]),      # the month as sent
        (28, october["AAC002"], OCT, None, "1.999")]

    assert november.column_names[:6] == ["aac002", "month", "batch_id", "line_no", "file_name", "reasons"]
    assert november.schema.field("month").type == pa.date32()
    assert [(r["line_no"], r["aac002"], r["month"], r["file_name"], r["reasons"]) for r in november.to_pylist()] == [
        (26, three_decimals["AAC002"], NOV, delivery.name, "AMOUNT_INVALID"),
        (27, no_such_month["AAC002"], None, delivery.name, "DATE_INVALID")]            # unparsed: every period
    assert [r["line_no"] for r in october_rows.to_pylist()] == [27, 28]
    assert [r["line_no"] for r in autumn.to_pylist()] == [26, 27, 28]
    assert [r["line_no"] for r in december.to_pylist()] == [27]
    assert len(set(november["batch_id"].to_pylist())) == 1


def test_a_line_with_several_reasons_lists_them_sorted(home):
    feed = "hrss.pension_roll"
    both = pension_row(40, FFJE="-1", AAB301="990101")                     # AMOUNT_INVALID and DIVISION_UNKNOWN
    write_hrss(home.inbound("hrss"), feed, [pension_row(i) for i in range(12)] + [both])
    assert main(["run", feed]) == 0
    with connect(home.store_url).connect() as conn:
        found = rejected_roll_rows(conn, NOV, NOV).to_pylist()
    assert [(r["line_no"], r["aac002"], r["reasons"], r["amount_sent"]) for r in found] == [
        (14, both["AAC002"], "AMOUNT_INVALID, DIVISION_UNKNOWN", "-1")]


def test_no_rejected_row_is_an_empty_table_with_the_columns(home):
    with upgrade(home.store_url).connect() as conn:
        found = rejected_roll_rows(conn, NOV, NOV)
    assert found.num_rows == 0 and found.column_names[:6] == [
        "aac002", "month", "batch_id", "line_no", "file_name", "reasons"]
