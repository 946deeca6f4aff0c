"""Reconciling one published batch into the register, as a few set operations in the store.

The batch's accepted records (one per person, the last line wins) become a
temporary `offer` table.  One INSERT ... SELECT joins it with the register
and decides, per field, whether the offer *takes* the field (the feed is at
least as authoritative as the one holding it, and the value or holder
differs) or *clashes* with it (outranked and different).  Everything else
reads that small `decision` table: replaced values go to register_history
(a holder confirming the same value moves the field's provenance, not its history),
new people and taken fields to the register.  What outranked feeds say is kept
per person and field (source_value), and the conflicts of the batch's people
are derived from it against the values in force.  A feed's value is kept there
only while a more trusted feed holds the field: the register holds it otherwise,
and moves it to source_value the moment a more trusted feed takes the field (a
death feed's million new people: no three million rows saying what the register
already says).

Idempotent: a batch that already set a value takes nothing the second time
(same value, same holder), and derived conflicts come out the same.  Order-safe:
a feed's value set by a newer batch of that feed is never taken back by an older
one published late (a released held batch), in the register or in source_value.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.staged.layout import ACCEPTED
from jinbao.register.authority import Authority, authority
from jinbao.register import life
from jinbao.schemas.store_tables import (
    REGISTER_FIELDS, BigId, UtcDateTime, batch, conflict, register, register_history, source_value,
)
from jinbao.staged.key_order import key_order, last_of_each_key
from jinbao.staged.parquet import read_staged
from jinbao.store import scratch

OFFER, DECISION, CANDIDATE = "register_batch_offer", "register_decision", "register_candidate"
ID_TYPE = sa.String(18)
TEXT = sa.String(200)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Offered:
    """What one batch brings to the register."""
    feed: str
    batch_id: int
    business_date: dt.date
    sequence: int
    stamp: dt.datetime


@dataclass(frozen=True)
class Reconciled:
    people: int          # distinct people in the batch
    new: int             # of them, new to the register
    taken: int           # fields set or changed
    conflicts: int       # conflict rows opened or changed
    lives: int = 0       # people whose life status (or its date or source) changed


#: A batch with more accepted records than this reaches the offer table in chunks (PostgreSQL), so memory
#: depends on the chunk, not the delivery; the store then keeps each person's last line and sorts.
OFFERS_IN_MEMORY = 2_000_000
#: Records per chunk on that path.
OFFER_CHUNK = 250_000


def _offered_columns(accepted: Path, columns: list[str]) -> list[str]:
    have = set(pq.read_schema(accepted).names)
    wanted = ["AAC002", "line_no", *[c.upper() for c in columns if c.upper() in have]]
    return [c for c in wanted if c in have]


def _as_offers(data: pa.Table, unknown: dict | None) -> pa.Table:
    """Lower-case names; a value that means "not known" is no offer."""
    data = data.rename_columns([c.lower() if c != "line_no" else c for c in data.column_names])
    for column, values in (unknown or {}).items():
        if column in data.column_names:
            col = data.column(column)
            said = pc.is_in(col, value_set=pa.array(values, col.type))
            data = data.set_column(data.column_names.index(column), column,
                                   pc.if_else(said, pa.nulls(len(col), col.type), col))
    return data


def offers(accepted: Path, columns: list[str], unknown: dict | None = None) -> pa.Table:
    """The batch's people and the register fields it offers: one row per person, the last line wins
    (a roll lists a person once per month paid); a value that means "not known" is no offer.

    Always the columns aac002, line_no and every offered field the file holds, whatever its rows: a batch
    whose every record was rejected (no rows, or no columns beyond line_no) offers nobody, and is no error."""
    wanted = _offered_columns(accepted, columns)
    data = pq.read_table(accepted, columns=wanted)
    if "AAC002" not in wanted:   # no well-formed record at all: the file holds line_no only
        data = data.slice(0, 0).add_column(0, "AAC002", pa.array([], pa.string()))
    if "line_no" not in data.column_names:
        data = data.slice(0, 0).append_column("line_no", pa.array([], pa.int64()))
    data = _as_offers(data, unknown)
    if data.num_rows == 0:
        return data
    # in key order: the store then walks the register's primary key in order, page after page.
    # Lines ascending within a person (a stable sort of a file in line order), so the last line is
    # the last of each run of the same ID.
    lines = data.column("line_no").combine_chunks()
    in_order = len(lines) < 2 or pc.all(pc.greater(lines.slice(1), lines.slice(0, len(lines) - 1))).as_py()
    keys = [("aac002", "ascending")] + ([] if in_order else [("line_no", "ascending")])
    data = data.take(pc.sort_indices(data, keys))
    return last_of_each_key(data.filter(pc.is_valid(data.column("aac002"))), ["aac002"])


def newer_batches(conn: Connection, o: Offered) -> list[int]:
    """Published batches of the same feed that are newer than this one: their values stay."""
    later = sa.or_(batch.c.business_date > o.business_date,
                   sa.and_(batch.c.business_date == o.business_date, batch.c.sequence > o.sequence))
    return list(conn.execute(sa.select(batch.c.id).where(batch.c.feed == o.feed, batch.c.status == "published",
                                                         later)).scalars())


#: pg_advisory_xact_lock key of register reconciliation ("jinbao" "rg" in ASCII).
REGISTER_LOCK_KEY = 0x6A696E62616F7267


def _one_at_a_time(conn: Connection) -> None:
    """Batches of different feeds publish at the same time (one DAG each); two that both bring a new
    person would both insert them, and the second would fail on the key.  So reconciliation takes a
    lock held until the publish transaction ends: PostgreSQL's advisory transaction lock; on MariaDB
    the row lock of the store's one-row alembic_version table (GET_LOCK is per session and would be
    released before the commit); SQLite has one writer at a time anyway."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTER_LOCK_KEY})
    elif dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql("SELECT version_num FROM alembic_version FOR UPDATE").all()


