"""The answers a person gives to a held batch, one way for the CLI (`jinbao batches release|refuse|rejudge`),
the Airflow release DAG and the Required Action of a feed's run (dags/review.py).

A batch held for too many rejections waits for a person, who reads its receipt and answers:

* release: it is published exactly as it was judged (rejected records stay rejected), the partner gets
  an updated receipt and the delivery leaves inbound/;
* refuse: nothing of it is published, the partner gets a receipt saying it was refused after review,
  with the reviewer's reason, and is asked to send it again; the delivery goes to quarantine like any
  refused delivery (its sequence stays free for the resend);
* rejudge: after a fix of the mapping or a code table, the same delivery is judged again under the
  tables now in force on its business date, then published, or held again (a new receipt either way).

Every answer is an exchange-log entry (direction `review`) naming who gave it, when, and what: the
answer as its status, the reviewer's reason or the new mapping version as its text.  The batch keeps
its id and ledger row; the exchange log keeps its history (each verdict's receipt and each answer).
"""
from __future__ import annotations

import logging
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from jinbao import exchange_log, ledger
from jinbao.batch import BatchHeld
from jinbao.declarations import get_feed
from jinbao.engine import Engine
from jinbao.ledger import Outcome, Status
from jinbao.mappings.tables import MappingError, feed_mapping, pin
from jinbao.privacy import mask_text
from jinbao.settings import Settings, load_settings
from jinbao.staged.refused import DeliveryRefused
from jinbao.store.database import upgrade

log = logging.getLogger(__name__)

RELEASE, REFUSE, REJUDGE = "release", "refuse", "rejudge"
ANSWERS = (RELEASE, REFUSE, REJUDGE)
#: The batch-level reason code of a delivery refused by a person after review (quality.reasons).
REFUSED_AFTER_REVIEW = "REFUSED_AFTER_REVIEW"


class NotHeld(RuntimeError):
    """Only a held batch can be answered."""


class CannotAnswer(RuntimeError):
    """The answer cannot be carried out as asked (no reason to refuse with, no mapping to judge under)."""


@dataclass(frozen=True)
class Answered:
    """What became of a held batch after an answer, and the sentence that says so to an operator."""

    answer: str
    who: str
    outcome: Outcome
    said: str

    @property
    def still_held(self) -> bool:
        return self.outcome.status == Status.HELD


def os_user() -> str:
    """Who answers on the command line: the operating-system user running it, by the process's user id
    (not LOGNAME/USER, which anyone can set to another name)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:                         # no name for the uid (a bare container): say so rather than fail
        return f"uid {os.geteuid()}"


def _held(cfg: Settings, batch_id: int, answer: str) -> dict:
    with upgrade(cfg.store_url).begin() as conn:
        row = ledger.get(conn, batch_id)
    if row["status"] != Status.HELD:
        raise NotHeld(f"batch {batch_id} ({row['file_name']}) is {row['status']}, not held; nothing to {answer}")
    return row


def _log_answer(conn, cfg: Settings, row: dict, answer: str, who: str, text: str | None = None) -> None:
    """The answer's exchange-log entry, in the transaction that carries it out."""
    exchange_log.append(conn, exchange_log.log_key(cfg.home), direction=exchange_log.REVIEW,
                        partner=get_feed(row["feed"], cfg).partner,
                        feed=row["feed"], file_name=row["file_name"], sha256=row["sha256"], status=answer,
                        business_date=row["business_date"], sequence=row["sequence"], records=row["received"],
                        accepted=row["accepted"], rejected=row["rejected"], mapping_version=row["mapping_version"],
                        purpose=mask_text(text) if text else None, who=mask_text(who), batch_id=row["id"])


def _finished(eng: Engine, batch_id: int) -> Outcome:
    """finish (receipt, quarantine, acknowledgement) for a batch that may end held or refused."""
    try:
        return eng.finish(batch_id)
    except (BatchHeld, DeliveryRefused):        # said by the answer itself; the batch is finished all the same
        with eng.db.begin() as conn:
            return Outcome.of(ledger.get(conn, batch_id))


def release_batch(batch_id: int, cfg: Settings | None = None, who: str | None = None) -> Outcome:
    """Publish a held batch as it was judged; the partner gets an updated receipt."""
    return release(batch_id, who or os_user(), cfg).outcome


