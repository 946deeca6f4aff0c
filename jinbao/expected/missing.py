"""Missing deliveries and the reminders (催报) the hub sends for them (agreements §5).

A delivery is missing when it is past due plus grace and the hub has neither taken it (a batch
of any status in the ledger: a refused delivery came, it just has to come again) nor sees it
waiting in the partner's inbound/.  Each late one gets exactly one reminder in the partner's
outbound/, written through the partner's own transport, and an exchange-log entry (status
`reminder`) so operators see it beside the deliveries; that entry is also how a second check
knows the reminder went out already.  The check and the entry share one transaction that first
takes the exchange log's head row lock, so two checkers at once (the DAG's sensor and an operator's
`jinbao deliveries missing`) cannot both send one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from jinbao import exchange_log, ledger
from jinbao.declarations import InboundFeed
from jinbao.exchange_zone.enveloped import transport_for
from jinbao.expected.calendar import CalendarError
from jinbao.expected.due import Due, of_feed
from jinbao.files import write_atomically
from jinbao.schemas.store_tables import batch, exchange_log as log_table, exchange_log_head
from jinbao.settings import TIMEZONE, Settings

log = logging.getLogger("jinbao.expected")
#: The exchange-log status of a reminder sent (direction out).
REMINDER = "reminder"


@dataclass(frozen=True)
class Missing:
    """A late delivery; `reminded`: when its reminder went out (this check or an earlier one)."""

    due: Due
    partner: str
    reminder: str
    reminded: dt.datetime | None = None
    sent_now: bool = False


def reminder_name(due: Due) -> str:
    """Not a delivery's name (no sequence), so no partner tool mistakes it for data or a receipt."""
    return f"{due.feed}_{due.business_date:%Y%m%d}.reminder.txt"


def reminder_text(spec: InboundFeed, due: Due) -> str:
    """What the partner reads: the feed, the business date, when it was due; no hub path, command or ID."""
    at = due.due.astimezone(ZoneInfo(TIMEZONE))
    return (f"催报 Reminder: delivery not received\n\n"
            f"数据项 Feed: {spec.name} ({spec.title})\n"
            f"业务日期 Business date: {due.business_date:%Y-%m-%d}\n"
            f"应交时间 Due: {at:%Y-%m-%d %H:%M} 北京时间 (China Standard Time)\n\n"
            f"截至本提醒发出时，我方尚未收到该业务日期的交付。请按交换协议尽快提交；当日无数据的，"
            f"请提交仅含表头的文件。\n"
            f"As of this reminder we have not received the delivery for this business date. Please deliver it "
            f"as the exchange agreement says; if there is nothing to report for the day, deliver a file with "
            f"the header only.\n")


def taken_dates(conn: Connection, spec: InboundFeed, aliases: list[InboundFeed], dues: list[Due]
                ) -> set[dt.date]:
    """The business dates of `dues` the ledger holds a batch for: the feed's own of that date, or a batch of
    a feed bringing the same deliveries (`same_as`) dated from the business date up to its due day."""
    if not dues:
        return set()
    first, last = dues[0].business_date, dues[-1].due.date()
    rows = conn.execute(sa.select(batch.c.feed, batch.c.business_date).where(
        batch.c.feed.in_([spec.name, *(a.name for a in aliases)]),
        batch.c.business_date.between(first, last))).all()
    own = {d for f, d in rows if f == spec.name}
    other = [d for f, d in rows if f != spec.name]
    return {d.business_date for d in dues
            if d.business_date in own or any(d.business_date <= o <= d.due.date() for o in other)}


def _waiting(cfg: Settings, spec: InboundFeed) -> set[dt.date]:
    with transport_for(spec.partner, spec.transport, cfg) as transport:
        return {dt.datetime.strptime(d.business_date, "%Y%m%d").date() for d in transport.list_deliveries(spec.name)}


def _reminded(conn: Connection, feed: str, dates) -> dict[dt.date, dt.datetime]:
    rows = conn.execute(sa.select(log_table.c.business_date, log_table.c.at).where(
        log_table.c.feed == feed, log_table.c.direction == exchange_log.OUT, log_table.c.status == REMINDER,
        log_table.c.business_date.in_(list(dates)))).all()
    return {d: at for d, at in rows}


