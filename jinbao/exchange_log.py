"""The exchange log (交换日志): every delivery in and out, every export of personal data, every answer to a held batch,
every purge of personal data whose retention ran out.

Each entry is a row of the store's `exchange_log` carrying the hash of the entry before
it, so the rows form a chain; `verify` recomputes it and names the first entry that was
edited, deleted or inserted.  A plain hash chain only shows accidents: whoever can edit
the table can also recompute every hash after the edit.  So each entry's hash is an
HMAC under a key that lives with the hub's other keys (`JINBAO_HOME/keys/exchange_log.key`,
0600), never in the store: a database administrator can still delete or change rows,
but cannot make the chain agree again.  The last entry is also sealed in a one-row
head table, so rows cut off the end are noticed too.

Appending updates the head row before reading it, which takes the head's row lock on
PostgreSQL and MariaDB and SQLite's write lock: concurrent appenders (two feeds
finishing at once) queue there and the chain never forks.  The entry is written in the
caller's transaction, so it exists exactly when what it records was committed.
Timestamps are kept to the second because MariaDB's DATETIME keeps no more, and the
hash must read back the same on every backend.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.keys import _write_new
from jinbao.schemas.store_tables import exchange_log, exchange_log_head

#: The entry's fields in the order they are sealed (the HMAC's input is these, as JSON).
SEALED = ("seq", "at", "direction", "partner", "feed", "file_name", "sha256", "business_date", "sequence",
          "status", "records", "accepted", "rejected", "mapping_version", "agreement", "purpose", "who",
          "batch_id", "prev_hash")
GENESIS = "0" * 64
IN, OUT, EXPORT = "in", "out", "export"
#: A person's answer to a held batch (jinbao/release.py): who, when, what.
REVIEW = "review"
#: Files deleted, or stored values cleared, because their declared retention ran out (jinbao/purge.py):
#: the kind, how many, how many bytes, the retention applied; never a file's name or contents.
PURGE = "purge"
KEY_NAME = "exchange_log.key"


class LogKeyMissing(RuntimeError):
    """The exchange log's key is not in JINBAO_HOME/keys: the chain cannot be sealed or checked."""


def key_path(home: Path) -> Path:
    return Path(home) / "keys" / KEY_NAME


def log_key(home: Path, create: bool = True) -> bytes:
    """The HMAC key, made once (32 random bytes, 0600, never replaced: a new key would make
    every earlier entry look forged)."""
    path = key_path(home)
    if not path.exists():
        if not create:
            raise LogKeyMissing(f"no exchange log key at {path}: the log cannot be verified without the key that "
                                "sealed it (restore it from the hub's key backup)")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            _write_new(path, os.urandom(32).hex().encode(), 0o600)
        except FileExistsError:              # another process made it first: use theirs
            pass
    return bytes.fromhex(path.read_text().strip())


def _plain(value):
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def seal(key: bytes, entry: dict) -> str:
    canonical = json.dumps([_plain(entry.get(f)) for f in SEALED], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, seq: int, entry_hash: str) -> str:
    return hmac.new(key, f"head:{seq}:{entry_hash}".encode(), hashlib.sha256).hexdigest()


def append(conn: Connection, key: bytes, *, direction: str, partner: str, feed: str, file_name: str,
           sha256: str, status: str, business_date: dt.date | None = None, sequence: int | None = None,
           records: int | None = None, accepted: int | None = None, rejected: int | None = None,
           mapping_version: str | None = None, agreement: str | None = None, purpose: str | None = None,
           who: str | None = None, batch_id: int | None = None, at: dt.datetime | None = None) -> dict:
    """Add one entry in the caller's transaction and return it (with its seq and hashes)."""
    moved = conn.execute(exchange_log_head.update().where(exchange_log_head.c.id == 1)
                         .values(seq=exchange_log_head.c.seq + 1))
    if moved.rowcount != 1:
        raise RuntimeError("the exchange log's head row is missing; nothing can be logged until "
                           "`jinbao audit verify` has been run and the head restored")
    seq, prev = conn.execute(sa.select(exchange_log_head.c.seq, exchange_log_head.c.entry_hash)
                             .where(exchange_log_head.c.id == 1)).one()
    when = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
    entry = {"seq": seq, "at": when, "direction": direction, "partner": partner, "feed": feed,
             "file_name": file_name, "sha256": sha256 or "", "business_date": business_date,
             "sequence": sequence, "status": str(status), "records": records, "accepted": accepted,
             "rejected": rejected, "mapping_version": mapping_version, "agreement": agreement,
             "purpose": purpose, "who": who, "batch_id": batch_id, "prev_hash": prev}
    entry["entry_hash"] = seal(key, entry)
    conn.execute(exchange_log.insert().values(**entry))
    conn.execute(exchange_log_head.update().where(exchange_log_head.c.id == 1)
                 .values(entry_hash=entry["entry_hash"], head_mac=_head_mac(key, seq, entry["entry_hash"])))
    return entry


