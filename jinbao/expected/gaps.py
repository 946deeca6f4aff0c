"""Which deliveries of a period never came, as spans of business dates ("police.death: 3–5 Nov").

For the auditors' report (jinbao/audit/report.py): a finding built on death records can only be as
complete as the deliveries behind it, so the report states which of its month's deliveries the
hub never took (no batch of any status in the ledger).  Only deliveries already late when the
report is made count: one still due is not missing yet.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Connection

from jinbao.declarations import InboundFeed
from jinbao.expected.due import of_feed
from jinbao.expected.missing import aliases_of, taken_dates

#: The feeds whose records the auditors' death report compares.
DEATH_FEEDS = ("police.death", "health.death_certificate", "civil_affairs.cremation")

Span = tuple[dt.date, dt.date]


def never_came(conn: Connection, feeds: dict, names, first: dt.date, last: dt.date, at: dt.datetime
               ) -> dict[str, list[Span]]:
    """feed -> the spans of its business dates first..last, late at `at`, that the ledger holds no batch
    for; consecutive business dates of the feed (Friday and Monday for a working-day feed) form one span.
    A feed not declared, or without a timetable, is left out."""
    out: dict[str, list[Span]] = {}
    for name in names:
        spec = feeds.get(name)
        if not isinstance(spec, InboundFeed) or spec.expected is None or spec.expected.cadence is None:
            continue
        dues = [d for d in of_feed(spec, max(first, spec.start_date), last, known_only=True) if d.late <= at]
        taken = taken_dates(conn, spec, aliases_of(feeds, spec), dues)
        spans: list[Span] = []
        run: list[dt.date] = []
        for d in dues:
            if d.business_date in taken:
                if run:
                    spans.append((run[0], run[-1]))
                run = []
            else:
                run.append(d.business_date)
        if run:
            spans.append((run[0], run[-1]))
        out[name] = spans
    return out


def span_text(span: Span) -> str:
    """"3–5 Nov", "7 Nov", "30 Nov – 2 Dec", with the year when the span crosses one."""
    a, b = span
    if a == b:
        return f"{a.day} {a:%b}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b:%b}"
    if a.year == b.year:
        return f"{a.day} {a:%b} – {b.day} {b:%b}"
    return f"{a.day} {a:%b} {a.year} – {b.day} {b:%b} {b.year}"


def gaps_text(gaps: dict[str, list[Span]]) -> list[str]:
    """One line per feed with gaps ("police.death: 3–5 Nov, 9 Nov"); none when every delivery came."""
    return [f"{feed}: {', '.join(span_text(s) for s in spans)}" for feed, spans in gaps.items() if spans]
