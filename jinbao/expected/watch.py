"""What the `expected_delivery` sensor of a feed's DAG run decides (dags/expected.py), without Airflow.

A run watches the deliveries due within its window: from the day of its logical date up to the day
of the next scheduled run (China Standard Time), so each due delivery is watched by exactly one
scheduled run, whatever the cron (the monthly roll runs on the 1st; its delivery is due on the 3rd
working day).  A run whose window holds none has nothing to watch (skipped: a weekend for a
working-day feed).  A delivery past due plus grace gets its reminder and the task fails red; a run
for a business date far in the past therefore decides at once, never waits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from jinbao import ledger
from jinbao.declarations import InboundFeed
from jinbao.expected.due import Due, due_within
from jinbao.expected.missing import aliases_of, outstanding, remind
from jinbao.settings import TIMEZONE, Settings

ARRIVED, NONE_DUE, NOT_YET, LATE = "arrived", "none_due", "not_yet", "late"


@dataclass(frozen=True)
class Verdict:
    state: str
    message: str
    dues: tuple[Due, ...] = ()


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def _dates(dues) -> str:
    return ", ".join(f"{d.business_date}" for d in dues)


def verdict(cfg: Settings, db: Engine, feeds: dict, spec: InboundFeed, start: dt.datetime, end: dt.datetime,
            at: dt.datetime | None = None) -> Verdict:
    """Whether the deliveries of `spec` due from `start` until before `end` are in (taken or waiting), not
    due yet, or late (then reminded, once: jinbao/expected/missing.py)."""
    at = at or ledger.now()
    exp = spec.expected
    if exp is None or exp.cadence is None:
        owner = f"; {exp.same_as} owes them" if exp is not None else ""
        return Verdict(NONE_DUE, f"{spec.name} declares no expected deliveries of its own{owner}")
    dues = [d for d in due_within(spec.name, exp, start, end) if d.business_date >= spec.start_date]
    if not dues:
        return Verdict(NONE_DUE, f"{spec.name}: no delivery is due between {_when(start)} and {_when(end)} "
                       "(China Standard Time)")
    missing = outstanding(cfg, db, spec, aliases_of(feeds, spec), dues)
    if not missing:
        return Verdict(ARRIVED, f"{spec.name}: the delivery for business date {_dates(dues)} is in", tuple(dues))
    late = [d for d in missing if d.late <= at]
    if not late:
        first = min(missing, key=lambda d: d.late)
        return Verdict(NOT_YET, f"{spec.name}: the delivery for business date {_dates(missing)} is due "
                       f"{_when(first.due)} and not in yet; late from {_when(first.late)}", tuple(missing))
    sent = [remind(cfg, db, spec, d) for d in late]
    lines = [f"{spec.name}: the delivery for business date {m.due.business_date} was due {_when(m.due.due)} "
             f"(China Standard Time) and has not arrived; reminder {m.reminder} "
             f"{'sent now' if m.sent_now else 'sent ' + _when(m.reminded)} to {spec.partner}'s outbound/ "
             "(exchange log, status reminder)" for m in sent]
    lines.append(f"Next: ask {spec.partner} to deliver it (a day with nothing to report is a header-only file); "
                 f"once it is in {spec.partner}'s inbound/, clear this task (or run `jinbao run {spec.name}`). "
                 "`jinbao deliveries missing` lists every late delivery.")
    return Verdict(LATE, "\n".join(lines), tuple(late))