def aliases_of(feeds: dict, spec: InboundFeed) -> list[InboundFeed]:
    """The feeds that bring `spec`'s deliveries by another way (`expected: {same_as: ...}`)."""
    return [a for a in feeds.values() if isinstance(a, InboundFeed) and a.expected and a.expected.same_as == spec.name]


def outstanding(cfg: Settings, db: Engine, spec: InboundFeed, aliases: list[InboundFeed], dues: list[Due]
                ) -> list[Due]:
    """Those of `dues` the hub has neither taken (the ledger) nor sees waiting in the partner's inbound/."""
    if not dues:
        return []
    with db.connect() as conn:
        taken = taken_dates(conn, spec, aliases, dues)
    dues = [d for d in dues if d.business_date not in taken]
    if not dues:
        return []
    waiting = _waiting(cfg, spec)
    return [d for d in dues if d.business_date not in waiting]


def late(cfg: Settings, db: Engine, spec: InboundFeed, aliases: list[InboundFeed], first: dt.date, last: dt.date,
         at: dt.datetime | None = None) -> list[Due]:
    """The deliveries of `spec` with business dates first..last that are past due plus grace at `at` (default:
    the hub's clock) and neither taken nor waiting; from the feed's start date on."""
    at = at or ledger.now()
    dues = of_feed(spec, max(first, spec.start_date), last, known_only=True)
    return outstanding(cfg, db, spec, aliases, [d for d in dues if d.late <= at])


def remind(cfg: Settings, db: Engine, spec: InboundFeed, due: Due) -> Missing:
    """The reminder for one late delivery, sent unless an earlier check sent it."""
    name = reminder_name(due)
    with db.begin() as conn:
        # the head row's lock (as exchange_log.append takes it) makes check-then-send one step for all checkers
        conn.execute(exchange_log_head.update().where(exchange_log_head.c.id == 1)
                     .values(seq=exchange_log_head.c.seq))
        earlier = _reminded(conn, spec.name, [due.business_date]).get(due.business_date)
        if earlier is not None:
            return Missing(due, spec.partner, name, earlier)
        text = reminder_text(spec, due)
        local = cfg.home / "reminders" / spec.name / name
        local.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(local, text)
        entry = exchange_log.append(conn, exchange_log.log_key(cfg.home), direction=exchange_log.OUT,
                                    partner=spec.partner, feed=spec.name, file_name=name,
                                    sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), status=REMINDER,
                                    business_date=due.business_date, at=ledger.now())
        # a reminder holds no personal data: it goes plain (an envelope's put does not seal), through the
        # partner's transport, within the transaction (a failed upload leaves no entry, and the next check tries again)
        with transport_for(spec.partner, spec.transport, cfg) as transport:
            transport.put(local, name)
    log.warning("%s: the delivery for %s was due %s and has not come; reminder %s sent to %s's outbound/",
                spec.name, due.business_date, due.due.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M"),
                name, spec.partner)
    return Missing(due, spec.partner, name, entry["at"], sent_now=True)


@dataclass(frozen=True)
class Check:
    """What one check found: the late deliveries, and the feeds it could not judge (a calendar error)."""

    missing: list[Missing]
    unknown: dict[str, str]


def check(cfg: Settings, db: Engine, feeds: dict, first: dt.date, last: dt.date, only: str | None = None,
          send: bool = True, at: dt.datetime | None = None) -> Check:
    """Every late delivery of the inbound feeds (or `only`) with business dates first..last, each reminded
    once (`send`=False: listed, nothing sent)."""
    inbound = [s for s in feeds.values() if isinstance(s, InboundFeed)]
    found, unknown = [], {}
    for spec in inbound:
        if only and spec.name != only:
            continue
        aliases = aliases_of(feeds, spec)
        try:
            dues = late(cfg, db, spec, aliases, first, last, at)
        except CalendarError as exc:
            unknown[spec.name] = str(exc)
            continue
        if not send:
            with db.connect() as conn:
                sent = _reminded(conn, spec.name, [d.business_date for d in dues])
            found += [Missing(d, spec.partner, reminder_name(d), sent.get(d.business_date)) for d in dues]
            continue
        found += [remind(cfg, db, spec, d) for d in dues]
    return Check(found, unknown)

