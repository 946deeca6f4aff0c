"""Whether a feed may be judged yet: the feeds its declaration names in `after` have finished their
deliveries of the day.

A subsidy payment is checked against the subsidy lines the day's enrolments create; judged before
them it is rejected (SUBSIDY_NO_LINE) for want of a line published seconds later.  `jinbao run all`
keeps the order by running feeds one after another (declarations._in_order); in Airflow every feed
is its own DAG, so the dependent one waits (dags/dag_factory.py's `wait_for_after` sensor) until this
module says nothing it comes after is still on its way.

"Finished" is the ledger's word: every delivery of those feeds dated up to the day is published,
held or refused.  A delivery still waiting in the partner's inbound/, or a batch still received or
judged, is not.  A feed with nothing waiting holds no one up: a missing delivery is the partner's
lateness (reminders), not a reason to keep a payment waiting for ever.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jinbao import ledger
from jinbao.declarations import InboundFeed, get_feed
from jinbao.engine import Engine
from jinbao.ledger import Status
from jinbao.settings import Settings

#: The statuses a batch is done in, for the feeds judged after it (a held batch waits for a person,
#: not for the next feed: holding both would leave the payments waiting on a review).
DONE = (Status.PUBLISHED.value, Status.HELD.value, Status.REFUSED.value)


@dataclass(frozen=True)
class Unfinished:
    """One delivery of an `after` feed that is still on its way, as an operator reads it."""

    feed: str
    file: str
    state: str          # "waiting in inbound/" or the batch's status

    def __str__(self) -> str:
        return f"{self.feed}: {self.file} ({self.state})"


def unfinished(spec: InboundFeed, cfg: Settings, up_to: dt.date | None) -> list[Unfinished]:
    """The deliveries, dated up to `up_to` (all when None), of the feeds `spec` is judged after that are
    not finished; empty: `spec` may be judged."""
    out: list[Unfinished] = []
    for name in spec.after:
        eng = Engine(get_feed(name, cfg), cfg)
        try:
            with eng.db.begin() as conn:
                taken = ledger.in_progress(conn, name, up_to)
            waiting = [d for d in eng.waiting() if up_to is None or
                       dt.datetime.strptime(d.business_date, "%Y%m%d").date() <= up_to]
        finally:
            eng.close()
        for d in waiting:
            if d.name not in taken:
                out.append(Unfinished(name, d.name, f"waiting in {eng.spec.partner}'s inbound/"))
        out += [Unfinished(name, file, f"batch {row['id']} {row['status']}") for file, row in taken.items()
                if row["status"] not in DONE]
    return out
