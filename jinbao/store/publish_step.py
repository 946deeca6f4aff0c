"""Publish: a judged batch's accepted records into the store, and everything that must commit with them.

One transaction: a compare-and-set moves the batch to published (so two runs
can never both publish it), the records are upserted newest-wins
(publish.publish_accepted), then the consumers of consumers.IN_PUBLISH run in
their order.  A feed declared with `partitions: N` has upserted its rows in N
transactions first (jinbao/partitions.py, one task each); its publish only
checks they are all done and runs the rest.

`publish` raises what goes wrong; the engine sorts it into a refusal or a retry.
"""
from __future__ import annotations

import logging
import time

from jinbao import ledger, partitions
from jinbao.batch import Batch, FeedRun, transient
from jinbao.store.errors import is_transient
from jinbao.ledger import Outcome, Status
from jinbao.privacy import mask_text
from jinbao.staged.layout import ACCEPTED
from jinbao.schemas.store_tables import TARGETS
from jinbao.store import publish as store
from jinbao.store.consumers import run_all

log = logging.getLogger(__name__)


def partitioned(run: FeedRun, released: bool = False) -> bool:
    """A released held batch is published whole, as before: a person is waiting for it, not a province."""
    return run.spec.partitions > 1 and not released


def publish(run: FeedRun, batch_id: int, released: bool = False, answered=None) -> Outcome:
    """Publish the batch if it is still judged (held, when `released`); a second call publishes nothing.

    `answered(conn)`: the reviewer's exchange-log entry of a release (jinbao/release.py), committed in the
    same transaction, so it exists exactly when the batch is published."""
    spec = run.spec
    with run.db.begin() as conn:
        row = ledger.get(conn, batch_id)
        frm = Status.HELD if released else Status.JUDGED
        if row["status"] != frm:
            return Outcome.of(row)
        batch = Batch.of(spec, row)
        # partitioned: the rows are in (every partition reported done), under the stamp they were written with
        parted = partitions.published(batch.staging, batch_id) if partitioned(run, released) else None
        stamp, started = (parted[0].stamp if parted else ledger.now()), time.perf_counter()
        # receipt_at cleared on release: the partner is owed a receipt that says published.
        if not ledger.move(conn, batch_id, frm, Status.PUBLISHED, published_at=stamp,
                           **({"receipt_at": None} if released else {})):
            return Outcome.of(row)
        published = parted[1] if parted else store.publish_accepted(
            conn, TARGETS[spec.target.table], batch.staging / ACCEPTED, batch_id, stamp, spec.target.set,
            store.source_version(batch.business_date, batch.sequence),
            on_chunk=run.progress_of("publish", batch.file_name))
        run_all(conn, batch, published, stamp)                   # same transaction
        if answered is not None:
            answered(conn)
        ledger.update(conn, batch_id, published=published)
        row = ledger.get(conn, batch_id)
    log.info("%s: published %s: %s records into %s in %.1f s (batch %s)", spec.name, row["file_name"],
             published, spec.target.table, time.perf_counter() - started, batch_id)
    return Outcome.of(row)


def plan(run: FeedRun, batch: Batch) -> list[int]:
    """The partitions a judged batch of a partitioned feed is published in (its plan is fixed on the first
    call); none for any other batch, which `publish` handles whole or not at all."""
    if not partitioned(run) or batch.status != Status.JUDGED:
        return []
    planned = partitions.plan(batch.staging, batch.staging / ACCEPTED, run.spec.partitions, ledger.now())
    log.info("%s: %s publishes in %s partitions of %s records", run.spec.name, batch.file_name,
             len(planned), ", ".join(str(b - a) for a, b in planned.ranges))
    return list(range(len(planned)))


def publish_partition(run: FeedRun, batch: Batch, part: int) -> int:
    """Upsert one partition of a judged batch in its own transaction; the rows it published.

    The batch stays judged (`publish` marks it published once all partitions are done).  A second run
    writes the same rows with the same stamp and version, so it changes nothing; a failure is raised,
    never a refusal, so the task is red and can be retried (sorted here, around the transaction only).
    """
    spec, batch_id = run.spec, batch.id
    if batch.status != Status.JUDGED:
        return 0
    planned = partitions.read_plan(batch.staging)
    if planned is None:
        raise partitions.PartitionsPending(f"batch {batch_id} has no partition plan in {batch.staging}")
    start, stop = planned.ranges[part]
    started = time.perf_counter()
    try:
        with run.db.begin() as conn:
            if ledger.get(conn, batch_id)["status"] != Status.JUDGED:
                return 0
            published = store.publish_accepted(
                conn, TARGETS[spec.target.table], batch.staging / ACCEPTED, batch_id, planned.stamp,
                spec.target.set, store.source_version(batch.business_date, batch.sequence),
                on_chunk=run.progress_of("publish", batch.file_name), rows=(start, stop))
    except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
        if is_transient(exc):
            raise transient(f"publish partition {part}", batch.file_name, exc) from exc
        log.error("%s: partition %s of batch %s failed; the batch stays judged: %s", spec.name, part,
                  batch_id, mask_text(str(exc)))
        raise
    partitions.mark_done(batch.staging, part, published)      # after the commit: a marker never lies
    log.info("%s: published partition %s of %s of %s: records %s to %s, %s into %s in %.1f s", spec.name,
             part + 1, len(planned), batch.file_name, start, stop, published, spec.target.table,
             time.perf_counter() - started)
    return published
