"""The one generic engine: any declared inbound feed, from delivery to store.

The engine only sequences the four steps (each an Airflow task, and all of
them `jinbao run`); the work of each lives with what it works on:

  receive  transport.open (connectors/) fetches into staging and hands over the
           plaintext; ledger.admission refuses duplicates and replays; the
           mapping version in force is pinned;
  judge    quality.judging streams the file through the gate into accepted and
           rejected Parquet; the batch becomes judged, held or refused;
  publish  store.publish upserts the accepted records and stores the rejections
           in one transaction, after a compare-and-set on the batch status;
  finish   every batch ends here, whatever its status: exchange_zone.receipts
           tells the partner, a refused delivery goes to exchange_zone.quarantine,
           and only then is the remote delivery acknowledged (out of inbound/).

Only batch ids pass between steps; data stays in staging files.  Each step is
safe to repeat: a step that finds its batch past it does nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from jinbao import ledger, partitions
from jinbao.connectors.base import RemoteDelivery, Transport, companions_of, sha256_of
from jinbao.connectors.names import classify
from jinbao.declarations import InboundFeed
from jinbao.exchange_zone.enveloped import transport_for
from jinbao.exchange_zone.errors import CannotSeal
from jinbao.exchange_zone.quarantine import quarantine, quarantine_path
from jinbao.exchange_zone.receipts import receipt_name, send_receipt
from jinbao.feed_lock import feed_lock
from jinbao.ledger import Outcome, Refusal, Status
from jinbao.privacy import mask_text
from jinbao.settings import Settings, load_settings
from jinbao.staged.refused import DeliveryRefused
from jinbao.store.database import upgrade
from jinbao.store.errors import TransientFault, is_transient

log = logging.getLogger(__name__)


class BatchHeld(RuntimeError):
    """Too many rejected records: nothing from the batch is published until a person releases it."""


def fault(step: str, file: str, exc: BaseException) -> Refusal:
    """An error no retry can cure, as the refusal a partner and an operator read (IDs masked)."""
    text = mask_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return Refusal("PROCESSING_FAILED", f"{file}: {step} failed: {type(exc).__name__}: {text}")


def transient(step: str, file: str, exc: BaseException) -> TransientFault:
    return TransientFault(f"{file}: {step} interrupted by {type(exc).__name__}: {mask_text(str(exc))[:300]}; "
                          "the delivery stays in inbound/ and the batch resumes on the next run")


class Engine:
    #: progress(step, delivery file, records just done): a CLI progress bar; None in Airflow (plain log lines)
    progress = None

    def __init__(self, spec: InboundFeed, cfg: Settings | None = None, transport: Transport | None = None):
        self.spec = spec
        self.cfg = cfg or load_settings()
        self.transport = transport or transport_for(spec.partner, spec.transport, self.cfg)
        self.db = upgrade(self.cfg.store_url)
        self._lock_depth = 0
        self.strays: list[int] = []      # strays the last receive set aside and answered

    @contextmanager
    def _exclusive(self):
        """Hold the feed's run lock (re-entrant within this engine: run() holds it across its steps)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with feed_lock(self.cfg.staging, self.spec.name):
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    def _row(self, batch_id: int) -> dict:
        with self.db.begin() as conn:
            return ledger.get(conn, batch_id)

    # ---------------------------------------------------------------- receive
    def receive(self, up_to: dt.date | None = None) -> list[int]:
        """Take waiting deliveries (business date <= up_to); return the batch ids still to carry on."""
        with self._exclusive():
            return self._receive(up_to)

    def _receive(self, up_to: dt.date | None) -> list[int]:
        ids: list[int] = []
        if self.transport.drop_zone:         # one classification of every entry (connectors/names.py)
            inbound = classify(self.transport.entries(), self._forms(), self.spec.partner)
            waiting = inbound.of(self.spec.name)
            self._log_waiting(inbound.waiting)
        else:
            waiting = self.transport.list_deliveries(self.spec.name)
        for delivery in waiting:
            if up_to and dt.datetime.strptime(delivery.business_date, "%Y%m%d").date() > up_to:
                log.info("%s: %s is for a later business day than %s; it waits", self.spec.name, delivery.name,
                         up_to)
                continue
            batch_id = self._take(delivery)
            if batch_id is not None:
                ids.append(batch_id)
        if not waiting:
            log.info("%s: no delivery waiting in %s's inbound/", self.spec.name, self.spec.partner)
        # after the deliveries, so that no stray, however named and however many, keeps them from being taken
        self.strays = self._set_aside_strays() if self.transport.drop_zone else []
        with self.db.begin() as conn:                # batches a killed run left half-way
            ids += [i for i in ledger.unfinished(conn, self.spec.name) if i not in ids]
        return ids

    def _take(self, delivery: RemoteDelivery) -> int | None:
        from jinbao.mappings.tables import MappingError, feed_mapping, pin

        incoming = self.cfg.staging / self.spec.name / f"incoming-{delivery.name}"
        shutil.rmtree(incoming, ignore_errors=True)  # a partial earlier download is discarded
        refusal, opened = None, None
        try:
            opened = self.transport.open(delivery, incoming)
        except DeliveryRefused as exc:
            refusal = Refusal(exc.reason_code, exc.detail)
        except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
            if is_transient(exc) or not (incoming / delivery.name).is_file():
                raise transient("receive", delivery.name, exc) from exc
            refusal = fault("receive", delivery.name, exc)
        digest = opened.sha256 if opened else sha256_of(incoming / delivery.name)
        business_date = dt.datetime.strptime(delivery.business_date, "%Y%m%d").date()
        # dated after the day it is delivered (agreements §5): refused first, it would outrank every later
        # delivery of the source (source_version orders by business date), so nothing could correct it
        refusal = ledger.future_business_date(business_date, self.cfg.clock_allowance) or refusal
        try:
            mapping = feed_mapping(self.spec.mapping, business_date)
        except MappingError as exc:
            refusal = refusal or Refusal("NO_MAPPING", str(exc))
            mapping = None
        if mapping is not None and refusal is None:
            pin(mapping, incoming)           # judged later with exactly these tables
        with self.db.begin() as conn:
            same = ledger.find_same(conn, self.spec.name, delivery.name, digest)
            if same is not None and same["acked_at"] is not None:   # finished earlier: this is a resend
                refusal = refusal or Refusal("ALREADY_TAKEN", f"identical to batch {same['id']}, which was "
                                             f"{same['status']}; nothing new was published")
            elif same is not None:    # seen before: carry on where it stopped (a held batch waits for a person)
                self._restore(same, incoming)
                return None if same["status"] == Status.HELD else same["id"]
            refusal = refusal or ledger.admission(conn, self.spec.name, digest, delivery.sequence)
            batch_id = ledger.insert(
                conn, feed=self.spec.name, file_name=delivery.name, sha256=digest, sequence=delivery.sequence,
                business_date=business_date,
                encoding=opened.encoding if opened is not None and opened.encoding else self.spec.format.encoding,
                mapping_version=mapping.label if mapping is not None else None,
                status=Status.RECEIVED if refusal is None else Status.REFUSED, refusal=refusal,
                data_file=opened.data.name if opened else None,
                declared_records=opened.declared_records if opened else None)
            final = self.cfg.staging / self.spec.name / str(batch_id)
            ledger.update(conn, batch_id, staging_dir=str(final))   # with the row: a resume always finds it
        shutil.rmtree(final, ignore_errors=True)
        os.replace(incoming, final)
        if refusal is None:
            log.info("%s: took %s as batch %s (mapping %s)", self.spec.name, delivery.name, batch_id,
                     mapping.label)
        else:
            log.warning("%s: refusing %s as batch %s (%s: %s)", self.spec.name, delivery.name, batch_id,
                        refusal.code, refusal.detail)
        return batch_id

    def _restore(self, row: dict, incoming: Path) -> None:
        """A resumed batch whose staged files are gone (killed before they were moved in place, a lost
        volume) gets the copy just fetched; one that was judged from them is judged again."""
        staging = Path(row["staging_dir"]) if row["staging_dir"] else None
        lost = staging is None or not (staging / (row["data_file"] or row["file_name"])).is_file()
        if lost and row["status"] in (Status.RECEIVED, Status.JUDGED, Status.REFUSED) and staging is not None \
                and staging.parent == self.cfg.staging / self.spec.name:
            shutil.rmtree(staging, ignore_errors=True)
            os.replace(incoming, staging)
            if row["status"] == Status.JUDGED:
                with self.db.begin() as conn:
                    ledger.move(conn, row["id"], Status.JUDGED, Status.RECEIVED)
            log.warning("%s: batch %s had lost its staged files; fetched again from inbound/", self.spec.name,
                        row["id"])
        else:
            shutil.rmtree(incoming, ignore_errors=True)

    # ------------------------------------------------------------------ judge
    def judge(self, batch_id: int) -> Outcome:
        """Decide every record's fate; the batch becomes judged, held or refused."""
        with self._exclusive():
            return self._judge(batch_id)

    def _judge(self, batch_id: int) -> Outcome:
        from jinbao.quality.data_docs import hint
        from jinbao.quality.judging import gate_for, judge_delivery, top_reasons
        from jinbao.quality.plan import rules_version

        row = self._row(batch_id)
        if row["status"] != Status.RECEIVED:
            return Outcome.of(row)
        staging = Path(row["staging_dir"])
        try:
            gate = gate_for(self.spec, row["business_date"], staging,
                            not_after=ledger.latest_business_date(self.cfg.clock_allowance, row["received_at"]))
            judged = judge_delivery(staging / (row["data_file"] or row["file_name"]),
                                    ledger.encoding_of(row, self.spec.format.encoding), gate, staging,
                                    self.cfg.gate_threads, keys=self._record_keys(),
                                    on_block=self._progress("judge", row["file_name"]))
            declared = row["declared_records"]
            if declared is not None and judged.received != declared:
                raise DeliveryRefused("COUNT_MISMATCH", f"{judged.received} records received, manifest says "
                                      f"{declared}", row["file_name"])
            from jinbao.subsidies.hooks import judged as checked_against_store
            judged = checked_against_store(self.db, self.spec, staging, judged)   # store-backed checks
        except DeliveryRefused as exc:
            return self._refuse(batch_id, Status.RECEIVED, Refusal(exc.reason_code, str(exc)))
        except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
            if is_transient(exc):
                raise transient("judge", row["file_name"], exc) from exc
            log.exception("%s: judging batch %s failed", self.spec.name, batch_id)
            return self._refuse(batch_id, Status.RECEIVED, fault("judge", row["file_name"], exc))
        share = judged.rejected / judged.received if judged.received else 0.0
        held = share > self.spec.quality.max_reject_share
        reasons = ", ".join(f"{code} on {field} {n}" for code, field, n in top_reasons(staging))
        log.info("%s: judged %s: %s records received, %s accepted, %s rejected (%.1f%%)%s", self.spec.name,
                 row["file_name"], judged.received, judged.accepted, judged.rejected, 100 * share,
                 f"; most frequent: {reasons}" if reasons else "")
        if judged.rejected:
            log.info("%s: %s", self.spec.name, hint(self.cfg, self.spec.name, batch_id))
        message = (f"{judged.rejected} of {judged.received} records ({share:.1%}) rejected, above the feed's "
                   f"threshold of {self.spec.quality.max_reject_share:.0%}") if held else None
        with self.db.begin() as conn:
            ledger.move(conn, batch_id, Status.RECEIVED, Status.HELD if held else Status.JUDGED,
                        received=judged.received, accepted=judged.accepted, rejected=judged.rejected,
                        rules_version=rules_version(gate.mapping, gate.rules),
                        reason_code="HELD" if held else None, message=message)
            return Outcome.of(ledger.get(conn, batch_id))

    def _progress(self, step: str, file: str):
        return None if self.progress is None else (lambda n: self.progress(step, file, n))

    def _record_keys(self) -> tuple[str, ...]:
        """The hub fields that identify a record in the target table (its key, less the declared constants)."""
        from jinbao.schemas.store_tables import TARGETS
        return tuple(c.name for c in TARGETS[self.spec.target.table].primary_key.columns
                     if c.name not in self.spec.target.set)

    def _refuse(self, batch_id: int, frm: Status, refusal: Refusal) -> Outcome:
        with self.db.begin() as conn:
            ledger.move(conn, batch_id, frm, Status.REFUSED, reason_code=refusal.code, message=refusal.detail)
            return Outcome.of(ledger.get(conn, batch_id))

    # ---------------------------------------------------------------- publish
    def publish(self, batch_id: int, released: bool = False) -> Outcome:
        """Publish accepted records in one transaction; a second call publishes nothing.

        `released`: a person reviewed a held batch and lets it through.  A store
        error no retry can cure (a value the store refuses) refuses the batch;
        one that a retry may cure leaves it judged, to be published again.
        """
        try:
            with self._exclusive():
                return self._publish(batch_id, released)
        except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
            row = self._row(batch_id)
            if is_transient(exc):
                raise transient("publish", row["file_name"], exc) from exc
            if self._partitioned(released):   # its partitions' rows are in the store: refusing would strand them
                log.error("%s: publishing batch %s failed; it stays judged: %s", self.spec.name, batch_id,
                          mask_text(str(exc)))
                raise
            log.error("%s: publishing batch %s failed: %s", self.spec.name, batch_id, mask_text(str(exc)))
            return self._refuse(batch_id, Status.HELD if released else Status.JUDGED,
                                fault("publish", row["file_name"], exc))

    def _publish(self, batch_id: int, released: bool) -> Outcome:
        from jinbao.quality.judging import ACCEPTED, REJECTED
        from jinbao.schemas.store_tables import TARGETS
        from jinbao.register.authority import authority
        from jinbao.register.reconcile import Offered, reconcile
        from jinbao.store.publish import publish_accepted, source_version, store_rejections
        from jinbao.audit.evidence import keep_rejected

        with self.db.begin() as conn:
            row = ledger.get(conn, batch_id)
            frm = Status.HELD if released else Status.JUDGED
            if row["status"] != frm:
                return Outcome.of(row)
            staging = Path(row["staging_dir"])
            # partitioned: the rows are in (every partition reported done), under the stamp they were written with
            parted = partitions.published(staging, batch_id) if self._partitioned(released) else None
            stamp, started = (parted[0].stamp if parted else ledger.now()), time.perf_counter()
            # receipt_at cleared on release: the partner is owed a receipt that says published.
            if not ledger.move(conn, batch_id, frm, Status.PUBLISHED, published_at=stamp,
                               **({"receipt_at": None} if released else {})):
                return Outcome.of(row)
            published = parted[1] if parted else publish_accepted(
                conn, TARGETS[self.spec.target.table], staging / ACCEPTED, batch_id, stamp, self.spec.target.set,
                source_version(row["business_date"], row["sequence"]), on_chunk=self._progress("publish", row["file_name"]))
            store_rejections(conn, staging / REJECTED, batch_id)
            keep_rejected(conn, staging, self.spec.name, batch_id)     # evidence, for the feeds that declare it
            if authority().takes_part(self.spec.name):
                done = reconcile(conn, staging / ACCEPTED, Offered(self.spec.name, batch_id, row["business_date"],
                                                                   row["sequence"], stamp))
                log.info("%s: register: %s people (%s new), %s fields set, %s conflicts opened or changed, "
                         "%s life statuses changed", self.spec.name, done.people, done.new, done.taken,
                         done.conflicts, done.lives)
            from jinbao.subsidies.hooks import published as with_the_batch
            with_the_batch(conn, self.spec, batch_id, staging, published, stamp)   # same transaction
            ledger.update(conn, batch_id, published=published)
            row = ledger.get(conn, batch_id)
        log.info("%s: published %s: %s records into %s in %.1f s (batch %s)", self.spec.name, row["file_name"],
                 published, self.spec.target.table, time.perf_counter() - started, batch_id)
        return Outcome.of(row)

    # ------------------------------------------------------------- partitions
    def _partitioned(self, released: bool = False) -> bool:
        """A released held batch is published whole, as before: a person is waiting for it, not a province."""
        return self.spec.partitions > 1 and not released

    def partitions(self, batch_id: int) -> list[int]:
        """The partitions a judged batch of a partitioned feed is published in (its plan is fixed on the first
        call); none for any other batch, which `publish` handles whole or not at all."""
        if not self._partitioned():
            return []
        from jinbao.quality.judging import ACCEPTED

        with self._exclusive():
            row = self._row(batch_id)
            if row["status"] != Status.JUDGED:
                return []
            staging = Path(row["staging_dir"])
            planned = partitions.plan(staging, staging / ACCEPTED, self.spec.partitions, ledger.now())
            log.info("%s: %s publishes in %s partitions of %s records", self.spec.name, row["file_name"],
                     len(planned), ", ".join(str(b - a) for a, b in planned.ranges))
            return list(range(len(planned)))

    def publish_partition(self, batch_id: int, part: int) -> int:
        """Upsert one partition of a judged batch in its own transaction; returns the rows it published.

        The batch stays judged (`publish` marks it published once all partitions are done).  A second run
        writes the same rows with the same stamp and version, so it changes nothing; a failure is raised,
        never a refusal, so the task is red and can be retried.
        """
        from jinbao.quality.judging import ACCEPTED
        from jinbao.schemas.store_tables import TARGETS
        from jinbao.store.publish import publish_accepted, source_version

        with self._shared():
            row = self._row(batch_id)
            if row["status"] != Status.JUDGED:
                return 0
            staging = Path(row["staging_dir"])
            planned = partitions.read_plan(staging)
            if planned is None:
                raise partitions.PartitionsPending(f"batch {batch_id} has no partition plan in {staging}")
            start, stop = planned.ranges[part]
            started = time.perf_counter()
            try:
                with self.db.begin() as conn:
                    if ledger.get(conn, batch_id)["status"] != Status.JUDGED:
                        return 0
                    published = publish_accepted(
                        conn, TARGETS[self.spec.target.table], staging / ACCEPTED, batch_id, planned.stamp,
                        self.spec.target.set, source_version(row["business_date"], row["sequence"]),
                        on_chunk=self._progress("publish", row["file_name"]), rows=(start, stop))
            except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
                if is_transient(exc):
                    raise transient(f"publish partition {part}", row["file_name"], exc) from exc
                log.error("%s: partition %s of batch %s failed; the batch stays judged: %s", self.spec.name, part,
                          batch_id, mask_text(str(exc)))
                raise
            partitions.mark_done(staging, part, published)      # after the commit: a marker never lies
        log.info("%s: published partition %s of %s of %s: records %s to %s, %s into %s in %.1f s", self.spec.name,
                 part + 1, len(planned), row["file_name"], start, stop, published, self.spec.target.table,
                 time.perf_counter() - started)
        return published

    @contextmanager
    def _shared(self):
        """The feed lock shared with the batch's other partitions (held exclusively already inside run())."""
        if self._lock_depth:
            yield
            return
        with feed_lock(self.cfg.staging, self.spec.name, shared=True):
            yield

    # ----------------------------------------------------------------- finish
    def finish(self, batch_id: int) -> Outcome:
        """Tell the partner, put a refused delivery in quarantine, acknowledge.

        Raises BatchHeld for a held batch and DeliveryRefused for a refused one
        (after doing all of the above), so that a scheduler shows them as failed.
        """
        with self._exclusive():
            return self._finish(batch_id)

    def _finish(self, batch_id: int) -> Outcome:
        from jinbao.quality.judging import REJECTED

        row = self._row(batch_id)
        status = Status(row["status"])
        if status in (Status.RECEIVED, Status.JUDGED):
            raise RuntimeError(f"batch {batch_id} is {status}: judge and publish it before finishing")
        staging = Path(row["staging_dir"]) if row["staging_dir"] else None    # None: a stray, never fetched
        if status == Status.REFUSED and staging is not None:
            kept = quarantine_path(self.cfg.quarantine, self.spec.name, batch_id, row["file_name"])
            if staging != kept:           # (a run killed after the move finds the files there)
                staging = quarantine(staging, self.cfg.quarantine, self.spec.name, batch_id, row["file_name"])
                with self.db.begin() as conn:
                    ledger.update(conn, batch_id, staging_dir=str(staging))
        delivery = self._delivery(row, staging) if staging else None
        if row["receipt_at"] is None:
            self._send_receipt(row, None if status == Status.REFUSED else staging / REJECTED, staging)
        if status != Status.HELD and row["acked_at"] is None and delivery is not None:
            self.transport.ack(delivery, batch_id)
            with self.db.begin() as conn:
                ledger.update(conn, batch_id, acked_at=ledger.now())
        row = self._row(batch_id)
        if status == Status.HELD:
            raise BatchHeld(f"batch {batch_id} ({row['file_name']}) held: {row['message']}. Review the receipt in "
                            f"{self.cfg.receipts / self.spec.name / str(batch_id)}, then release it with "
                            f"`jinbao batches release {batch_id}` or ask {self.spec.partner} to resend.")
        if status == Status.REFUSED:
            from jinbao.quality.reasons import next_step

            kept = f"kept in {staging}" if staging else "set aside in the partner's inbound/rejected/"
            step = next_step(row["reason_code"], self.spec.partner)
            log.warning("%s: refused %s (%s: %s); %s%s", self.spec.name, row["file_name"], row["reason_code"],
                        row["message"], kept, f"; next: {step}" if step else "")
            raise DeliveryRefused(row["reason_code"], f"{row['message']} ({kept})", row["file_name"])
        return Outcome.of(row)

    def _log_unsealed(self, row: dict, status: Status, staging: Path | None, folder: Path, exc: CannotSeal) -> None:
        """The operator's line when no sealed receipt could go out: why, where everything is, what to do."""
        from jinbao.keys import cert_path

        partner = self.spec.partner
        if status == Status.HELD:
            fate = "the held delivery stays in inbound/ until it is released"
        elif staging is None:
            fate = "the file is set aside in the partner's inbound/rejected/"
        else:
            fate = (f"kept in quarantine at {staging}; " if status == Status.REFUSED else "") + \
                f"the delivery is acknowledged (moved to {partner}'s inbound/processed/{row['id']}/)"
        log.error("%s: no sealed receipt could be sent to %s for %s (batch %s, %s%s): %s. The batch ends anyway: "
                  "%s; the unsealed receipt is kept in %s. If %s was removed on purpose, tell it out of band that "
                  "its deliveries are no longer accepted; if not, install its CA-issued certificate as %s "
                  "(docs/transport.md) and ask %s to resend.", self.spec.name, partner, row["file_name"], row["id"],
                  status, f" {row['reason_code']}" if row["reason_code"] else "", exc.detail, fate, folder, partner,
                  cert_path(self.cfg.home, partner), partner)

    def _send_receipt(self, row: dict, rejected: Path | None, staging: Path | None = None) -> list[Path] | None:
        """The batch's receipt to the partner's outbound/ (and the hub's copy), recorded with its entry in
        the exchange log; under a name of its own (exchange_zone.receipts.receipt_name).  A receipt that
        cannot be sealed (the partner's certificate was removed) still ends the batch: kept on the hub,
        the operator told why (_log_unsealed); None then."""
        batch_id = row["id"]
        with self.db.begin() as conn:
            name = receipt_name(row, ledger.first_of_its_base(conn, row))
        folder = self.cfg.receipts / self.spec.name / str(batch_id)
        unsealed = sent = None
        try:
            encoding = ledger.encoding_of(row, self.spec.format.encoding)
            sent = send_receipt(self.transport, folder, row, rejected, encoding,
                                ledger.now().isoformat(), name, hub_paths=(self.cfg.home,))
        except CannotSeal as exc:   # retrying cannot cure it: the batch still ends, the receipt stays here
            unsealed = exc
        with self.db.begin() as conn:
            ledger.update(conn, batch_id, receipt_at=ledger.now())
            self._log_delivery(conn, row)
        if unsealed is None:
            log.info("%s: receipt for %s (%s) sent to %s's outbound/; readable copy: %s", self.spec.name,
                     row["file_name"], row["status"], self.spec.partner, sent[0])
        else:
            self._log_unsealed(row, Status(row["status"]), staging, folder, unsealed)
        return sent

    def _log_delivery(self, conn, row: dict) -> None:
        """The delivery's entry in the exchange log, committed with its receipt: what came in from whom,
        and what became of it (a released batch gets a second entry when its new receipt goes out)."""
        from jinbao import exchange_log

        exchange_log.append(conn, exchange_log.log_key(self.cfg.home), direction=exchange_log.IN,
                            partner=self.spec.partner, feed=self.spec.name, file_name=row["file_name"],
                            sha256=row["sha256"], status=row["status"], business_date=row["business_date"],
                            sequence=row["sequence"], records=row["received"], accepted=row["accepted"],
                            rejected=row["rejected"], mapping_version=row["mapping_version"], batch_id=row["id"])

    #: Strays set aside per run; more wait for the next run (the deliveries are taken first whatever).
    STRAYS_PER_RUN = 200

    def _forms(self) -> list:
        """How each inbound feed of this partner that shares this drop zone names its deliveries: this feed as
        its transport takes them, the others as declared (connectors/names.py Form)."""
        from jinbao.connectors.names import Form
        from jinbao.connectors.registry import NOT_DROP_ZONES, choice
        from jinbao.declarations import OutboundFeed, load_feeds
        from jinbao.exchange_zone.envelope import COMPANIONS

        here, _ = choice(self.spec.transport, self.cfg)
        forms = [Form(self.spec.name, bool(self.transport.companions), tuple(self.transport.companions))]
        for spec in load_feeds(self.cfg).values():
            if spec.partner != self.spec.partner or isinstance(spec, OutboundFeed) or spec.name == self.spec.name:
                continue
            kind, envelope = choice(spec.transport, self.cfg)
            if kind != here or kind in NOT_DROP_ZONES:
                continue
            forms.append(Form(spec.name, envelope == "cms", COMPANIONS if envelope == "cms" else ()))
        return forms

    def _log_waiting(self, waiting: list[tuple[str, str]]) -> None:
        if waiting:
            from jinbao.connectors.names import shown_name
            shown = "; ".join(f'"{shown_name(name)}" ({why})' for name, why in waiting[:10])
            log.info("%s: %s entr%s of %s's inbound/ wait%s: %s%s", self.spec.name, len(waiting),
                     "y" if len(waiting) == 1 else "ies", self.spec.partner, "s" if len(waiting) == 1 else "",
                     shown, f"; and {len(waiting) - 10} more" if len(waiting) > 10 else "")

    def _set_aside_strays(self) -> list[int]:
        """Every entry of inbound/ that no feed of this partner will ever take (connectors/names.py) is set
        aside unread into inbound/rejected/ and answered: one refused batch and one receipt per stray,
        named after the batch (never after the stray), listed by `jinbao batches list`.

        Under the partner's zone lock, so that two of its feeds running at once never record or answer
        one stray twice; each stray is recorded before it is moved, so a run stopped in between finds its
        batch again (by the shown name) instead of making a second one.  No stray stops the feed: one
        that cannot be moved stays, is named in the log and is tried again by the next run; at most
        STRAYS_PER_RUN per run.  Returns the strays' batch ids answered by this run."""
        from jinbao.connectors.names import classify
        from jinbao.feed_lock import FeedBusy, zone_lock

        forms = self._forms()
        feeds = [f.feed for f in forms]
        partner = self.spec.partner
        try:
            with zone_lock(self.cfg.staging, partner):
                strays = classify(self.transport.entries(), forms, partner).strays
                with self.db.begin() as conn:
                    recorded: dict[str, list[dict]] = {}
                    for row in ledger.open_strays(conn, feeds):
                        recorded.setdefault(row["file_name"], []).append(row)
                found = [(s, (recorded.get(s.shown) or [None]).pop(0)) for s in strays]
                for rows in recorded.values():        # recorded, then gone: moved by a run stopped before it
                    for row in rows:                  # could say so, or taken back by the partner
                        self._aside_done(row["id"])
                for stray, row in found[:self.STRAYS_PER_RUN]:
                    if not self._set_aside(stray, row):
                        break
                if len(found) > self.STRAYS_PER_RUN:
                    log.warning("%s: %s more strays in %s's inbound/ wait for the next run", self.spec.name,
                                len(found) - self.STRAYS_PER_RUN, partner)
        except FeedBusy as exc:
            log.warning("%s: strays not set aside this run: %s", self.spec.name, exc)
        except Exception as exc:  # noqa: BLE001 - a stray never stops the feed
            log.warning("%s: strays not set aside this run (%s: %s); the next run tries again", self.spec.name,
                        type(exc).__name__, mask_text(str(exc))[:300])
        answered = []
        with self.db.begin() as conn:
            owing = ledger.strays_owing_receipt(conn, self.spec.name)
        for batch_id in owing:
            try:
                self._send_receipt(self._row(batch_id), None)
            except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
                log.warning("%s: the receipt for stray batch %s was not sent (%s: %s); the next run sends it",
                            self.spec.name, batch_id, type(exc).__name__, mask_text(str(exc))[:300])
                if is_transient(exc):
                    break
                continue
            answered.append(batch_id)
        return answered

    def _set_aside(self, stray, row: dict | None) -> bool:
        """Record (unless a stopped run did), move, mark set aside; False when the zone cannot be reached."""
        if row is None:
            with self.db.begin() as conn:
                batch_id = ledger.insert(conn, feed=self.spec.name, file_name=stray.shown, sha256=ledger.STRAY,
                                         sequence=0, business_date=ledger.today(), encoding=self.spec.format.encoding,
                                         status=Status.REFUSED, refusal=Refusal(stray.reason, stray.detail))
        else:
            batch_id = row["id"]
        where = f"{self.spec.partner}'s inbound/"
        try:
            self.transport.set_aside(stray.name)
        except FileNotFoundError:
            pass                                  # gone since it was listed: taken back by the partner
        except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
            text = f"{type(exc).__name__}: {mask_text(str(exc))[:300]}"
            if is_transient(exc):
                log.warning("%s: setting aside %s was interrupted (%s); the next run carries on", self.spec.name,
                            f'"{stray.shown}"', text)
                return False
            log.error("%s: could not set aside %s (batch %s): %s. It stays in %s unread; the next run tries "
                      "again. If this repeats, move it into inbound/rejected/ by hand.", self.spec.name,
                      f'"{stray.shown}"', batch_id, text, where)
            return True
        self._aside_done(batch_id)
        should = (f"{self.spec.partner} should send it again as {stray.expected}" if stray.expected
                  else f"{self.spec.partner} should send it again under an agreed name")
        log.warning("%s: %s in %s is not a delivery (%s, batch %s): set aside unread into inbound/rejected/, "
                    "the partner gets a receipt; %s. Nothing to do on the hub.", self.spec.name,
                    f'"{stray.shown}"', where, stray.reason, batch_id, should)
        return True

    def _aside_done(self, batch_id: int) -> None:
        """The stray is out of inbound/: its batch is this feed's to answer."""
        with self.db.begin() as conn:
            ledger.update(conn, batch_id, feed=self.spec.name, acked_at=ledger.now())

    def _delivery(self, row: dict, staging: Path) -> RemoteDelivery:
        """The remote delivery of a batch, companions as they were named when it was fetched."""
        name = row["file_name"]
        present = [p.name for p in staging.iterdir()] if staging.is_dir() else []
        companions = companions_of(present, name, self.transport.companions) or ()
        return RemoteDelivery(name, self.spec.name, row["business_date"].strftime("%Y%m%d"), row["sequence"],
                              companions)

    # -------------------------------------------------------------------- run
    def run(self, up_to: dt.date | None = None) -> list[Outcome]:
        """The whole pipeline without a scheduler (what `jinbao run` does)."""
        try:
            with self._exclusive():
                return self._run(up_to)
        finally:
            self.close()

    def _run(self, up_to: dt.date | None) -> list[Outcome]:
        outcomes = []
        received = self.receive(up_to)
        outcomes += [Outcome.of(self._row(batch_id)) for batch_id in self.strays]
        for batch_id in received:
            self.judge(batch_id)
            for part in self.partitions(batch_id):     # one process: the partitions one after another
                self.publish_partition(batch_id, part)
            self.publish(batch_id)
            try:
                self.finish(batch_id)
            except (BatchHeld, DeliveryRefused) as exc:
                log.warning("%s", mask_text(str(exc)))
            outcomes.append(Outcome.of(self._row(batch_id)))
        return sorted(outcomes, key=lambda o: o.batch_id)

    def close(self) -> None:
        """Release the transport (an SFTP connection stays open across the steps of a run)."""
        self.transport.close()
