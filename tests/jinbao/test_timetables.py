"""jinbao/timetables.py: the hub's schedules say themselves in words and never run a past slot on unpause."""
from __future__ import annotations

import airflow.timetables.trigger as trigger
import pendulum
import pytest
from airflow.timetables.base import TimeRestriction
from airflow.timetables.trigger import CronTriggerTimetable

from jinbao import timetables
from jinbao.timetables import ReadableCron

CST = pendulum.timezone("Asia/Shanghai")
NO_CATCHUP = TimeRestriction(earliest=None, latest=None, catchup=False)


@pytest.fixture
def at_0227_cst(monkeypatch):
    """27 minutes after police.identity's daily 02:00 China Standard Time slot (when CI once ran)."""
    now = pendulum.datetime(2026, 12, 6, 18, 27, tz="UTC")
    monkeypatch.setattr(timetables, "utcnow", lambda: now)
    monkeypatch.setattr(trigger, "utcnow", lambda: now)
    return now


def _first(tt) -> pendulum.DateTime:
    return tt.next_dagrun_info(last_automated_data_interval=None, restriction=NO_CATCHUP).run_after


def test_a_never_run_dag_unpaused_just_after_its_slot_waits_for_the_next(at_0227_cst):
    assert _first(ReadableCron("0 2 * * *", timezone=CST, run_immediately=False)) == \
        pendulum.datetime(2026, 12, 7, 18, 0, tz="UTC")
    # Airflow's own timetable, with the same setting, would run the slot 27 minutes past at once
    assert _first(CronTriggerTimetable("0 2 * * *", timezone=CST, run_immediately=False)) == \
        pendulum.datetime(2026, 12, 6, 18, 0, tz="UTC")


def test_the_summary_is_the_schedule_in_words():
    tt = ReadableCron("30 2 * * *", timezone=CST, run_immediately=False)
    assert tt.summary == tt.description == "daily 02:30 China Standard Time"
    assert ReadableCron.deserialize(tt.serialize()).summary == "daily 02:30 China Standard Time"
