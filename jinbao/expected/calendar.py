"""China's working days, as the State Council publishes them, from the maintained `chinesecalendar` library.

Agreements §5 count due dates in working days "following the State Council's official calendar,
including the adjusted working days (调休) that fall on weekends".  Those change every year by
decree, so they come from a library that tracks the decrees, never from a list kept here: the
library is upgraded each December, once the next year's arrangement is published (docs/expected.md).
A day in a year the library does not know is an error, not a guess: a weekday-only rule would
silently move due dates around the Spring Festival.
"""
from __future__ import annotations

import datetime as dt

import chinese_calendar


class CalendarError(ValueError):
    """A date in a year the installed calendar does not cover; the message says how to fix it."""


def _known(day: dt.date) -> None:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError as exc:
        raise CalendarError(
            f"China's official working-day calendar for {day.year} is not installed (chinesecalendar "
            f"{chinese_calendar.__version__} covers up to {max(chinese_calendar.holidays).year}); upgrade the "
            "chinesecalendar package once the State Council has published that year's holiday arrangement") from exc


def is_working_day(day: dt.date) -> bool:
    """True on a weekday that is no public holiday, and on a weekend day made a working day (调休)."""
    _known(day)
    return chinese_calendar.is_workday(day)


def is_adjusted_working_day(day: dt.date) -> bool:
    """A Saturday or Sunday that is a working day by the year's arrangement (调休上班)."""
    return day.weekday() >= 5 and is_working_day(day)


def next_working_day(day: dt.date) -> dt.date:
    """The first working day after `day`."""
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def working_day_from(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the next one."""
    return day if is_working_day(day) else next_working_day(day)


def nth_working_day(year: int, month: int, n: int) -> dt.date:
    """The n-th working day (1 = the first) of the month."""
    if n < 1:
        raise ValueError(f"n-th working day counts from 1, got {n}")
    day = working_day_from(dt.date(year, month, 1))
    for _ in range(n - 1):
        day = next_working_day(day)
    if day.month != month:
        raise ValueError(f"{year}-{month:02d} has fewer than {n} working days")
    return day
