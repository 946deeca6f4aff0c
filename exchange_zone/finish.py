"""Finish: every batch ends here, whatever its status.

A refused delivery goes to quarantine; the partner gets its receipt (with the
batch's entry in the exchange log, committed together); only then is the remote
delivery acknowledged (out of inbound/).  With the receipt recorded, the store's rejections of
the batch lose their personal values (jinbao/store/rejection_values.py).  A batch held as a suspected hub
configuration error (quality/suspect.py) gets no receipt until a person answers:
the partner is not blamed for the hub's mistake.  A held or refused batch then
raises BatchHeld or DeliveryRefused, so that a scheduler shows it as failed: a
person must act, a retry would not help.
"""
from __future__ import annotations

import logging
from pathlib import Path

from jinbao import exchange_log, ledger
from jinbao.batch import Batch, BatchHeld, FeedRun
from jinbao.connectors.base import RemoteDelivery, companions_of
from jinbao.exchange_zone.errors import CannotSeal
from jinbao.staged.refused import DeliveryRefused
from jinbao.exchange_zone.quarantine import quarantine, quarantine_path
from jinbao.exchange_zone.receipts import receipt_name, send_receipt
from jinbao.keys import cert_path
from jinbao.ledger import Outcome, Status
from jinbao.staged.layout import REJECTED
from jinbao.store.rejection_values import mask_after_receipt
from jinbao.quality.reasons import NO_RECEIPT_WHILE_HELD, next_step

log = logging.getLogger(__name__)


def finish(run: FeedRun, batch: Batch) -> Outcome:
    """Quarantine, receipt, acknowledgement; then BatchHeld or DeliveryRefused for a batch a person must see."""
    spec, cfg, batch_id, row, status = run.spec, run.cfg, batch.id, batch.row, batch.status
    if status in (Status.RECEIVED, Status.JUDGED):
        raise RuntimeError(f"batch {batch_id} is {status}: judge and publish it before finishing")
    staging = batch.staging    # None: a stray, never fetched
    if status == Status.REFUSED and staging is not None:
        kept = quarantine_path(cfg.quarantine, spec.name, batch_id, row["file_name"])
        if staging != kept:           # (a run killed after the move finds the files there)
            staging = quarantine(staging, cfg.quarantine, spec.name, batch_id, row["file_name"])
            with run.db.begin() as conn:
                ledger.update(conn, batch_id, staging_dir=str(staging))
    delivery = _delivery(run, row, staging) if staging else None
    quiet = status == Status.HELD and row["reason_code"] in NO_RECEIPT_WHILE_HELD    # the hub's mistake, suspected
    if row["receipt_at"] is None and not quiet:
        send(run, row, None if status == Status.REFUSED else staging / REJECTED, staging)
    if status != Status.HELD and row["acked_at"] is None and delivery is not None:
        run.transport.ack(delivery, batch_id)
        with run.db.begin() as conn:
            ledger.update(conn, batch_id, acked_at=ledger.now())
    with run.db.begin() as conn:
        row = ledger.get(conn, batch_id)
    if quiet:
        raise BatchHeld(f"batch {batch_id} ({row['file_name']}) held, no receipt sent to {spec.partner}: "
                        f"{row['message']} (in Airflow: the run's `review` task, a Required Action, asks the same)")
    if status == Status.HELD:
        raise BatchHeld(f"batch {batch_id} ({row['file_name']}) held: {row['message']}. Review the receipt in "
                        f"{cfg.receipts / spec.name / str(batch_id)}, then answer (in Airflow: the run's `review` "
                        f"task, a Required Action): `jinbao batches release {batch_id}` publishes the accepted "
                        f"records, `jinbao batches refuse {batch_id} --reason TEXT` asks {spec.partner} to resend, "
                        f"`jinbao batches rejudge {batch_id}` judges it again after a mapping fix.")
    if status == Status.REFUSED:
        kept = f"kept in {staging}" if staging else "set aside in the partner's inbound/rejected/"
        step = next_step(row["reason_code"], spec.partner)
        log.warning("%s: refused %s (%s: %s); %s%s", spec.name, row["file_name"], row["reason_code"],
                    row["message"], kept, f"; next: {step}" if step else "")
        raise DeliveryRefused(row["reason_code"], f"{row['message']} ({kept})", row["file_name"])
    return Outcome.of(row)


def send(run: FeedRun, row: dict, rejected: Path | None, staging: Path | None = None) -> list[Path] | None:
    """The batch's receipt to the partner's outbound/ (and the hub's copy), recorded with its entry in
    the exchange log; under a name of its own (exchange_zone.receipts.receipt_name).  A receipt that
    cannot be sealed (the partner's certificate was removed) still ends the batch: kept on the hub,
    the operator told why (_log_unsealed); None then."""
    spec, batch_id = run.spec, row["id"]
    with run.db.begin() as conn:
        name = receipt_name(row, ledger.first_of_its_base(conn, row))
    folder = run.cfg.receipts / spec.name / str(batch_id)
    unsealed = sent = None
    try:
        sent = send_receipt(run.transport, folder, row, rejected, ledger.encoding_of(row, spec.format.encoding),
                            ledger.now().isoformat(), name, hub_paths=(run.cfg.home,))
    except CannotSeal as exc:   # retrying cannot cure it: the batch still ends, the receipt stays here
        unsealed = exc
    with run.db.begin() as conn:
        ledger.update(conn, batch_id, receipt_at=ledger.now())
        _log_delivery(run, conn, row)
        mask_after_receipt(conn, batch_id)     # the partner has its values back: the store keeps none of them
    if unsealed is None:
        log.info("%s: receipt for %s (%s) sent to %s's outbound/; readable copy: %s", spec.name,
                 row["file_name"], row["status"], spec.partner, sent[0])
    else:
        _log_unsealed(run, row, Status(row["status"]), staging, folder, unsealed)
    return sent


def _log_delivery(run: FeedRun, conn, row: dict) -> None:
    """The delivery's entry in the exchange log, committed with its receipt: what came in from whom,
    and what became of it (a released batch gets a second entry when its new receipt goes out)."""
    exchange_log.append(conn, exchange_log.log_key(run.cfg.home), direction=exchange_log.IN,
                        partner=run.spec.partner, feed=run.spec.name, file_name=row["file_name"],
                        sha256=row["sha256"], status=row["status"], business_date=row["business_date"],
                        sequence=row["sequence"], records=row["received"], accepted=row["accepted"],
                        rejected=row["rejected"], mapping_version=row["mapping_version"], batch_id=row["id"])


def _log_unsealed(run: FeedRun, row: dict, status: Status, staging: Path | None, folder: Path,
                  exc: CannotSeal) -> None:
    """The operator's line when no sealed receipt could go out: why, where everything is, what to do."""
    partner = run.spec.partner
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
              "(docs/transport.md) and ask %s to resend.", run.spec.name, partner, row["file_name"], row["id"],
              status, f" {row['reason_code']}" if row["reason_code"] else "", exc.detail, fate, folder, partner,
              cert_path(run.cfg.home, partner), partner)


def _delivery(run: FeedRun, row: dict, staging: Path) -> RemoteDelivery:
    """The remote delivery of a batch, companions as they were named when it was fetched."""
    name = row["file_name"]
    present = [p.name for p in staging.iterdir()] if staging.is_dir() else []
    companions = companions_of(present, name, run.transport.companions) or ()
    return RemoteDelivery(name, run.spec.name, row["business_date"].strftime("%Y%m%d"), row["sequence"],
                          companions)
