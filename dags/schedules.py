"""When the hub's DAGs run, as an operator reads it: cron in China Standard Time, said in words, and
no run that nobody asked for.

- Every cron expression is read in Asia/Shanghai (the agreements' times), never UTC.
- Airflow's Schedule column shows the expression and its own English reading of it, without a time
  zone; the DAG's description and docs carry `described()`, e.g. "daily 02:30 China Standard Time".
  (A timetable of our own with that text as its summary would need an Airflow plugin registering it
  in the scheduler and API server: not worth a second place where timetables are defined.)
- Unpausing a DAG does not run the slot just past.  With catchup off, Airflow's cron trigger timetable
  runs the latest past slot at once when the DAG has a start date in the past (the scheduler's
  candidates are "the slot before now" and "the first slot after the start date", the later wins);
  without a start date, `run_immediately=False` waits for the next slot.  So a DAG gets its declared
  start date only while that is still ahead (the first run is then the first slot after it).
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import CronTriggerTimetable

from jinbao.settings import TIMEZONE

TZ = pendulum.timezone(TIMEZONE)
ZONE_NAME = "China Standard Time"
WEEKDAYS = {"0": "Sunday", "1": "Monday", "2": "Tuesday", "3": "Wednesday", "4": "Thursday", "5": "Friday",
            "6": "Saturday", "7": "Sunday"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def timetable(cron: str) -> CronTriggerTimetable:
    return CronTriggerTimetable(cron, timezone=TZ, run_immediately=False)


def start_date(declared: dt.date, today: dt.date | None = None) -> pendulum.DateTime | None:
    """The declared start date when it is still ahead; None once it has passed (no run on unpause)."""
    today = today or pendulum.now(TZ).date()
    if declared <= today:
        return None
    return pendulum.datetime(declared.year, declared.month, declared.day, tz=TZ)


def _ordinal(day: str) -> str:
    n = int(day)
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def described(cron: str) -> str:
    """The schedule in words, China Standard Time: "daily 02:30", "every Monday 03:00", "monthly on the 2nd
    04:00", "on the 1st of January, April, July and October 04:00"; anything else as its cron text."""
    parts = cron.split()
    if len(parts) != 5 or not (parts[0].isdigit() and parts[1].isdigit()):
        return f"cron {cron} ({ZONE_NAME})"
    minute, hour, dom, month, dow = parts
    at = f"{int(hour):02d}:{int(minute):02d} {ZONE_NAME}"
    if dom == "*" and month == "*" and dow == "*":
        return f"daily {at}"
    if dom == "*" and month == "*" and all(d in WEEKDAYS for d in dow.split(",")):
        return f"every {_and(WEEKDAYS[d] for d in dow.split(','))} {at}"
    if dom.isdigit() and dow == "*" and month == "*":
        return f"monthly on the {_ordinal(dom)} {at}"
    if dom.isdigit() and dow == "*" and all(m.isdigit() and 1 <= int(m) <= 12 for m in month.split(",")):
        return f"on the {_ordinal(dom)} of {_and(MONTHS[int(m) - 1] for m in month.split(','))} {at}"
    return f"cron {cron} ({ZONE_NAME})"


def _and(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