def release(batch_id: int, who: str, cfg: Settings | None = None) -> Answered:
    cfg = cfg or load_settings()
    row = _held(cfg, batch_id, RELEASE)
    eng = Engine(get_feed(row["feed"], cfg), cfg)
    try:
        with eng.lock.exclusive():
            eng.publish(batch_id, released=True, answered=lambda conn: _log_answer(conn, cfg, row, RELEASE, who))
            outcome = _finished(eng, batch_id)
    finally:
        eng.close()
    said = (f"{who} released batch {batch_id} ({row['file_name']}): published {outcome.published} of "
            f"{outcome.received} records; the partner has an updated receipt")
    if outcome.status != Status.PUBLISHED:     # the store refused a value (engine.publish): refused, not released
        said = (f"batch {batch_id} ({row['file_name']}) could not be published on release and is now "
                f"{outcome.status} ({outcome.reason_code}); see the log above")
    log.info("%s", said)
    return Answered(RELEASE, who, outcome, said)


def refuse(batch_id: int, who: str, reason: str, cfg: Settings | None = None) -> Answered:
    """Refuse a held delivery after review: quarantined, nothing published, the partner asked to resend."""
    if not (reason or "").strip():
        raise CannotAnswer(f"refusing batch {batch_id} needs a reason: the partner reads it on the receipt")
    cfg = cfg or load_settings()
    row = _held(cfg, batch_id, REFUSE)
    eng = Engine(get_feed(row["feed"], cfg), cfg)
    try:
        with eng.lock.exclusive():
            with eng.db.begin() as conn:
                if not ledger.move(conn, batch_id, Status.HELD, Status.REFUSED, reason_code=REFUSED_AFTER_REVIEW,
                                   message=reason.strip(), receipt_at=None):
                    raise NotHeld(f"batch {batch_id} was answered by someone else meanwhile")
                _log_answer(conn, cfg, row, REFUSE, who, reason.strip())
            outcome = _finished(eng, batch_id)
    finally:
        eng.close()
    said = (f"{who} refused batch {batch_id} ({row['file_name']}) after review: nothing published; the partner "
            f"has a receipt asking for a corrected resend; the delivery is kept in quarantine")
    log.info("%s", said)
    return Answered(REFUSE, who, outcome, said)


def rejudge(batch_id: int, who: str, cfg: Settings | None = None) -> Answered:
    """Judge a held delivery again under the mapping now in force on its business date (after a fix)."""
    cfg = cfg or load_settings()
    row = _held(cfg, batch_id, REJUDGE)
    spec = get_feed(row["feed"], cfg)
    try:
        mapping = feed_mapping(spec.mapping, row["business_date"])
    except MappingError as exc:
        raise CannotAnswer(f"batch {batch_id} cannot be judged again: {exc}") from exc
    eng = Engine(spec, cfg)
    try:
        with eng.lock.exclusive():
            with eng.db.begin() as conn:
                if not ledger.move(conn, batch_id, Status.HELD, Status.RECEIVED, mapping_version=mapping.label,
                                   receipt_at=None, reason_code=None, message=None):
                    raise NotHeld(f"batch {batch_id} was answered by someone else meanwhile")
                _log_answer(conn, cfg, row, REJUDGE, who, f"judged again under {mapping.label} "
                            f"(was {row['mapping_version']})")
                pin(mapping, Path(row["staging_dir"]))   # committed only with the move
            eng.judge(batch_id)
            for part in eng.partitions(batch_id):
                eng.publish_partition(batch_id, part)
            eng.publish(batch_id)
            outcome = _finished(eng, batch_id)
    finally:
        eng.close()
    said = (f"{who} had batch {batch_id} ({row['file_name']}) judged again under {mapping.label}: "
            f"{outcome.accepted} of {outcome.received} accepted (before: {row['accepted']}), now {outcome.status}")
    if outcome.status == Status.HELD:
        said += "; it waits for another answer"
    log.info("%s", said)
    return Answered(REJUDGE, who, outcome, said)


def answer(batch_id: int, choice: str, who: str, reason: str | None = None, cfg: Settings | None = None) -> Answered:
    """One of ANSWERS, by name (what the Required Action's chosen option maps to)."""
    if choice == RELEASE:
        return release(batch_id, who, cfg)
    if choice == REFUSE:
        return refuse(batch_id, who, reason or "", cfg)
    if choice == REJUDGE:
        return rejudge(batch_id, who, cfg)
    raise CannotAnswer(f"unknown answer {choice!r}; one of {', '.join(ANSWERS)}")
