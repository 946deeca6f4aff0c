"""jinbao/expected/due.py with the shipped declarations: which business dates are due by when (agreements §5)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jinbao.declarations import load_feeds
from jinbao.expected.calendar import is_working_day
from jinbao.expected.due import between, due_within, expected, of_feed
from jinbao.settings import TIMEZONE, Settings, shipped_feeds_dir

D = dt.date
CST = ZoneInfo(TIMEZONE)


@pytest.fixture(scope="module")
def feeds():
    return load_feeds(Settings(home="/nonexistent", feeds_dir=shipped_feeds_dir()))


def at(y, m, d, hh, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


def _due(feeds, name, day):
    return expected(name, feeds[name].expected, day)


def test_a_daily_feed_is_due_the_next_morning_and_late_two_hours_after(feeds):
    one = _due(feeds, "police.death", D(2026, 10, 3))
    assert (one.business_date, one.due, one.late) == (D(2026, 10, 3), at(2026, 10, 4, 2), at(2026, 10, 4, 4))
    assert len(of_feed(feeds["civil_affairs.cremation"], D(2026, 10, 1), D(2026, 10, 7))) == 7   # holidays too


def test_a_working_day_feed_owes_nothing_for_a_holiday_and_is_due_the_next_working_day(feeds):
    assert _due(feeds, "health.death_certificate", D(2026, 10, 2)) is None                     # National Day
    assert _due(feeds, "health.death_certificate", D(2026, 9, 30)).due == at(2026, 10, 8, 8)
    friday = _due(feeds, "hrss.resident_enrollment", D(2026, 10, 9))
    assert friday.due == at(2026, 10, 10, 6)                # the adjusted Saturday is a working day
    listed = [d.business_date for d in of_feed(feeds["health.death_certificate"], D(2026, 9, 28), D(2026, 10, 12))]
    assert listed == [D(2026, 9, 28), D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 9),
                      D(2026, 10, 10), D(2026, 10, 12)]
    assert all(is_working_day(d) for d in listed)


def test_a_monday_holiday_moves_assistance_to_the_next_working_day(feeds):
    ordinary = _due(feeds, "civil_affairs.assistance", D(2026, 3, 8))             # Sunday; Monday 9 March
    assert ordinary.due == at(2026, 3, 9, 6) and ordinary.late == at(2026, 3, 9, 8)
    national = _due(feeds, "civil_affairs.assistance", D(2026, 10, 4))            # Monday 5 Oct is a holiday
    assert national.due == at(2026, 10, 8, 6)
    spring = _due(feeds, "civil_affairs.assistance", D(2026, 2, 15))              # Monday 16 Feb: Spring Festival
    assert not is_working_day(D(2026, 2, 16)) and spring.due.date() > D(2026, 2, 16)
    assert is_working_day(spring.due.date())
    assert _due(feeds, "civil_affairs.assistance", D(2026, 3, 9)) is None          # only Sundays close a week


@pytest.mark.parametrize("feed, period_end, due_day", [
    ("hrss.pension_roll", D(2026, 2, 28), D(2026, 3, 4)),         # 3rd working day: Mon 2, Tue 3, Wed 4
    ("hrss.contribution", D(2026, 9, 30), D(2026, 10, 10)),       # after National Day: 8, 9 and Saturday 10
    ("finance.subsidy_payment", D(2026, 1, 31), D(2026, 2, 6)),   # 5th working day
    ("finance.subsidy_payment", D(2026, 9, 30), D(2026, 10, 13)),  # 8, 9, 10, 12, 13
    ("central_bank.employer_status", D(2026, 9, 30), D(2026, 10, 20)),   # 10th working day after the quarter
])
def test_the_nth_working_day_rules(feeds, feed, period_end, due_day):
    one = _due(feeds, feed, period_end)
    assert one.due == dt.datetime.combine(due_day, dt.time(18), tzinfo=CST)
    assert one.late - one.due == dt.timedelta(hours=2)
    assert _due(feeds, feed, period_end - dt.timedelta(days=1)) is None      # one delivery per period


def test_quarterly_business_dates_are_quarter_ends(feeds):
    dates = [d.business_date for d in of_feed(feeds["central_bank.employer_status"], D(2025, 12, 1), D(2026, 11, 30))]
    assert dates == [D(2025, 12, 31), D(2026, 3, 31), D(2026, 6, 30), D(2026, 9, 30)]


def test_the_front_end_feed_owes_nothing_of_its_own(feeds):
    front = feeds["finance.subsidy_payment_frontend"]
    assert front.expected.same_as == "finance.subsidy_payment" and of_feed(front, D(2026, 1, 1), D(2026, 3, 1)) == []
    assert [d.business_date for d in of_feed(feeds["finance.subsidy_payment"], D(2026, 1, 1), D(2026, 3, 31))] == [
        D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)]


def test_due_within_a_window(feeds):
    exp = feeds["hrss.pension_roll"].expected
    # a run on 1 March until the next on 1 April expects February's roll, due on 4 March
    assert [d.business_date for d in due_within("hrss.pension_roll", exp, at(2026, 3, 1, 0), at(2026, 4, 1, 0))] == [
        D(2026, 2, 28)]
    daily = due_within("police.death", feeds["police.death"].expected, at(2026, 3, 5, 0), at(2026, 3, 6, 0))
    assert [d.business_date for d in daily] == [D(2026, 3, 4)]
    assert between("police.death", feeds["police.death"].expected, D(2026, 3, 5), D(2026, 3, 4)) == []


def test_a_due_day_in_a_year_the_calendar_does_not_know_is_left_out_only_when_asked(feeds):
    import chinese_calendar
    from jinbao.expected.calendar import CalendarError
    year = max(chinese_calendar.holidays).year
    last = D(year, 12, 31)                     # a working day?  its due day is in the next, unknown year
    health = feeds["health.death_certificate"]
    with pytest.raises(CalendarError):
        of_feed(health, D(year, 12, 20), last)
    known = of_feed(health, D(year, 12, 20), last, known_only=True)
    assert known and all(d.due.year == year for d in known)


def test_a_december_run_of_a_quarterly_feed_needs_no_calendar_of_the_next_year(feeds):
    """Q4's delivery is due on the 10th working day of January: not before 10 January, whatever next year's
    calendar says, so a run whose window ends on 5 January finds nothing due without asking for it."""
    import chinese_calendar
    year = max(chinese_calendar.holidays).year            # the last year the installed library knows
    bank = feeds["central_bank.employer_status"].expected
    assert due_within("central_bank.employer_status", bank, at(year, 12, 3, 0), at(year + 1, 1, 5, 0)) == []
    # ... and one whose window reaches past the 10th still needs it, and says so
    from jinbao.expected.calendar import CalendarError
    with pytest.raises(CalendarError):
        due_within("central_bank.employer_status", bank, at(year, 12, 3, 0), at(year + 1, 1, 20, 0))
