"""When the hub's DAGs run, as an operator reads it: cron in China Standard Time, said in words, and
no run that nobody asked for.

- Every cron expression is read in Asia/Shanghai (the agreements' times), never UTC.
- Airflow's Schedule column shows a timetable's summary: the hub's timetable (jinbao/timetables.py,
  registered by plugins/jinbao_plugin.py) says it in words, e.g. "daily 02:30 China Standard Time",
  and so do the DAG's description and docs.
- Unpausing a DAG does not run the slot just past.  With catchup off, Airflow's cron trigger timetable
  runs the latest past slot at once when the DAG has a start date in the past (the scheduler's
  candidates are "the slot before now" and "the first slot after the start date", the later wins);
  without a start date, `run_immediately=False` waits for the next slot (as Airflow documents it; its
  3.3.2 code runs the slot just past when within a tenth of the gap, so the hub's timetable,
  jinbao/timetables.py, keeps the documented promise).  So a DAG gets its declared
  start date only while that is still ahead (the first run is then the first slot after it).
"""
from __future__ import annotations

import datetime as dt

import pendulum

from jinbao.settings import TIMEZONE
from jinbao.timetables import ReadableCron, described  # noqa: F401 - described: the DAG docs' wording

TZ = pendulum.timezone(TIMEZONE)


def timetable(cron: str) -> ReadableCron:
    return ReadableCron(cron, timezone=TZ, run_immediately=False)


def start_date(declared: dt.date, today: dt.date | None = None) -> pendulum.DateTime | None:
    """The declared start date when it is still ahead; None once it has passed (no run on unpause)."""
    today = today or pendulum.now(TZ).date()
    if declared <= today:
        return None
    return pendulum.datetime(declared.year, declared.month, declared.day, tz=TZ)


