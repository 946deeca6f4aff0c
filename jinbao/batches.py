"""The batch ledger: one row per delivery, and the rules for taking a new one.

The ledger is what makes re-runs safe.  A delivery seen before (same feed,
name and sha256) resumes where it stopped; the same content under another
name is a duplicate; a sequence not above the last one taken is a replay.
Status moves only forward, by compare-and-set, so two runs can never both
publish one batch.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store import batch

#: Statuses of a delivery that was taken (counts toward sequence and duplicates).
TAKEN = ("received", "judged", "held", "published")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def get(conn: Connection, batch_id: int) -> dict:
    row = conn.execute(sa.select(batch).where(batch.c.id == batch_id)).mappings().first()
    if row is None:
        raise LookupError(f"no batch {batch_id}")
    return dict(row)


def find_same(conn: Connection, feed: str, name: str, sha256: str) -> dict | None:
    row = conn.execute(sa.select(batch).where(
        batch.c.feed == feed, batch.c.file_name == name, batch.c.sha256 == sha256,
        batch.c.status.in_(TAKEN)).order_by(batch.c.id.desc())).mappings().first()
    return dict(row) if row else None


def refusal_for(conn: Connection, feed: str, name: str, sha256: str, sequence: int) -> tuple[str, str] | None:
    """Why a new delivery may not be taken, or None."""
    dup = conn.execute(sa.select(batch.c.id, batch.c.file_name).where(
        batch.c.feed == feed, batch.c.sha256 == sha256, batch.c.status.in_(TAKEN))).first()
    if dup is not None:
        return "DUPLICATE_FILE", f"same sha256 as batch {dup.id} ({dup.file_name})"
    last = conn.execute(sa.select(sa.func.max(batch.c.sequence)).where(
        batch.c.feed == feed, batch.c.status.in_(TAKEN))).scalar()
    if last is not None and sequence <= last:
        return "SEQUENCE_REPLAYED", f"sequence {sequence} is not greater than the last accepted {last}"
    return None


def insert(conn: Connection, **values) -> int:
    values.setdefault("received_at", now())
    return conn.execute(sa.insert(batch).values(**values)).inserted_primary_key[0]


def move(conn: Connection, batch_id: int, from_status: str | tuple[str, ...], **values) -> bool:
    """Compare-and-set the status; False when another run got there first."""
    allowed = (from_status,) if isinstance(from_status, str) else from_status
    res = conn.execute(sa.update(batch).where(batch.c.id == batch_id, batch.c.status.in_(allowed))
                       .values(**values))
    return res.rowcount == 1


def update(conn: Connection, batch_id: int, **values) -> None:
    conn.execute(sa.update(batch).where(batch.c.id == batch_id).values(**values))


def listing(conn: Connection, feed: str | None = None, status: str | None = None, limit: int = 50) -> list[dict]:
    q = sa.select(batch).order_by(batch.c.id.desc()).limit(limit)
    if feed:
        q = q.where(batch.c.feed == feed)
    if status:
        q = q.where(batch.c.status == status)
    return [dict(r) for r in conn.execute(q).mappings()]