@dataclass
class Verification:
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _what(row: dict) -> str:
    return f"#{row['seq']} ({row['direction']} {row['feed']} {row['file_name']}, {_plain(row['at'])})"


def verify(conn: Connection, key: bytes) -> Verification:
    """Walk the chain in order and say what does not hold, the first problem first.

    An entry whose seal fails is *inserted* when the chain runs around it (the next entry
    links to the one before it), otherwise *edited*; sealed entries that do not link to
    the one before them mean entries between them were *deleted*; a head ahead of the last
    entry means entries were cut off the end.
    """
    rows = [dict(r) for r in conn.execute(sa.select(exchange_log).order_by(exchange_log.c.seq, exchange_log.c.id))
            .mappings()]
    out = Verification(entries=len(rows))
    prev = {"seq": 0, "entry_hash": GENESIS}
    for i, row in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        sealed = hmac.compare_digest(seal(key, row), row["entry_hash"])
        linked = row["prev_hash"] == prev["entry_hash"] and row["seq"] == prev["seq"] + 1
        if sealed and linked:
            prev = row
            continue
        if sealed:
            gap = (f"entries #{prev['seq'] + 1}..#{row['seq'] - 1} were deleted" if row["seq"] > prev["seq"] + 2
                   else f"entry #{prev['seq'] + 1} was deleted" if row["seq"] == prev["seq"] + 2
                   else f"an entry before {_what(row)} was deleted or replaced")
            out.problems.append(f"{gap}: {_what(row)} does not follow #{prev['seq']}")
            prev = row
        elif nxt is not None and nxt["prev_hash"] == prev["entry_hash"]:      # (renumbered or not after it)
            out.problems.append(f"entry {_what(row)} was inserted: the hub never sealed it and the chain runs "
                                "around it")
        elif nxt is None and row["prev_hash"] == prev["entry_hash"] and not _head_moved_past(conn, prev["seq"]):
            out.problems.append(f"entry {_what(row)} was inserted after the last sealed entry #{prev['seq']}")
        else:
            out.problems.append(f"entry {_what(row)} was edited: its seal does not match its contents")
            prev = row
    out.problems.extend(_check_head(conn, key, rows, prev))
    return out


def _head_moved_past(conn: Connection, seq: int) -> bool:
    head = conn.execute(sa.select(exchange_log_head.c.seq).where(exchange_log_head.c.id == 1)).scalar()
    return head is not None and head > seq


def _check_head(conn: Connection, key: bytes, rows: list[dict], last: dict) -> list[str]:
    head = conn.execute(sa.select(exchange_log_head).where(exchange_log_head.c.id == 1)).mappings().first()
    if head is None:
        return ["the log's head row is missing (deleted)"]
    if head["seq"] == 0 and not rows:
        return []
    if not hmac.compare_digest(_head_mac(key, head["seq"], head["entry_hash"]), head["head_mac"] or ""):
        return [f"the log's head (#{head['seq']}) was edited: its seal does not match"]
    if head["seq"] > last["seq"]:
        span = f"#{last['seq'] + 1}" + (f"..#{head['seq']}" if head["seq"] > last["seq"] + 1 else "")
        return [f"entries {span} were deleted from the end: the head says the log ends at #{head['seq']}"]
    if head["entry_hash"] != last["entry_hash"]:
        return [f"the last entry #{last['seq']} is not the one the head sealed"]
    return []


def entries(conn: Connection, *, feed: str | None = None, partner: str | None = None,
            direction: str | None = None, limit: int = 100) -> list[dict]:
    """The newest entries first, filtered."""
    q = sa.select(exchange_log).order_by(exchange_log.c.seq.desc()).limit(limit)
    for column, value in (("feed", feed), ("partner", partner), ("direction", direction)):
        if value:
            q = q.where(exchange_log.c[column] == value)
    return [dict(r) for r in conn.execute(q).mappings()]