def _text(col):
    return sa.cast(col, TEXT)


def reconcile(conn: Connection, accepted: Path, o: Offered, auth: Authority | None = None) -> Reconciled:
    """Reconcile the batch's accepted records (staged Parquet) into the register, in `conn`'s transaction."""
    auth = auth or authority()
    _one_at_a_time(conn)
    fields = auth.offers(o.feed)
    if conn.dialect.name == "postgresql":
        # a big batch's hash joins in memory; no JIT compiling of the long CASEs (0.7 s, saves nothing)
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
    wanted = _offered_columns(accepted, fields)
    fields = [f for f in fields if f.upper() in wanted]
    columns = [sa.Column("aac002", ID_TYPE), sa.Column("line_no", sa.Integer),
               *[sa.Column(f, REGISTER_FIELDS[f]) for f in fields]]
    if conn.dialect.name == "postgresql" and "AAC002" in wanted \
            and pq.ParquetFile(accepted).metadata.num_rows > OFFERS_IN_MEMORY:
        offer = scratch.create(conn, OFFER, *columns)
        people = _fill_in_chunks(conn, offer, accepted, wanted, fields, auth.unknown)
    else:
        data = offers(accepted, fields, auth.unknown)
        offer = scratch.create(conn, OFFER, *columns)
        scratch.fill(conn, offer, data.select(["aac002", "line_no", *fields]))
        people = data.num_rows
        del data
    # a batch under a third of the register: looking its people up by key, in key order, beats reading
    # the whole register for a hash join (1M into 10M: 4.3 s instead of 9 s), which the planner does not see
    walk = conn.dialect.name == "postgresql" and scratch.small_against(conn, "register", people)
    if walk:
        _join_by_key(conn, True)
    newer = newer_batches(conn, o)
    stamp = sa.literal(o.stamp, UtcDateTime())
    _remember_offers(conn, offer, people, fields, o, auth, newer, stamp)
    decision = _decide(conn, offer, fields, o, auth, newer, analyze=not walk)
    _remember_displaced(conn, decision, fields, o, stamp)
    feed, batch_id = sa.literal(o.feed, sa.String(64)), sa.literal(o.batch_id, BigId)
    # a death feed's life statuses derived before its new people go in, so they go in with theirs
    change = life.derive(conn, offer, o.feed, o.batch_id, auth) if o.feed in auth.deaths else None

    new = _insert_new(conn, offer, people, fields, feed, batch_id, stamp, auth.default, change, o.stamp)
    for f in fields:
        conn.execute(sa.insert(register_history).from_select(
            ["aac002", "field", "value", "source_feed", "batch_id", "line_no", "set_at", "replaced_by_batch",
             "replaced_at"],
            sa.select(decision.c.aac002, sa.literal(f, sa.String(32)), _text(decision.c[f"h_{f}"]),
                      decision.c[f"h_{f}_source"], decision.c[f"h_{f}_batch"], decision.c[f"h_{f}_line"],
                      decision.c[f"h_{f}_at"], batch_id, stamp)
            .where(decision.c[f"take_{f}"] == 1, decision.c[f"h_{f}"].is_not(None),
                   decision.c[f"h_{f}"] != decision.c[f])))
    taken = _update_known(conn, decision, fields, feed, batch_id, stamp)
    changed = _conflicts(conn, decision, fields, stamp)
    lives = life.settle(conn, change, o.batch_id, o.stamp) if change is not None else 0
    scratch.drop(conn, DECISION)
    scratch.drop(conn, OFFER)
    if walk:
        _join_by_key(conn, False)
    return Reconciled(people=people, new=new, taken=taken, conflicts=changed, lives=lives)


