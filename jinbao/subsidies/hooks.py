"""Where the engine calls in: once a delivery is judged, and inside the publish transaction.

The engine stays generic (it calls these for every feed); what a feed needs is
decided here from its declaration, so a new feed that publishes payments,
enrolments, assistance or household divisions is covered without engine code:

* judged: a feed publishing into `subsidy_payment` has its payments checked
  against the lines (payments.check); the failures become rejections, so the
  hold threshold and the receipt see them like any other.
* published (same transaction as the rows): rows taken from a partner's
  front-end database advance its watermark (connectors/frontend_db.py); payments
  flip their lines (payments.settle); enrolments, assistance periods and
  household divisions recompute the lines of the batch's people (lines.recompute).
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.engine import Connection

from jinbao.subsidies import lines, payments

log = logging.getLogger(__name__)

#: Target tables whose rows change what a line is.
LINE_TABLES = ("resident_enrollment", "assistance")


def judged(db, spec, staging: Path, result):
    """The judged counts after the store-backed checks (quality.judging.Judged)."""
    if spec.target.table != "subsidy_payment":
        return result
    from jinbao.mappings.tables import pinned
    from jinbao.quality.judging import Judged

    mapping = pinned(staging)
    partner = {f.hub: f.partner for f in mapping.fields} if mapping is not None else {}
    with db.connect() as conn:
        moved = payments.check(conn, staging, partner)
    if moved:
        log.info("%s: %s payment(s) pay no subsidy line in arrears; rejected with their reasons", spec.name, moved)
    return Judged(result.received, result.rejected + moved)


def _changes_lines(spec) -> bool:
    from jinbao.register.authority import authority

    if spec.target.table in LINE_TABLES:
        return True
    return any(col.lower() == "aab301" for col in authority().offers(spec.name))


def _people(conn: Connection, spec, batch_id: int, accepted: Path) -> list[str]:
    """The enrolled people whose rows this batch wrote: a join in the store, so a ten-million-record
    identity refresh that enrols nobody costs one query, not its IDs in Python (a row the
    newest-wins rule kept from a newer batch changes nothing and is rightly left out)."""
    import sqlalchemy as sa

    from jinbao.schemas.store_tables import metadata, resident_enrollment

    target = metadata.tables.get(spec.target.table)
    if target is None or not {"aac002", "batch_id"} <= set(target.c.keys()):
        if "AAC002" not in pq.read_schema(accepted).names:
            return []
        return pc.unique(pq.read_table(accepted, columns=["AAC002"])["AAC002"]).drop_null().to_pylist()
    e, written = resident_enrollment, target.alias("written")      # aliased: the target may be the enrolments
    rows = conn.execute(sa.select(e.c.aac002).distinct()
                        .join(written, written.c.aac002 == e.c.aac002).where(written.c.batch_id == batch_id))
    return sorted(r[0] for r in rows)


def published(conn: Connection, spec, batch_id: int, staging: Path, count: int, stamp: dt.datetime) -> None:
    """Everything that must commit with the batch's rows, or not at all."""
    from jinbao.connectors import frontend_db
    from jinbao.quality.judging import ACCEPTED

    frontend_db.advance(conn, spec.name, staging, batch_id, stamp)
    if spec.target.table == "subsidy_payment":
        paid = payments.settle(conn, batch_id, count)
        log.info("%s: %s subsidy line(s) paid", spec.name, paid)
    if _changes_lines(spec):
        done = lines.recompute(conn, _people(conn, spec, batch_id, staging / ACCEPTED), batch_id, stamp)
        if done.people:
            log.info("%s: subsidy lines of %s enrolled people: %s new, %s changed, %s differences after a claim, "
                     "%s resolved", spec.name, done.people, done.new, done.changed, done.differences, done.resolved)
