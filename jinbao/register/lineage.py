"""Where a register value came from, and which sources still disagree: the answers behind
`jinbao lineage` and `jinbao conflicts`.

Lineage joins each value's holder (feed, batch, line, time) with the batch's
ledger row (file, mapping version, rules version), and lists the values it
replaced from register_history the same way; life status lists its history.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import (
    REGISTER_FIELDS, batch, conflict, life_status_history, register, register_history,
)

LIFE = "life_status"
#: What `jinbao lineage` and `jinbao conflicts --field` accept, as people type them.
FIELD_NAMES = {**{c.upper(): c for c in REGISTER_FIELDS}, "LIFE_STATUS": LIFE, "AAC060": LIFE}


class UnknownField(ValueError):
    pass


def field_column(name: str) -> str:
    column = FIELD_NAMES.get(name.upper())
    if column is None:
        raise UnknownField(f"no register field {name!r}; one of: {', '.join(sorted(FIELD_NAMES))}")
    return column


@dataclass
class Source:
    feed: str | None
    batch_id: int | None
    file_name: str | None = None
    line_no: int | None = None
    mapping_version: str | None = None
    rules_version: str | None = None
    at: dt.datetime | None = None


@dataclass
class Replaced:
    value: str | None
    source: Source
    replaced_at: dt.datetime
    replaced_by_batch: int


@dataclass
class Entry:
    field: str
    value: str | None
    source: Source
    replaced: list[Replaced] = field(default_factory=list)


def _batches(conn: Connection, ids) -> dict[int, dict]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = conn.execute(sa.select(batch.c.id, batch.c.file_name, batch.c.mapping_version, batch.c.rules_version)
                        .where(batch.c.id.in_(ids))).mappings()
    return {r["id"]: dict(r) for r in rows}


def _source(batches: dict, feed, batch_id, line, at) -> Source:
    b = batches.get(batch_id, {})
    return Source(feed, batch_id, b.get("file_name"), line, b.get("mapping_version"), b.get("rules_version"), at)


def _status(status: str | None, date) -> str:
    return (status or "-") + (f" {date}" if date else "")


def lineage(conn: Connection, aac002: str, only: str | None = None) -> list[Entry] | None:
    """Every field of the person's register row (or `only` that one) with its provenance; None if unknown."""
    row = conn.execute(sa.select(register).where(register.c.aac002 == aac002)).mappings().first()
    if row is None:
        return None
    columns = [only] if only else [*REGISTER_FIELDS, LIFE]
    history = conn.execute(sa.select(register_history).where(register_history.c.aac002 == aac002)
                           .order_by(register_history.c.id)).mappings().all()
    changes = conn.execute(sa.select(life_status_history).where(life_status_history.c.aac002 == aac002)
                           .order_by(life_status_history.c.id)).mappings().all()
    batches = _batches(conn, [row.get(f"{c}_batch") for c in REGISTER_FIELDS] + [row["life_status_batch"]]
                       + [h["batch_id"] for h in history] + [h["replaced_by_batch"] for h in history]
                       + [h["batch_id"] for h in changes])
    out = []
    for c in columns:
        if c == LIFE:
            value = _status(row["life_status"], row["life_status_date"])
            entry = Entry(c, value, _source(batches, row["life_status_source"], row["life_status_batch"],
                                            row["life_status_line"], row["life_status_at"]))
            # for life status the history is the list of changes, each with the source that decided it
            entry.replaced = [Replaced(f"{_status(h['from_status'], h['from_date'])} -> "
                                       f"{_status(h['to_status'], h['effective_date'])}",
                                       _source(batches, h["source_feed"], h["batch_id"], h["line_no"], h["recorded_at"]),
                                       h["recorded_at"], h["batch_id"])
                              for h in changes]
        else:
            value = row[c]
            entry = Entry(c, None if value is None else str(value),
                          _source(batches, row[f"{c}_source"], row[f"{c}_batch"], row[f"{c}_line"], row[f"{c}_at"]))
            entry.replaced = [Replaced(h["value"], _source(batches, h["source_feed"], h["batch_id"], h["line_no"],
                                                           h["set_at"]), h["replaced_at"], h["replaced_by_batch"])
                              for h in history if h["field"] == c]
        out.append(entry)
    return out


def conflicts(conn: Connection, column: str | None = None, feed: str | None = None, resolved: bool = False,
              limit: int = 200) -> list[dict]:
    """Conflict rows, open ones only unless `resolved`; `feed` matches the offering or the holding feed."""
    q = sa.select(conflict).order_by(conflict.c.last_seen.desc(), conflict.c.aac002, conflict.c.field).limit(limit)
    if column:
        q = q.where(conflict.c.field == column)
    if feed:
        q = q.where(sa.or_(conflict.c.offered_source == feed, conflict.c.held_source == feed))
    if not resolved:
        q = q.where(conflict.c.resolved_at.is_(None))
    return [dict(r) for r in conn.execute(q).mappings()]
