"""The hub's timetable: Airflow's cron trigger timetable, said in words in China Standard Time.

Airflow's Schedule column and DAG details show a timetable's `summary`; the cron trigger timetable's
is the bare expression, with no time zone, which reads as UTC to anyone.  This subclass only changes
what is shown.  Airflow must know it to (de)serialize DAGs: plugins/jinbao_plugin.py registers it in
every component (scheduler, DAG processor, API server).
"""
from __future__ import annotations

from airflow._shared.timezones.timezone import coerce_datetime, utcnow
from airflow.timetables.trigger import CronTriggerTimetable

ZONE_NAME = "China Standard Time"
WEEKDAYS = {"0": "Sunday", "1": "Monday", "2": "Tuesday", "3": "Wednesday", "4": "Thursday", "5": "Friday",
            "6": "Saturday", "7": "Sunday"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


class ReadableCron(CronTriggerTimetable):
    """A cron trigger timetable whose summary and description are `described()` of its expression."""

    def __init__(self, cron: str, **kwargs):
        super().__init__(cron, **kwargs)
        self.description = described(cron)

    @property
    def summary(self) -> str:
        return described(self._expression)

    def _calc_first_run(self):
        """A DAG that never ran waits for its next slot when unpaused.  Airflow 3.3.2 treats
        `run_immediately=False` like None (it runs the slot just past when unpaused within a tenth of the
        gap between slots: 2.4 hours for a daily feed), though its docs say False waits for the next
        scheduled time; the hub keeps the documented promise (dags/schedules.py)."""
        if self._run_immediately is False:
            return self._align_to_next(coerce_datetime(utcnow()))
        return super()._calc_first_run()


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
