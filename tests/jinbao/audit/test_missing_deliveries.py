"""The auditors' report states which death deliveries of its month never came, in every output."""
from __future__ import annotations

import datetime as dt

import openpyxl

from jinbao.audit.render_excel import MISSING_LABEL
from jinbao.cli import main
from jinbao.expected.calendar import is_working_day
from jinbao.expected.gaps import span_text
from tests.jinbao.register.conftest import Hub

NOVEMBER = [dt.date(2026, 11, d) for d in range(1, 31)]


def test_the_report_names_the_spans_of_days_that_never_came(sqlite_home, tmp_path, capsys):
    hub = Hub(sqlite_home.store_url, tmp_path)
    for day in NOVEMBER:                                   # header-only deliveries: nothing to report that day
        if day.day not in (3, 4, 5):
            hub.publish("police.death", [], day=day.isoformat())
        if is_working_day(day) and day.day not in (6, 9):   # Friday 6 and Monday 9: one span of business dates
            hub.publish("health.death_certificate", [], day=day.isoformat())
    # civil affairs sent nothing all month
    capsys.readouterr()

    assert main(["report", "deaths", "--month", "2026-11"]) == 0
    said = "police.death: 3–5 Nov; health.death_certificate: 6–9 Nov; civil_affairs.cremation: 1–30 Nov"
    assert f"death deliveries that never came: {said}" in capsys.readouterr().out

    folder = sqlite_home.reports / "deaths" / "2026-11"
    rows = (folder / "deaths-2026-11-missing-deliveries.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[1:] == ["police.death,2026-11-03,2026-11-05", "health.death_certificate,2026-11-06,2026-11-09",
                        "civil_affairs.cremation,2026-11-01,2026-11-30"]
    page = (folder / "deaths-2026-11.html").read_text(encoding="utf-8")
    assert 'id="missing-deliveries"' in page and "police.death: 3–5 Nov" in page
    assert "civil_affairs.cremation: 1–30 Nov" in page
    sheet = openpyxl.load_workbook(folder / "deaths-2026-11.xlsx").worksheets[0]
    [value] = [sheet.cell(r, 2).value for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == MISSING_LABEL]
    assert value.splitlines() == said.split("; ")
    handed = sqlite_home.outbound("audit") / "deaths-2026-11"
    assert (handed / "deaths-2026-11-missing-deliveries.csv").is_file()   # the auditors get it with the rest


def test_a_month_where_every_death_delivery_came_says_so(sqlite_home, tmp_path, capsys):
    hub = Hub(sqlite_home.store_url, tmp_path)
    for day in NOVEMBER:
        hub.publish("police.death", [], day=day.isoformat())
        hub.publish("civil_affairs.cremation", [], day=day.isoformat())
        if is_working_day(day):
            hub.publish("health.death_certificate", [], day=day.isoformat())
    capsys.readouterr()
    assert main(["report", "deaths", "--month", "2026-11"]) == 0
    assert "death deliveries that never came: none, every one came" in capsys.readouterr().out
    rows = (sqlite_home.reports / "deaths" / "2026-11" / "deaths-2026-11-missing-deliveries.csv").read_text(
        encoding="utf-8-sig").splitlines()
    assert len(rows) == 1                                   # the header alone


def test_span_text():
    d = dt.date
    assert span_text((d(2026, 11, 3), d(2026, 11, 5))) == "3–5 Nov"
    assert span_text((d(2026, 11, 7), d(2026, 11, 7))) == "7 Nov"
    assert span_text((d(2026, 11, 30), d(2026, 12, 2))) == "30 Nov – 2 Dec"
    assert span_text((d(2026, 12, 30), d(2027, 1, 2))) == "30 Dec 2026 – 2 Jan 2027"