def _fill_in_chunks(conn: Connection, offer: sa.Table, accepted: Path, wanted: list[str], fields: list[str],
                    unknown: dict | None) -> int:
    """A large batch's offers (PostgreSQL): every accepted line COPYed into a raw table chunk by chunk,
    then each person's last line into `offer`, in key order (one sort in the store); returns the people.
    A file the judge step sorted by AAC002 (one line per person: jinbao/staged/key_order.py) goes
    straight into `offer`, already in order."""
    names = ["aac002", "line_no", *fields]
    if key_order(accepted) == ["AAC002"]:
        people = 0
        for chunk in read_staged(accepted).iter_batches(batch_size=OFFER_CHUNK, columns=wanted):
            data = _as_offers(pa.Table.from_batches([chunk]), unknown).select(names)
            people += scratch.load(conn, offer, data.filter(pc.is_valid(data.column("aac002"))))
        conn.exec_driver_sql(f"ANALYZE {offer.name}")
        return people
    raw = scratch.create(conn, OFFER + "_raw", *[sa.Column(c.name, c.type) for c in offer.columns])
    for chunk in read_staged(accepted).iter_batches(batch_size=OFFER_CHUNK, columns=wanted):
        scratch.load(conn, raw, _as_offers(pa.Table.from_batches([chunk]), unknown).select(names))
    listed = ", ".join(names)
    # IDs are ASCII: sorted byte by byte ("C"), twice as fast as by the default collation, same order
    people = conn.exec_driver_sql(
        f"INSERT INTO {offer.name} ({listed}) SELECT DISTINCT ON (aac002 COLLATE \"C\") {listed} FROM {raw.name} "
        "WHERE aac002 IS NOT NULL ORDER BY aac002 COLLATE \"C\", line_no DESC").rowcount
    scratch.drop(conn, raw.name)
    conn.exec_driver_sql(f"ANALYZE {offer.name}")
    return people


def _rank_of(auth: Authority, field: str, feed) -> sa.ColumnElement:
    """Authority.rank of the feed in the column `feed`, in the store: 0 for the field's most authoritative
    feed; an unlisted feed or none (NULL) ranks below every listed one."""
    feeds = auth.fields[field]
    return sa.case({name: i for i, name in enumerate(feeds)}, value=feed, else_=len(feeds))


