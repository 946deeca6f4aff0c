"""Which business dates of a feed are due, and by when (agreements §5).

The business date in a delivery's name is the day it covers: the day itself for a daily or
working-day feed, and the period's last day for a weekly (the Sunday), monthly or quarterly one.
A delivery is due at the declared time of a day that follows its business date; it is late
`grace` after that (two hours in §5), which is when the hub sends its reminder.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jinbao.expected.calendar import CalendarError, is_working_day, next_working_day, nth_working_day, working_day_from
from jinbao.settings import TIMEZONE

#: cadence -> what a business date is (`expected.business_date` in a declaration must say the same)
BUSINESS_DATES = {"daily": "day", "working_day": "day", "weekly": "period_end", "monthly": "period_end",
                  "quarterly": "period_end"}
CADENCES = tuple(BUSINESS_DATES)


@dataclass(frozen=True)
class Due:
    """One expected delivery: its business date, when it is due and when it is late (aware datetimes)."""

    feed: str
    business_date: dt.date
    due: dt.datetime
    late: dt.datetime


def _month_end(day: dt.date) -> dt.date:
    first_next = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first_next - dt.timedelta(days=1)


def is_business_date(cadence: str, day: dt.date) -> bool:
    """Whether `day` is a business date the feed delivers for at all."""
    if cadence == "daily":
        return True
    if cadence == "working_day":
        return is_working_day(day)
    if cadence == "weekly":
        return day.weekday() == 6
    if cadence == "monthly":
        return day == _month_end(day)
    if cadence == "quarterly":
        return day.month % 3 == 0 and day == _month_end(day)
    raise ValueError(f"unknown cadence {cadence!r}; known: {', '.join(CADENCES)}")


def due_day(cadence: str, business_date: dt.date, working_day: int | None = None) -> dt.date:
    """The day the delivery for `business_date` is due on."""
    if cadence == "daily":
        return business_date + dt.timedelta(days=1)
    if cadence == "working_day":
        return next_working_day(business_date)
    if cadence == "weekly":                      # Monday, or the next working day when Monday is not one
        return working_day_from(business_date + dt.timedelta(days=1))
    after = business_date + dt.timedelta(days=1)  # monthly, quarterly: the n-th working day after the period
    return nth_working_day(after.year, after.month, working_day)


def expected(feed: str, exp, business_date: dt.date) -> Due | None:
    """The delivery feed `feed` (declaration part `exp`, declarations.Expected) owes for `business_date`,
    or None when that day is no business date of the feed."""
    if not is_business_date(exp.cadence, business_date):
        return None
    when = dt.datetime.combine(due_day(exp.cadence, business_date, exp.working_day), exp.time,
                               tzinfo=ZoneInfo(TIMEZONE))
    return Due(feed, business_date, when, when + dt.timedelta(hours=exp.grace_hours))


def between(feed: str, exp, first: dt.date, last: dt.date, known_only: bool = False) -> list[Due]:
    """Every delivery of `feed` whose business date is within first..last (both included), oldest first.
    `known_only`: leave out the business dates whose due day falls in a year the installed calendar does not
    know yet (31 December's, until the library is upgraded) instead of raising CalendarError: what is asked
    is then what is already late, and a delivery whose due day is not known cannot be."""
    out, day = [], first
    while day <= last:
        try:
            one = expected(feed, exp, day)
        except CalendarError:
            if not known_only:
                raise
            one = None
        if one is not None:
            out.append(one)
        day += dt.timedelta(days=1)
    return out


def earliest_due_day(cadence: str, business_date: dt.date, working_day: int | None = None) -> dt.date:
    """A day the delivery for `business_date` cannot be due before, found without the calendar: the day
    after it, or for a monthly or quarterly feed the n-th calendar day of the month after the period."""
    after = business_date + dt.timedelta(days=1)
    if cadence in ("monthly", "quarterly"):
        return after.replace(day=working_day or 1)
    return after


def due_within(feed: str, exp, start: dt.datetime, end: dt.datetime) -> list[Due]:
    """The deliveries of `feed` due at or after `start` and before `end` (a DAG run's window, say).

    A business date whose delivery cannot fall due before `end` is not looked up: a December run of a
    quarterly feed must not need next January's working days, which the calendar may not know yet."""
    # A due date follows its business date by at most a quarter's worth of days (10th working day).
    back = {"daily": 1, "working_day": 15, "weekly": 15}.get(exp.cadence, 45)
    tz = ZoneInfo(TIMEZONE)
    first = start.astimezone(tz).date() - dt.timedelta(days=back)
    last = end.astimezone(tz).date()
    out, day = [], first
    while day <= last:
        earliest = dt.datetime.combine(earliest_due_day(exp.cadence, day, exp.working_day), exp.time, tzinfo=tz)
        if earliest < end:
            one = expected(feed, exp, day)
            if one is not None and start <= one.due < end:
                out.append(one)
        day += dt.timedelta(days=1)
    return out


def of_feed(spec, first: dt.date, last: dt.date, known_only: bool = False) -> list[Due]:
    """`between` for a feed declaration (declarations.InboundFeed): nothing for a feed without a timetable
    of its own (no `expected:`, or `same_as` another feed, which owes them)."""
    exp = getattr(spec, "expected", None)
    if exp is None or exp.cadence is None:
        return []
    return between(spec.name, exp, first, last, known_only)
