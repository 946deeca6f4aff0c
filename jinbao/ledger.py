"""The batch ledger: one row per delivery, its status, and the rules for taking a new one.

A *batch* is always one delivery as the hub took it (never an Arrow block).
The ledger is what makes re-runs safe: a delivery seen before (same feed,
name and sha256) resumes where it stopped; the same content under another
name is a duplicate; a sequence not above the last one taken is a replay.
Status moves only along `TRANSITIONS`, by compare-and-set, so two runs can
never both publish one batch.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.connectors.base import delivery_base
from jinbao.privacy import mask_text
from jinbao.schemas.store_tables import batch
from jinbao.settings import TIMEZONE


class Status(str, enum.Enum):
    RECEIVED = "received"    # fetched into staging, waiting to be judged
    JUDGED = "judged"        # accepted/rejected Parquet in staging, waiting to be published
    HELD = "held"            # too many rejections: a person must release it
    PUBLISHED = "published"  # in the store (receipt and acknowledgement may still be owed)
    REFUSED = "refused"      # the whole delivery refused; kept in quarantine

    def __str__(self) -> str:
        return self.value


#: Where each status may go next; anything else is a bug or a race lost.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.JUDGED, Status.HELD, Status.REFUSED}),
    # refused: the store cannot take it; received: its staged files were lost, judged again
    Status.JUDGED: frozenset({Status.PUBLISHED, Status.REFUSED, Status.RECEIVED}),
    # published: released by a person; refused: refused by a person; received: judged again (jinbao/release.py)
    Status.HELD: frozenset({Status.PUBLISHED, Status.REFUSED, Status.RECEIVED}),
    Status.PUBLISHED: frozenset(),
    Status.REFUSED: frozenset(),
}
#: A delivery that was taken counts toward sequences and duplicates; a refused one does not.
TAKEN = (Status.RECEIVED, Status.JUDGED, Status.HELD, Status.PUBLISHED)
#: The sha256 of a stray's batch: set aside unread, so no content was ever hashed.
STRAY = "-"


class TransitionError(RuntimeError):
    """A status move that TRANSITIONS does not allow."""


@dataclass(frozen=True)
class Refusal:
    """Why a whole delivery is refused: a stable code (quality.reasons.BATCH_REASONS) and details."""

    code: str
    detail: str


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery, as the CLI, the DAG and the demo report it."""

    batch_id: int | None
    file: str
    status: str
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    published: int = 0
    reason_code: str | None = None

    @classmethod
    def of(cls, row: dict) -> "Outcome":
        return cls(batch_id=row["id"], file=row["file_name"], status=row["status"],
                   received=row["received"] or 0, accepted=row["accepted"] or 0,
                   rejected=row["rejected"] or 0, published=row["published"] or 0,
                   reason_code=row["reason_code"])


def now() -> dt.datetime:
    """The hub's clock (aware, UTC).  Every "now" and "today" of the hub reads it, so a test injects the
    hub's clock by replacing this function (monkeypatch.setattr(ledger, "now", ...))."""
    return dt.datetime.now(dt.timezone.utc)


def today(at: dt.datetime | None = None) -> dt.date:
    """The hub's day at `at` (default: now): China's calendar day, whatever the server's zone."""
    return (at or now()).astimezone(ZoneInfo(TIMEZONE)).date()


def latest_business_date(allowance: dt.timedelta, at: dt.datetime | None = None) -> dt.date:
    """The latest business date a delivery received at `at` (default: now) may carry: the hub's day, or the
    next one once the clock allowance reaches past midnight (a partner's clock that runs a little ahead).
    Agreements §5: the business date in a delivery's name is never after the day it is delivered."""
    return today((at or now()) + allowance)


def future_business_date(business_date: dt.date, allowance: dt.timedelta, at: dt.datetime | None = None
                         ) -> Refusal | None:
    """The refusal of a delivery dated after the day the hub receives it, or None."""
    if business_date <= latest_business_date(allowance, at):
        return None
    return Refusal("BUSINESS_DATE_IN_FUTURE",
                   f"the business date {business_date:%Y%m%d} in the file name is after {today(at):%Y%m%d}, the day "
                   f"it was delivered (China Standard Time); send it again under the business date it covers")


def get(conn: Connection, batch_id: int) -> dict:
    row = conn.execute(sa.select(batch).where(batch.c.id == batch_id)).mappings().first()
    if row is None:
        raise LookupError(f"no batch {batch_id}")
    return dict(row)


def find_same(conn: Connection, feed: str, name: str, sha256: str) -> dict | None:
    """The unfinished or taken batch of this exact delivery (name and content): a resume, not a new one."""
    unfinished_refusal = sa.and_(batch.c.status == Status.REFUSED.value, batch.c.acked_at.is_(None))
    row = conn.execute(sa.select(batch).where(
        batch.c.feed == feed, batch.c.file_name == name, batch.c.sha256 == sha256,
        sa.or_(batch.c.status.in_([s.value for s in TAKEN]), unfinished_refusal))
        .order_by(batch.c.id.desc())).mappings().first()
    return dict(row) if row else None


def unfinished(conn: Connection, feed: str) -> list[int]:
    """Deliveries a run left half-way: not yet judged or published, or still owing the partner its
    receipt or acknowledgement (a held batch waits for a person and is not among them).  Strays are
    not: the receive that sets them aside finishes them (`strays_owing_receipt`)."""
    owing = sa.or_(batch.c.receipt_at.is_(None), batch.c.acked_at.is_(None))
    q = sa.select(batch.c.id).where(batch.c.feed == feed, batch.c.sha256 != STRAY, sa.or_(
        batch.c.status.in_([Status.RECEIVED.value, Status.JUDGED.value]),
        sa.and_(batch.c.status.in_([Status.PUBLISHED.value, Status.REFUSED.value]), owing))).order_by(batch.c.id)
    return [r.id for r in conn.execute(q)]