def _decide(conn: Connection, offer: sa.Table, fields: list[str], o: Offered, auth: Authority,
            newer: list[int], analyze: bool = True) -> sa.Table:
    """Per person the register knows, and field: held value and holder, take (1/0), clash (1/0).

    Only people with something to do are kept: those with a field to take or a clash, and those this
    feed has an open conflict about (it may now agree).  A daily delivery mostly repeats what the
    register holds, so every later statement reads a fraction of the batch.  People new to the
    register are not here: they are inserted straight from the narrow offer table (_insert_new), not
    through this wide one (1M new people: 2.6 s instead of 4.7 s).
    """
    r = register.c
    cols = [sa.Column("aac002", ID_TYPE), sa.Column("line_no", sa.Integer)]
    exprs = [offer.c.aac002, offer.c.line_no]
    work = []
    for f in fields:
        kind = REGISTER_FIELDS[f]
        cols += [sa.Column(f, kind), sa.Column(f"h_{f}", kind), sa.Column(f"h_{f}_source", sa.String(64)),
                 sa.Column(f"h_{f}_batch", BigId), sa.Column(f"h_{f}_line", sa.Integer),
                 sa.Column(f"h_{f}_at", UtcDateTime()), sa.Column(f"take_{f}", sa.SmallInteger),
                 sa.Column(f"clash_{f}", sa.SmallInteger)]
        offered, held, holder = offer.c[f], r[f], r[f"{f}_source"]
        held_rank = _rank_of(auth, f, holder)
        mine = auth.rank(f, o.feed)
        wins = sa.or_(holder.is_(None), held_rank > mine,
                      sa.and_(holder == o.feed, r[f"{f}_batch"].not_in(newer) if newer else sa.true()))
        differs = sa.or_(held.is_(None), held != offered, holder != o.feed)
        take = sa.and_(offered.is_not(None), wins, differs)
        # outranked and different; a feed's own older batch is superseded, not in conflict with itself
        clash = sa.and_(offered.is_not(None), held.is_not(None), held != offered, sa.not_(wins), holder != o.feed)
        exprs += [offered, held, holder, r[f"{f}_batch"], r[f"{f}_line"], r[f"{f}_at"],
                  sa.case((take, 1), else_=0), sa.case((clash, 1), else_=0)]
        work += [take, clash]
    disputed = sa.select(conflict.c.aac002).where(conflict.c.offered_source == o.feed, conflict.c.resolved_at.is_(None))
    decision = scratch.create(conn, DECISION, *cols)
    conn.execute(sa.insert(decision).from_select(
        [c.name for c in cols],
        sa.select(*exprs).select_from(offer.join(register, register.c.aac002 == offer.c.aac002))
        .where(sa.or_(*work, offer.c.aac002.in_(disputed)))))
    if analyze and conn.dialect.name == "postgresql":   # walking by key, the plans need no statistics
        conn.exec_driver_sql(f"ANALYZE {DECISION}")
    return decision


def _join_by_key(conn: Connection, on: bool) -> None:
    """Joins with the register by looking up its primary key (not hashing or merging whole tables)
    while on; back to the planner's choice for the rest of the publish transaction."""
    for setting in ("enable_hashjoin", "enable_mergejoin"):
        conn.exec_driver_sql(f"SET LOCAL {setting} = {'off' if on else 'on'}")


def _insert_new(conn, offer: sa.Table, people: int, fields: list[str], feed, batch_id, stamp, status: str,
                change: sa.Table | None = None, at: dt.datetime | None = None) -> int:
    """The offered people the register does not know yet, with every field they bring and, from a death
    feed's `change` (jinbao/register/life.py), their life status (offer is in key order, so the
    register's key index is written page after page)."""
    o = offer.c
    names, exprs = ["aac002"], [o.aac002]
    source = offer
    if change is None:
        names, exprs = [*names, "life_status"], [*exprs, sa.literal(status, sa.String(16))]
    else:
        lives = life.new_people(change, status, at)
        names, exprs = [*names, *lives], [*exprs, *lives.values()]
        source = offer.outerjoin(change, change.c.aac002 == o.aac002)
    for f in fields:
        given = o[f].is_not(None)
        names += [f, f"{f}_source", f"{f}_batch", f"{f}_line", f"{f}_at"]
        exprs += [o[f], sa.case((given, feed)), sa.case((given, batch_id)), sa.case((given, o.line_no)),
                  sa.case((given, stamp))]
    known = sa.select(sa.literal(1)).select_from(register).where(register.c.aac002 == o.aac002).exists()
    with scratch.filling_what_it_checks(conn, "register", people):
        return conn.execute(sa.insert(register).from_select(names, sa.select(*exprs).select_from(source)
                                                            .where(sa.not_(known))),
                            execution_options={"preserve_rowcount": True}).rowcount


