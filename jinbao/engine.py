"""The one generic engine: any declared inbound feed, from delivery to store.

The engine only sequences the four steps (each an Airflow task, and all of them
`jinbao run`), holds the feed's lock, sorts what goes wrong into a refusal or a
retry, and records the outcome.  Each step is a function of the folder that owns it:

  receive  exchange_zone/receive.py   deliveries taken into staging, mapping pinned
           exchange_zone/strays.py    what no feed will take, set aside and answered
  judge    quality/judge_step.py      the gate, the store-backed checks, hold or judged
  publish  jinbao/store/publish_step.py  rows and jinbao/store/consumers.py in one transaction
  finish   exchange_zone/finish.py    quarantine, receipt and exchange-log entry, acknowledgement

Only batch ids pass between steps (the ledger row is the truth); within a step
the batch travels as a `jinbao.batch.Batch`.  Data stays in staging files.  Each
step is safe to repeat: a step that finds its batch past it does nothing.
"""
from __future__ import annotations

import datetime as dt
import logging

from jinbao import ledger
from jinbao.batch import Batch, BatchHeld, FeedRun, fault, transient
from jinbao.connectors.base import Transport
from jinbao.declarations import InboundFeed
from jinbao.exchange_zone import finish, receive, strays
from jinbao.exchange_zone.enveloped import transport_for
from jinbao.feed_lock import RunLock
from jinbao.ledger import Outcome, Refusal, Status
from jinbao.privacy import mask_text
from jinbao.quality import judge_step
from jinbao.settings import Settings, load_settings
from jinbao.staged.refused import DeliveryRefused
from jinbao.store import publish_step
from jinbao.store.database import upgrade
from jinbao.store.errors import TransientFault, is_transient

__all__ = ["BatchHeld", "Engine", "fault", "transient"]

log = logging.getLogger(__name__)


