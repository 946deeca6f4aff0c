"""What subsidies add to the steps of every feed: a check once a delivery is judged, and work inside the
publish transaction.

The engine stays generic; these are registered by name (quality/judge_step.py
AFTER_JUDGE, jinbao/store/consumers.py IN_PUBLISH) and decide from the feed's
declaration whether they apply, so a new feed that publishes payments,
enrolments, assistance or household divisions is covered without engine code:

* PAYMENTS_CHECK (after judging): a feed publishing into `subsidy_payment` has
  its payments checked against the lines (payments.check); the failures become
  rejections, so the hold threshold and the receipt see them like any other.
* LINES (inside the publish transaction, with the rows): payments flip their
  lines (payments.settle); enrolments, assistance periods and household
  divisions recompute the lines of the batch's people (lines.recompute).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.mappings.tables import pinned
from jinbao.register.authority import authority
from jinbao.schemas.store_tables import metadata, resident_enrollment
from jinbao.staged.layout import ACCEPTED
from jinbao.subsidies import lines, payments

log = logging.getLogger(__name__)

#: Target tables whose rows change what a line is.
LINE_TABLES = ("resident_enrollment", "assistance")


def judged(db, spec, staging: Path, result):
    """The judged counts after the payments are checked against their lines (quality.judging.Judged);
    for the feeds PAYMENTS_CHECK applies to (those publishing payments)."""
    mapping = pinned(staging)
    partner = {f.hub: f.partner for f in mapping.fields} if mapping is not None else {}
    with db.connect() as conn:
        moved = payments.check(conn, staging, partner)
    if moved:
        log.info("%s: %s payment(s) pay no subsidy line in arrears; rejected with their reasons", spec.name, moved)
    return replace(result, rejected=result.rejected + moved)


def _changes_lines(spec) -> bool:
    if spec.target.table in LINE_TABLES:
        return True
    return any(col.lower() == "aab301" for col in authority().offers(spec.name))


def _people(spec, batch_id: int, accepted: Path) -> lines.People:
    """The enrolled people whose rows this batch wrote, as a query the store runs into the recompute's
    scope, so a million enrolments never come to Python and a ten-million-record identity refresh that
    enrols nobody costs one join (a row the newest-wins rule kept from a newer batch changes nothing
    and is rightly left out)."""
    target = metadata.tables.get(spec.target.table)
    if target is None or not {"aac002", "batch_id"} <= set(target.c.keys()):
        if "AAC002" not in pq.read_schema(accepted).names:
            return []
        return pc.unique(pq.read_table(accepted, columns=["AAC002"])["AAC002"]).drop_null().to_pylist()
    e = resident_enrollment
    if target is e:                 # the enrolments themselves: no join (a million of them, 1.5 s of the publish)
        return sa.select(e.c.aac002).distinct().where(e.c.batch_id == batch_id)
    written = target.alias("written")
    return sa.select(e.c.aac002).distinct().join(written, written.c.aac002 == e.c.aac002) \
        .where(written.c.batch_id == batch_id)


def published(conn: Connection, spec, batch_id: int, staging: Path, count: int, stamp: dt.datetime) -> None:
    """The subsidy lines and payments that must commit with the batch's rows, or not at all."""
    if spec.target.table == "subsidy_payment":
        paid = payments.settle(conn, batch_id, count)
        log.info("%s: %s subsidy line(s) paid", spec.name, paid)
    if _changes_lines(spec):
        done = lines.recompute(conn, _people(spec, batch_id, staging / ACCEPTED), batch_id, stamp)
        if done.people:
            log.info("%s: subsidy lines of %s enrolled people: %s new, %s changed, %s differences after a claim, "
                     "%s resolved", spec.name, done.people, done.new, done.changed, done.differences, done.resolved)


class _PaymentsCheck:
    """quality/judge_step.py AFTER_JUDGE: payments that pay no line in arrears are rejected."""

    def applies(self, feed) -> bool:
        return feed.target.table == "subsidy_payment"

    def run(self, db, batch, result):
        return judged(db, batch.feed, batch.staging, result)


class _Lines:
    """jinbao/store/consumers.py IN_PUBLISH: the lines and payments a batch changes."""

    def applies(self, feed) -> bool:
        return feed.target.table == "subsidy_payment" or _changes_lines(feed)

    def run(self, conn: Connection, batch, published_rows: int, stamp: dt.datetime) -> None:
        published(conn, batch.feed, batch.id, batch.staging, published_rows, stamp)


PAYMENTS_CHECK = _PaymentsCheck()
LINES = _Lines()