def _update_known(conn, decision: sa.Table, fields: list[str], feed, batch_id, stamp) -> int:
    if not fields:
        return 0
    d = decision.c
    values = {}
    for f in fields:
        take = d[f"take_{f}"] == 1
        values.update({
            f: sa.case((take, d[f]), else_=register.c[f]),
            f"{f}_source": sa.case((take, feed), else_=register.c[f"{f}_source"]),
            f"{f}_batch": sa.case((take, batch_id), else_=register.c[f"{f}_batch"]),
            f"{f}_line": sa.case((take, d.line_no), else_=register.c[f"{f}_line"]),
            f"{f}_at": sa.case((take, stamp), else_=register.c[f"{f}_at"]),
        })
    any_take = sa.or_(*[d[f"take_{f}"] == 1 for f in fields])
    taken = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(sum(d[f"take_{f}"] for f in fields)), 0))
                         ).scalar_one()
    conn.execute(sa.update(register).values(values)
                 .where(register.c.aac002 == d.aac002, any_take))
    return int(taken) + 0


def _remember_offers(conn, offer: sa.Table, people: int, fields: list[str], o: Offered, auth: Authority,
                     newer: list[int], stamp) -> None:
    """What an outranked feed says now, per person and field, whether or not it agrees today: when the
    value in force changes, a feed that agreed may disagree, and its conflict is derived from this.
    Kept only where a more trusted feed holds the field now: where this feed holds it or takes it, the
    register says it (_remember_displaced moves it here once a more trusted feed takes the field).
    The most authoritative feed of a field is never outranked, so its values are never kept twice."""
    sv, r = source_value.c, register.c
    feed, batch_id = sa.literal(o.feed, sa.String(64)), sa.literal(o.batch_id, BigId)
    for f in fields:
        mine = auth.rank(f, o.feed)
        if mine == 0:
            continue
        outranked = sa.select(sa.literal(1)).select_from(register).where(
            r.aac002 == offer.c.aac002, _rank_of(auth, f, r[f"{f}_source"]) < mine).exists()
        value = _text(offer.c[f])
        key = sa.and_(sv.aac002 == offer.c.aac002, sv.field == f, sv.source_feed == o.feed)
        conn.execute(sa.update(source_value).values(value=value, batch_id=batch_id, line_no=offer.c.line_no,
                                                    seen_at=stamp)
                     .where(key, offer.c[f].is_not(None), sv.value != value,
                            sv.batch_id.not_in(newer) if newer else sa.true()))
        with scratch.filling_what_it_checks(conn, "source_value", people):
            conn.execute(sa.insert(source_value).from_select(
                ["aac002", "field", "source_feed", "value", "batch_id", "line_no", "seen_at"],
                sa.select(offer.c.aac002, sa.literal(f, sa.String(32)), feed, value, batch_id, offer.c.line_no, stamp)
                .where(offer.c[f].is_not(None), outranked,
                       sa.not_(sa.select(sa.literal(1)).select_from(source_value).where(key).exists()))))


def _remember_displaced(conn, decision: sa.Table, fields: list[str], o: Offered, stamp) -> None:
    """The values this batch takes from another feed: what that feed said (value, batch, line, when it
    was set) is from now on an outranked feed's word, kept in source_value like any other, so that its
    conflict is derived as if it had been outranked from the start (the same conflicts whatever order
    the feeds came in)."""
    sv, d = source_value.c, decision.c
    for f in fields:
        holder = d[f"h_{f}_source"]
        displaced = sa.and_(d[f"take_{f}"] == 1, d[f"h_{f}"].is_not(None), holder.is_not(None), holder != o.feed)
        key = sa.and_(sv.aac002 == d.aac002, sv.field == f, sv.source_feed == holder)
        said = {"value": _text(d[f"h_{f}"]), "batch_id": d[f"h_{f}_batch"], "line_no": d[f"h_{f}_line"],
                "seen_at": sa.func.coalesce(d[f"h_{f}_at"], stamp)}
        conn.execute(sa.update(source_value).values(said).where(key, displaced))
        conn.execute(sa.insert(source_value).from_select(
            ["aac002", "field", "source_feed", *said],
            sa.select(d.aac002, sa.literal(f, sa.String(32)), holder, *said.values())
            .where(displaced, sa.not_(sa.select(sa.literal(1)).select_from(source_value).where(key).exists()))))


