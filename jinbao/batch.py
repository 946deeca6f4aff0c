"""The batch the stages pass to each other, the feed they work for, and the two ways a stage fails.

Between Airflow tasks only a batch id travels (the ledger row is the truth);
within a task each stage takes a `Batch` read from that row, so the stages
(exchange_zone/receive.py, quality/judge_step.py, jinbao/store/publish_step.py,
exchange_zone/finish.py) see one typed delivery instead of a loose dict.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from jinbao.store.errors import TransientFault, operator_step
from jinbao.ledger import Refusal, Status, encoding_of
from jinbao.privacy import mask_text

if TYPE_CHECKING:                      # types only: the stages import this module, not the other way round
    from sqlalchemy.engine import Engine as Store

    from jinbao.connectors.base import Transport
    from jinbao.declarations import InboundFeed
    from jinbao.settings import Settings


@dataclass(frozen=True)
class Batch:
    """One delivery as the ledger holds it when a stage starts."""

    id: int
    feed: InboundFeed
    status: Status
    file_name: str
    #: where its files are (staging, or quarantine once refused); None: a stray, never fetched
    staging: Path | None
    #: the plaintext judged, in `staging` (a sealed delivery's differs from file_name)
    data_file: str | None
    business_date: dt.date
    sequence: int
    #: as delivered: what the manifest declared, else the feed's declared encoding
    encoding: str
    #: the label of the mapping pinned in `staging` at receipt (mappings.tables.pinned reads it)
    mapping_version: str | None
    declared_records: int | None
    received_at: dt.datetime
    #: the ledger row it was read from, for what still takes one (receipts, the exchange log, Outcome)
    row: dict

    @classmethod
    def of(cls, feed: InboundFeed, row: dict) -> Batch:
        return cls(id=row["id"], feed=feed, status=Status(row["status"]), file_name=row["file_name"],
                   staging=Path(row["staging_dir"]) if row["staging_dir"] else None, data_file=row["data_file"],
                   business_date=row["business_date"], sequence=row["sequence"],
                   encoding=encoding_of(row, feed.format.encoding), mapping_version=row["mapping_version"],
                   declared_records=row["declared_records"], received_at=row["received_at"], row=row)

    @property
    def data(self) -> Path:
        """The file the gate reads."""
        return self.staging / (self.data_file or self.file_name)


@dataclass(frozen=True)
class FeedRun:
    """What every stage of one feed works with: its declaration, the hub's settings, the partner's
    transport and the store, and the CLI's progress bar (None in Airflow: plain log lines)."""

    spec: InboundFeed
    cfg: Settings
    transport: Transport
    db: Store
    progress: Callable[[str, str, int], Any] | None = None

    def progress_of(self, step: str, file: str):
        return None if self.progress is None else (lambda n: self.progress(step, file, n))


class BatchHeld(RuntimeError):
    """Too many rejected records: nothing from the batch is published until a person releases it."""


def fault(step: str, file: str, exc: BaseException) -> Refusal:
    """An error no retry can cure, as the refusal a partner and an operator read (IDs masked)."""
    text = mask_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return Refusal("PROCESSING_FAILED", f"{file}: {step} failed: {type(exc).__name__}: {text}")


def transient(step: str, file: str, exc: BaseException) -> TransientFault:
    return TransientFault(f"{file}: {step} interrupted by {type(exc).__name__}: {mask_text(str(exc))[:300]}; "
                          f"{operator_step(exc)}")
