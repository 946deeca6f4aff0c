"""Life status: derived, never accumulated, from what each death source says now.

`death_record` holds each source's newest record per person (a later delivery
from the same source replaces it; CZBZ=2 marks it withdrawn).  A person's
status is a function of those records alone, so a withdrawal restores the
earlier status without the hub remembering what it was, a correction moves the
date, and re-running a batch changes nothing.  The store derives it for all the
batch's people at once (each person's first active record: ROW_NUMBER on SQLite
and MariaDB, DISTINCT ON on PostgreSQL) and writes the changes with one INSERT ... SELECT
into a scratch table (`derive`); people new to the register are inserted with
their status from it, then one INSERT ... SELECT writes the history and one
UPDATE ... FROM the register's known people (`settle`): no record travels to
Python (1M deaths through SQLAlchemy and pandas took longer than everything
else in the delivery together).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Connection

from jinbao.register.authority import DECEASED, Authority
from jinbao.schemas.store_tables import BigId, UtcDateTime, death_record, life_status_history, register
from jinbao.store import scratch

CHANGE = "register_life_change"
WITHDRAW = "2"
#: What a police deregistration reason the register file does not name means.
UNKNOWN_REASON = "deregistered"
STATUS = sa.String(16)


def deciding(people: sa.Table, auth: Authority, dialect: str) -> sa.Subquery:
    """Per person of `people`: own_line (the batch's line) and the status, date, source, batch and line of
    the deciding record; `found` is NULL for a person whose every record is withdrawn (no deciding record:
    the caller gives them the default).

    Deceased while any active record reports a death, dated by the most trusted such source; else the
    status a police deregistration reason sets, dated by its deregistration date (or the death date).
    A death outranks any deregistration, whatever its source; then the source's trust.  death_record
    holds one record per person and source, so (death first, source rank) never ties; source_feed
    ends the ordering anyway, so the choice never depends on how the store reads the rows.

    One outer join of the batch's people with their active records, the first per person kept: the
    people are read once, not joined to their records and then again to the result (1M new people: a
    hash join of a million fewer).  SQLite and MariaDB rank them (ROW_NUMBER); PostgreSQL keeps the
    first by DISTINCT ON, which it estimates as one row per person (it took the window's `n = 1` for
    0.5% of them and looked each up in the register one by one), sorted by the ID's bytes (COLLATE "C":
    the same people, compared as bytes, not strings through the database's collation).
    """
    dr, p = death_record.c, people.c
    reason = dr.dereg_reason
    if auth.police_reasons:
        named = sa.case(auth.police_reasons, value=reason, else_=sa.literal(UNKNOWN_REASON, STATUS))
    else:
        named = sa.literal(UNKNOWN_REASON, STATUS)
    status = sa.case((reason.is_(None), sa.literal(DECEASED, STATUS)), else_=named)
    dead = sa.or_(reason.is_(None), reason.in_([k for k, v in auth.police_reasons.items() if v == DECEASED]))
    rank = sa.case({f: i for i, f in enumerate(auth.deaths)}, value=dr.source_feed, else_=len(auth.deaths))
    order = sa.case((dead, 0), else_=1)
    person = p.aac002.collate("C") if dialect == "postgresql" else p.aac002
    active = sa.and_(dr.aac002 == p.aac002, dr.source_feed.in_(auth.deaths),
                     sa.or_(dr.death_action.is_(None), dr.death_action != WITHDRAW))
    columns = (p.aac002, p.line_no.label("own_line"), dr.aac002.label("found"), status.label("status"),
               sa.case((dead, dr.aac060), else_=sa.func.coalesce(dr.dereg_date, dr.aac060)).label("date"),
               dr.source_feed, dr.batch_id, dr.line_no)
    records = people.outerjoin(death_record, active)
    if dialect == "postgresql":
        return (sa.select(*columns).select_from(records).ext(distinct_on(person))
                .order_by(person, order, rank, dr.source_feed).subquery("deciding"))
    ranked = (sa.select(*columns, sa.func.row_number().over(partition_by=person, order_by=(order, rank, dr.source_feed))
                        .label("n"))
              .select_from(records).subquery("ranked"))
    r = ranked.c
    return sa.select(r.aac002, r.own_line, r.found, r.status, r.date, r.source_feed, r.batch_id, r.line_no) \
        .where(r.n == 1).subquery("deciding")


def changes(people: sa.Table, feed: str, batch_id: int, auth: Authority, dialect: str = "") -> sa.Select:
    """The batch's people whose life status, its date or its source is not what the register holds
    (people it does not hold yet: the default, no date, no source): aac002, known (1: in the register),
    from_status, from_date, to_status, to_date, source_feed, batch_id, line_no, own_line, moved (1 when
    status or date moved: a history row; 0 when only the deciding source did)."""
    rg = register.c
    decided = deciding(people, auth, dialect)
    d = decided.c
    default = sa.literal(auth.default, STATUS)
    restored = d.found.is_(None)   # back to the default: this batch decided it (withdrew or replaced the last report)
    state = (sa.select(d.aac002, d.own_line,
                       sa.case((rg.aac002.is_(None), 0), else_=1).label("known"),
                       sa.func.coalesce(rg.life_status, default).label("from_status"),
                       rg.life_status_date.label("from_date"), rg.life_status_source.label("from_source"),
                       sa.case((restored, default), else_=d.status).label("to_status"),
                       d.date.label("to_date"),
                       sa.case((restored, sa.literal(feed, sa.String(64))), else_=d.source_feed).label("source_feed"),
                       sa.case((restored, sa.literal(batch_id, BigId)), else_=d.batch_id).label("batch_id"),
                       sa.case((restored, d.own_line), else_=d.line_no).label("line_no"),
                       sa.case((restored, 1), else_=0).label("restored"))
             .select_from(decided.outerjoin(register, rg.aac002 == d.aac002))
             .subquery("state"))
    s = state.c
    moved = sa.or_(s.to_status != s.from_status, s.to_date.is_distinct_from(s.from_date))
    # a person reported only as withdrawn, never as dead, was and stays at the default: nothing to say
    silent = sa.and_(s.restored == 1, s.from_source.is_(None), s.from_status == auth.default)
    return (sa.select(s.aac002, s.known, s.from_status, s.from_date, s.to_status, s.to_date, s.source_feed,
                      s.batch_id, s.line_no, s.own_line, sa.case((moved, 1), else_=0).label("moved"))
            .where(sa.or_(moved, s.source_feed.is_distinct_from(s.from_source)), sa.not_(silent)))


def derive(conn: Connection, people: sa.Table, feed: str, batch_id: int, auth: Authority) -> sa.Table:
    """The changes of the batch's people (`people`: aac002, line_no) into a scratch table, before the
    register takes its new people: they go in with their life status (register.reconcile._insert_new
    joins this table), instead of in at the default and rewritten (1M new dead people: a second write
    of every register row, the longest statement of the delivery).

    Keyed by aac002 for SQLite and MariaDB, whose joins look it up; PostgreSQL hashes it or walks the
    register's key for it, so an index of its own would only be written (1M people: 0.7 s)."""
    change = scratch.create(
        conn, CHANGE, sa.Column("aac002", sa.String(18)), sa.Column("known", sa.SmallInteger),
        sa.Column("from_status", STATUS), sa.Column("from_date", sa.Date), sa.Column("to_status", STATUS),
        sa.Column("to_date", sa.Date), sa.Column("source_feed", sa.String(64)), sa.Column("batch_id", BigId),
        sa.Column("line_no", sa.Integer), sa.Column("own_line", sa.Integer), sa.Column("moved", sa.SmallInteger),
        key=None if conn.dialect.name == "postgresql" else "aac002")
    changed = conn.execute(sa.insert(change).from_select([col.name for col in change.columns],
                                                         changes(people, feed, batch_id, auth, conn.dialect.name)),
                           execution_options={"preserve_rowcount": True}).rowcount
    if changed and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {CHANGE}")
    return change


def new_people(change: sa.Table, default: str, stamp) -> dict:
    """register column -> what a person new to the register starts with, read from `change` joined
    by aac002 (outer: no row there, the default and no source)."""
    c = change.c
    return {"life_status": sa.func.coalesce(c.to_status, sa.literal(default, STATUS)),
            "life_status_date": c.to_date, "life_status_source": c.source_feed, "life_status_batch": c.batch_id,
            "life_status_line": c.line_no,
            "life_status_at": sa.case((c.aac002.is_not(None), sa.literal(stamp, UtcDateTime())))}


def settle(conn: Connection, change: sa.Table, batch_id: int, stamp) -> int:
    """The changes `derive` found into the history and the register's known people (new people took
    theirs when inserted); returns how many people changed."""
    c, rg = change.c, register.c
    changed = conn.execute(sa.select(sa.func.count()).select_from(change)).scalar_one()
    if changed:
        conn.execute(sa.insert(life_status_history).from_select(
            ["aac002", "from_status", "to_status", "from_date", "effective_date", "source_feed", "batch_id",
             "line_no", "recorded_at"],
            sa.select(c.aac002, c.from_status, c.to_status, c.from_date, c.to_date, c.source_feed,
                      sa.literal(batch_id, BigId), c.own_line, sa.literal(stamp, UtcDateTime()))
            .where(c.moved == 1)))
        conn.execute(sa.update(register).values(
            life_status=c.to_status, life_status_date=c.to_date, life_status_source=c.source_feed,
            life_status_batch=c.batch_id, life_status_line=c.line_no,
            life_status_at=sa.literal(stamp, UtcDateTime()))
            .where(rg.aac002 == c.aac002, c.known == 1))
    scratch.drop(conn, CHANGE)
    return changed