def _conflicts(conn, decision: sa.Table, fields: list[str], stamp) -> int:
    """Conflicts of the batch's people on the fields it offers, derived from what each outranked feed
    says now (source_value) against the value in force: opened, changed, reopened or resolved.

    Derived, not accumulated: whatever order the feeds' batches arrive in, and however often one is
    reconciled again, the conflicts are the same.
    """
    d, sv, r = decision.c, source_value.c, register.c
    cand = scratch.create(
        conn, CANDIDATE, sa.Column("aac002", ID_TYPE), sa.Column("field", sa.String(32)),
        sa.Column("offered_source", sa.String(64)), sa.Column("value_offered", TEXT),
        sa.Column("offered_batch", BigId), sa.Column("value_held", TEXT), sa.Column("held_source", sa.String(64)),
        sa.Column("held_batch", BigId))
    names = [c.name for c in cand.columns]
    for f in fields:
        held = _text(r[f])
        conn.execute(sa.insert(cand).from_select(names, sa.select(
            sv.aac002, sa.literal(f, sa.String(32)), sv.source_feed, sv.value, sv.batch_id, held, r[f"{f}_source"],
            r[f"{f}_batch"])
            .select_from(source_value.join(decision, d.aac002 == sv.aac002).join(register, r.aac002 == sv.aac002))
            .where(sv.field == f, r[f].is_not(None), sv.source_feed != r[f"{f}_source"], sv.value != held)))
    k, c = cand.c, conflict.c
    key = sa.and_(c.aac002 == k.aac002, c.field == k.field, c.offered_source == k.offered_source)
    changed = conn.execute(sa.update(conflict).values(
        value_offered=k.value_offered, offered_batch=k.offered_batch, value_held=k.value_held,
        held_source=k.held_source, held_batch=k.held_batch, last_seen=stamp, resolved_at=None)
        .where(key, sa.or_(c.resolved_at.is_not(None), c.value_offered != k.value_offered,
                           c.value_held != k.value_held, c.held_source != k.held_source))).rowcount
    opened = conn.execute(sa.insert(conflict).from_select(
        [*names, "first_seen", "last_seen"],
        sa.select(*[k[n] for n in names], stamp, stamp)
        .where(sa.not_(sa.select(sa.literal(1)).select_from(conflict).where(key).exists()))),
        execution_options={"preserve_rowcount": True}).rowcount
    wanted = sa.select(sa.literal(1)).select_from(cand).where(
        k.aac002 == c.aac002, k.field == c.field, k.offered_source == c.offered_source).exists()
    resolved = conn.execute(sa.update(conflict).values(resolved_at=stamp, last_seen=stamp).where(
        c.resolved_at.is_(None), c.field.in_(fields), c.aac002.in_(sa.select(d.aac002)), sa.not_(wanted))).rowcount
    scratch.drop(conn, CANDIDATE)
    return changed + opened + resolved


class _Register:
    """jinbao/store/consumers.py IN_PUBLISH: the batch's accepted records reconciled into the register,
    for the feeds that take part in it (schemas/register.yaml)."""

    def applies(self, feed) -> bool:
        return authority().takes_part(feed.name)

    def run(self, conn: Connection, batch, published: int, stamp: dt.datetime) -> None:
        done = reconcile(conn, batch.staging / ACCEPTED, Offered(batch.feed.name, batch.id, batch.business_date,
                                                                 batch.sequence, stamp))
        log.info("%s: register: %s people (%s new), %s fields set, %s conflicts opened or changed, "
                 "%s life statuses changed", batch.feed.name, done.people, done.new, done.taken,
                 done.conflicts, done.lives)


REGISTER = _Register()