class Engine:
    #: progress(step, delivery file, records just done): a CLI progress bar; None in Airflow (plain log lines)
    progress = None

    def __init__(self, spec: InboundFeed, cfg: Settings | None = None, transport: Transport | None = None):
        self.spec = spec
        self.cfg = cfg or load_settings()
        self.transport = transport or transport_for(spec.partner, spec.transport, self.cfg)
        self.db = upgrade(self.cfg.store_url)
        self.lock = RunLock(self.cfg.staging, spec.name)
        self.strays: list[int] = []      # strays the last receive set aside and answered

    def _feed(self) -> FeedRun:
        """What the steps work with (read at each step: the CLI sets `progress` after construction)."""
        return FeedRun(self.spec, self.cfg, self.transport, self.db, self.progress)

    def _batch(self, batch_id: int) -> Batch:
        with self.db.begin() as conn:
            return Batch.of(self.spec, ledger.get(conn, batch_id))

    def _refuse(self, batch_id: int, frm: Status, refusal: Refusal) -> Outcome:
        with self.db.begin() as conn:
            ledger.move(conn, batch_id, frm, Status.REFUSED, reason_code=refusal.code, message=refusal.detail)
            return Outcome.of(ledger.get(conn, batch_id))

    def _retried(self, fault: TransientFault) -> TransientFault:
        """The operator's line for a fault a retry may cure (what to do is in it), then the fault to raise."""
        log.error("%s: %s", self.spec.name, fault)
        return fault

    def receive(self, up_to: dt.date | None = None) -> list[int]:
        """Take waiting deliveries (business date <= up_to); return the batch ids still to carry on."""
        with self.lock.exclusive():
            run = self._feed()
            taken = receive.deliveries(run, up_to)
            # after the deliveries, so that no stray, however named and however many, keeps them from being taken
            self.strays = strays.set_aside(run) if self.transport.drop_zone else []
            return receive.resumed(run, taken)

    def waiting(self):
        """The deliveries waiting in inbound/ that receive would take (asked by jinbao/feed_order.py)."""
        return receive.waiting_deliveries(self._feed())

    def judge(self, batch_id: int) -> Outcome:
        """Decide every record's fate; the batch becomes judged, held or refused."""
        with self.lock.exclusive():
            batch = self._batch(batch_id)
            if batch.status != Status.RECEIVED:
                return Outcome.of(batch.row)
            try:
                gate, judged = judge_step.judge(self._feed(), batch)
            except DeliveryRefused as exc:
                return self._refuse(batch_id, Status.RECEIVED, Refusal(exc.reason_code, str(exc)))
            except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
                if is_transient(exc):
                    raise self._retried(transient("judge", batch.file_name, exc)) from exc
                log.exception("%s: judging batch %s failed", self.spec.name, batch_id)
                return self._refuse(batch_id, Status.RECEIVED, fault("judge", batch.file_name, exc))
            return judge_step.decide(self._feed(), batch, gate, judged)

    def publish(self, batch_id: int, released: bool = False, answered=None) -> Outcome:
        """Publish accepted records in one transaction; a second call publishes nothing.

        `released`: a person reviewed a held batch and lets it through (`answered(conn)` logs who, in the
        publishing transaction).  A store
        error no retry can cure (a value the store refuses) refuses the batch;
        one that a retry may cure leaves it judged, to be published again.
        """
        try:
            with self.lock.exclusive():
                return publish_step.publish(self._feed(), batch_id, released, answered)
        except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
            file = self._batch(batch_id).file_name
            if is_transient(exc):
                raise self._retried(transient("publish", file, exc)) from exc
            if publish_step.partitioned(self._feed(), released):   # its partitions' rows are in: keep it judged
                log.error("%s: publishing batch %s failed; it stays judged: %s", self.spec.name, batch_id,
                          mask_text(str(exc)))
                raise
            log.error("%s: publishing batch %s failed: %s", self.spec.name, batch_id, mask_text(str(exc)))
            return self._refuse(batch_id, Status.HELD if released else Status.JUDGED, fault("publish", file, exc))

    def partitions(self, batch_id: int) -> list[int]:
        """The partitions a judged batch of a partitioned feed is published in (publish_step.plan)."""
        if not publish_step.partitioned(self._feed()):
            return []
        with self.lock.exclusive():
            return publish_step.plan(self._feed(), self._batch(batch_id))

    def publish_partition(self, batch_id: int, part: int) -> int:
        """Upsert one partition of a judged batch in its own transaction (publish_step.publish_partition)."""
        with self.lock.shared():
            return publish_step.publish_partition(self._feed(), self._batch(batch_id), part)

    def finish(self, batch_id: int) -> Outcome:
        """Tell the partner, put a refused delivery in quarantine, acknowledge.

        Raises BatchHeld for a held batch and DeliveryRefused for a refused one
        (after doing all of the above), so that a scheduler shows them as failed.
        """
        with self.lock.exclusive():
            return self._finish(batch_id)

    def _finish(self, batch_id: int) -> Outcome:
        return finish.finish(self._feed(), self._batch(batch_id))

    def run(self, up_to: dt.date | None = None) -> list[Outcome]:
        """The whole pipeline without a scheduler (what `jinbao run` does)."""
        try:
            with self.lock.exclusive():
                return self._run(up_to)
        finally:
            self.close()

    def _run(self, up_to: dt.date | None) -> list[Outcome]:
        received = self.receive(up_to)
        outcomes = [Outcome.of(self._batch(batch_id).row) for batch_id in self.strays]
        for batch_id in received:
            self.judge(batch_id)
            for part in self.partitions(batch_id):     # one process: the partitions one after another
                self.publish_partition(batch_id, part)
            self.publish(batch_id)
            try:
                self.finish(batch_id)
            except (BatchHeld, DeliveryRefused) as exc:
                log.warning("%s", mask_text(str(exc)))
            outcomes.append(Outcome.of(self._batch(batch_id).row))
        return sorted(outcomes, key=lambda o: o.batch_id)

    def close(self) -> None:
        """Release the transport (an SFTP connection stays open across the steps of a run)."""
        self.transport.close()
