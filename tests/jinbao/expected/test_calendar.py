"""jinbao/expected/calendar.py: working days as the State Council's 2026 arrangement has them, from the library."""
from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from jinbao.expected.calendar import (CalendarError, is_adjusted_working_day, is_working_day, next_working_day,
                                      nth_working_day)

D = dt.date


def _adjusted_2026() -> list[dt.date]:
    """The weekend days the library's data makes working days in 2026 (调休上班)."""
    return sorted(d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() >= 5)


def test_the_library_knows_2026_and_its_adjusted_working_days():
    adjusted = _adjusted_2026()
    assert adjusted, "chinesecalendar lists no adjusted working day in 2026: is it the installed version?"
    for day in adjusted:
        assert is_working_day(day) and is_adjusted_working_day(day), day


def test_a_weekend_working_day_and_a_weekday_holiday():
    assert D(2026, 2, 28).weekday() == 5 and is_working_day(D(2026, 2, 28))     # Saturday after the Spring Festival
    assert D(2026, 10, 1).weekday() == 3 and not is_working_day(D(2026, 10, 1))  # National Day, a Thursday
    assert not is_working_day(D(2026, 3, 7)) and not is_adjusted_working_day(D(2026, 3, 9))  # plain weekend, weekday


def test_next_working_day_skips_the_holiday_and_lands_on_an_adjusted_saturday():
    assert next_working_day(D(2026, 9, 30)) == D(2026, 10, 8)      # National Day week, 1-7 Oct
    assert next_working_day(D(2026, 10, 9)) == D(2026, 10, 10)     # the Saturday worked in its place
    assert next_working_day(D(2026, 3, 6)) == D(2026, 3, 9)        # an ordinary weekend


@pytest.mark.parametrize("month, n, expected", [
    ((2026, 3), 3, D(2026, 3, 4)),       # Sun 1st: Mon 2, Tue 3, Wed 4
    ((2026, 3), 5, D(2026, 3, 6)),
    ((2026, 2), 5, D(2026, 2, 6)),
    ((2026, 10), 3, D(2026, 10, 10)),    # National Day 1-7: Thu 8, Fri 9, then the adjusted Saturday 10
    ((2026, 10), 10, D(2026, 10, 20)),
    ((2026, 1), 3, D(2026, 1, 6)),       # New Year 1-3 Jan; Sun 4 Jan is worked (调休)
])
def test_nth_working_day(month, n, expected):
    assert nth_working_day(*month, n) == expected
    # the same answer by counting the library's working days from the 1st
    first = D(*month, 1)
    counted = [first + dt.timedelta(days=i) for i in range(31) if chinese_calendar.is_workday(first + dt.timedelta(days=i))]
    assert counted[n - 1] == expected


def test_a_year_the_library_does_not_know_is_a_clear_error():
    unknown = max(chinese_calendar.holidays).year + 1
    with pytest.raises(CalendarError, match=f"calendar for {unknown} is not installed.*upgrade the chinesecalendar"):
        is_working_day(D(unknown, 3, 2))
    with pytest.raises(CalendarError):
        next_working_day(D(unknown - 1, 12, 31))
