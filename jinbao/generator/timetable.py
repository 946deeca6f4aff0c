"""Which deliveries a business date owes, as the feeds' declarations say (`expected:`, agreements §5).

`jinbao generate --date D` writes only these, so that a generated month has the agreements' rhythm
(police and cremation daily, health and enrolment on working days, assistance for the week on its
Sunday, the pension roll, contributions and finance for the month on its last day, the central bank
for the quarter on its last day) and the missing-delivery alarm has something true to check.  A
feed with no timetable of its own (undeclared, or `same_as` another) is written every day, as before.

A delivery that covers more than its day (finance's month) carries what happened over its *period*:
the days after the feed's previous business date up to its own.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from jinbao.declarations import InboundFeed, load_feeds
from jinbao.expected.due import is_business_date

FILE = "deliveries_{:%Y%m%d}.csv"
WRITTEN, OMITTED = "written", "omitted"


def cadences(cfg) -> dict[str, str]:
    """feed -> cadence, for every inbound feed declared with a timetable of its own."""
    return {spec.name: spec.expected.cadence for spec in load_feeds(cfg).values()
            if isinstance(spec, InboundFeed) and spec.expected is not None and spec.expected.cadence}


def owed(timetable: dict[str, str] | None, feed: str, day: dt.date) -> bool:
    """Whether `day` is a business date of `feed` (`timetable` None: every feed every day)."""
    if timetable is None or feed not in timetable:
        return True
    return is_business_date(timetable[feed], day)


def period(timetable: dict[str, str] | None, feed: str, day: dt.date, first: dt.date) -> list[dt.date]:
    """The days a delivery of `feed` for business date `day` covers, oldest first: those after the
    feed's previous business date, not before `first` (the story's first day)."""
    days = [day]
    d = day - dt.timedelta(days=1)
    while d >= first and not owed(timetable, feed, d):
        days.insert(0, d)
        d -= dt.timedelta(days=1)
    return days


def previous(timetable: dict[str, str] | None, feed: str, day: dt.date, first: dt.date) -> dt.date | None:
    """The feed's business date before `day` within the story, or None."""
    d = day - dt.timedelta(days=1)
    while d >= first:
        if owed(timetable, feed, d):
            return d
        d -= dt.timedelta(days=1)
    return None


def write(truth_dir: Path, day: dt.date, written: list[str], omitted: list[str]) -> str:
    """The missing-delivery alarm's answer key for `day`: every delivery owed, written or left out."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    name = FILE.format(day)
    with open(truth_dir / name, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["feed", "business_date", "status"])
        out.writerows([(f, day.isoformat(), WRITTEN) for f in written] + [(f, day.isoformat(), OMITTED) for f in omitted])
    return name