def open_strays(conn: Connection, feeds) -> list[dict]:
    """Strays of these feeds recorded but not yet set aside (a run stopped in between), oldest first."""
    return [dict(r) for r in conn.execute(sa.select(batch).where(
        batch.c.feed.in_(list(feeds)), batch.c.sha256 == STRAY, batch.c.acked_at.is_(None))
        .order_by(batch.c.id)).mappings()]


def strays_owing_receipt(conn: Connection, feed: str) -> list[int]:
    """Strays of `feed` set aside whose receipt has not been sent yet, oldest first."""
    return [r.id for r in conn.execute(sa.select(batch.c.id).where(
        batch.c.feed == feed, batch.c.sha256 == STRAY, batch.c.acked_at.is_not(None), batch.c.receipt_at.is_(None))
        .order_by(batch.c.id))]


def first_of_its_base(conn: Connection, row: dict) -> bool:
    """Whether no earlier delivery of the feed had this batch's base name `<feed>_<YYYYMMDD>_<seq>` (a resend,
    or the same delivery sealed and plain, has one), so its receipt may take the bare base name."""
    base = delivery_base(row["file_name"])
    earlier = conn.execute(sa.select(batch.c.file_name).where(
        batch.c.feed == row["feed"], batch.c.sequence == row["sequence"], batch.c.sha256 != STRAY,
        batch.c.id < row["id"]))
    return all(delivery_base(r.file_name) != base for r in earlier)


def admission(conn: Connection, feed: str, sha256: str, sequence: int, *, records: int | None = None
              ) -> Refusal | None:
    """Why a new delivery may not be taken (duplicate content, replayed sequence), or None.

    A delivery of no records (`records == 0`) is never a duplicate: a partner with nothing to report
    still delivers the header alone (agreements §5), the same bytes every quiet day."""
    dup = None if records == 0 else conn.execute(sa.select(batch.c.id, batch.c.file_name).where(
        batch.c.feed == feed, batch.c.sha256 == sha256, batch.c.status.in_([s.value for s in TAKEN]))).first()
    if dup is not None:
        return Refusal("DUPLICATE_FILE", f"same sha256 as batch {dup.id} ({dup.file_name})")
    last = conn.execute(sa.select(sa.func.max(batch.c.sequence)).where(
        batch.c.feed == feed, batch.c.status.in_([s.value for s in TAKEN]))).scalar()
    if last is not None and sequence <= last:
        return Refusal("SEQUENCE_REPLAYED", f"sequence {sequence} is not greater than the last accepted {last}")
    return None


def _masked(values: dict) -> dict:
    """A batch's message is echoed (receipts, `jinbao batches list`, logs): IDs in it are masked when it is
    stored, whatever part of a delivery (a header, a manifest field, a value) it quotes."""
    if isinstance(values.get("message"), str):
        values["message"] = mask_text(values["message"])
    return values


def encoding_of(row: dict, default: str) -> str:
    """The encoding a batch's delivery is read (and answered) in: what its manifest declared, recorded
    when it was taken, else `default`, the feed's declared encoding."""
    return row.get("encoding") or default


def insert(conn: Connection, *, status: Status, refusal: Refusal | None = None, **values) -> int:
    values.setdefault("received_at", now())
    if refusal is not None:
        values.update(reason_code=refusal.code, message=refusal.detail)
    return conn.execute(sa.insert(batch).values(status=Status(status).value, **_masked(values))).inserted_primary_key[0]


def move(conn: Connection, batch_id: int, frm: Status, to: Status, **values) -> bool:
    """Compare-and-set the status from `frm` to `to`; False when another run got there first."""
    if to not in TRANSITIONS[frm]:
        raise TransitionError(f"batch {batch_id}: {frm} -> {to} is not an allowed move")
    res = conn.execute(sa.update(batch).where(batch.c.id == batch_id, batch.c.status == frm.value)
                       .values(status=to.value, **_masked(values)))
    return res.rowcount == 1


def update(conn: Connection, batch_id: int, **values) -> None:
    """Change bookkeeping columns (never the status: that is `move`)."""
    if "status" in values:
        raise TransitionError("status changes go through ledger.move")
    conn.execute(sa.update(batch).where(batch.c.id == batch_id).values(**_masked(values)))


def listing(conn: Connection, feed: str | None = None, status: str | None = None, limit: int = 50) -> list[dict]:
    q = sa.select(batch).order_by(batch.c.id.desc()).limit(limit)
    if feed:
        q = q.where(batch.c.feed == feed)
    if status:
        q = q.where(batch.c.status == status)
    return [dict(r) for r in conn.execute(q).mappings()]


def in_progress(conn: Connection, feed: str, up_to: dt.date | None = None) -> dict[str, dict]:
    """The feed's batches, by file name, dated up to `up_to` (every one when None): a delivery not yet
    among them, or among them still received or judged, is not finished (jinbao/feed_order.py)."""
    q = sa.select(batch.c.id, batch.c.file_name, batch.c.status).where(batch.c.feed == feed, batch.c.sha256 != STRAY)
    if up_to is not None:
        q = q.where(batch.c.business_date <= up_to)
    return {r.file_name: dict(r._mapping) for r in conn.execute(q.order_by(batch.c.id))}
