"""Receive: the partner's waiting deliveries taken into staging, each a batch of the ledger.

The transport (connectors/) fetches and hands over the plaintext; the ledger
refuses duplicates, replays and deliveries dated in the future; the mapping in
force on the business date is pinned beside the file, so the judge step uses
exactly those tables whenever it runs.  A delivery seen before resumes where it
stopped, and gives back its staged files if they were lost.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

from jinbao import ledger
from jinbao.batch import FeedRun, fault, transient
from jinbao.connectors.base import RemoteDelivery, sha256_of
from jinbao.connectors.names import Form, classify, shown_name
from jinbao.connectors.registry import NOT_DROP_ZONES, choice
from jinbao.declarations import OutboundFeed, declared
from jinbao.exchange_zone.envelope import COMPANIONS
from jinbao.staged.refused import DeliveryRefused
from jinbao.store.errors import is_transient
from jinbao.ledger import Refusal, Status
from jinbao.mappings.tables import MappingError, feed_mapping, pin

log = logging.getLogger(__name__)


def deliveries(run: FeedRun, up_to: dt.date | None) -> list[int]:
    """Take waiting deliveries (business date <= up_to); the batch ids taken or resumed."""
    spec = run.spec
    ids: list[int] = []
    waiting = waiting_deliveries(run, log_others=True)
    for delivery in waiting:
        if up_to and dt.datetime.strptime(delivery.business_date, "%Y%m%d").date() > up_to:
            log.info("%s: %s is for a later business day than %s; it waits", spec.name, delivery.name, up_to)
            continue
        batch_id = _take(run, delivery)
        if batch_id is not None:
            ids.append(batch_id)
    if not waiting:
        log.info("%s: no delivery waiting in %s's inbound/", spec.name, spec.partner)
    return ids


def waiting_deliveries(run: FeedRun, log_others: bool = False) -> list[RemoteDelivery]:
    """The feed's complete deliveries in its partner's inbound/, as receive would take them (also asked by
    a feed judged after this one: jinbao/feed_order.py)."""
    if not run.transport.drop_zone:
        return run.transport.list_deliveries(run.spec.name)
    inbound = classify(run.transport.entries(), forms(run), run.spec.partner)   # one classification of every entry
    if log_others:
        _log_waiting(run, inbound.waiting)
    return inbound.of(run.spec.name)


def resumed(run: FeedRun, ids: list[int]) -> list[int]:
    """`ids`, then the batches a killed run left half-way."""
    with run.db.begin() as conn:
        return ids + [i for i in ledger.unfinished(conn, run.spec.name) if i not in ids]


def forms(run: FeedRun) -> list[Form]:
    """How each inbound feed of this partner that shares this drop zone names its deliveries: this feed as
    its transport takes them, the others as declared (connectors/names.py Form)."""
    here, _ = choice(run.spec.transport, run.cfg)
    found = [Form(run.spec.name, bool(run.transport.companions), tuple(run.transport.companions))]
    feeds = declared(run.cfg)
    for spec in feeds.feeds.values():
        if spec.partner != run.spec.partner or isinstance(spec, OutboundFeed) or spec.name == run.spec.name:
            continue
        kind, envelope = choice(spec.transport, run.cfg)
        if kind != here or kind in NOT_DROP_ZONES:
            continue
        found.append(Form(spec.name, envelope == "cms", COMPANIONS if envelope == "cms" else ()))
    # A feed of this partner whose declaration is broken (named partner.feed by convention): its deliveries
    # wait for the fix, never set aside as strays and answered to the partner for a mistake of the hub.
    sealed = found[0].sealed
    found += [Form(name, sealed, found[0].companions) for name in feeds.broken
              if name.split(".")[0] == run.spec.partner and name != run.spec.name]
    return found


#: A header-only delivery is small: a larger file holds records whatever its lines say.
_HEADER_ONLY_MAX = 64 * 1024


def _records(opened, plain: Path) -> int | None:
    """0 for a delivery that holds the header alone, else its declared count or None (not counted here:
    the judge counts them, and a big file is not read twice)."""
    if opened is not None and opened.declared_records is not None:
        return opened.declared_records
    path = opened.data if opened is not None else plain
    try:
        if path.stat().st_size > _HEADER_ONLY_MAX:
            return None
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError:
        return None
    return 0 if len(lines) <= 1 else None


def _take(run: FeedRun, delivery: RemoteDelivery) -> int | None:
    spec, cfg = run.spec, run.cfg
    incoming = cfg.staging / spec.name / f"incoming-{delivery.name}"
    shutil.rmtree(incoming, ignore_errors=True)  # a partial earlier download is discarded
    refusal, opened = None, None
    try:
        opened = run.transport.open(delivery, incoming)
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
    refusal = ledger.future_business_date(business_date, cfg.clock_allowance) or refusal
    try:
        mapping = feed_mapping(spec.mapping, business_date)
    except MappingError as exc:
        refusal = refusal or Refusal("NO_MAPPING", str(exc))
        mapping = None
    if mapping is not None and refusal is None:
        pin(mapping, incoming)           # judged later with exactly these tables
    with run.db.begin() as conn:
        same = ledger.find_same(conn, spec.name, delivery.name, digest)
        if same is not None and same["acked_at"] is not None:   # finished earlier: this is a resend
            refusal = refusal or Refusal("ALREADY_TAKEN", f"identical to batch {same['id']}, which was "
                                         f"{same['status']}; nothing new was published")
        elif same is not None:    # seen before: carry on where it stopped (a held batch waits for a person)
            _restore(run, same, incoming)
            return None if same["status"] == Status.HELD else same["id"]
        refusal = refusal or ledger.admission(conn, spec.name, digest, delivery.sequence,
                                              records=_records(opened, incoming / delivery.name))
        batch_id = ledger.insert(
            conn, feed=spec.name, file_name=delivery.name, sha256=digest, sequence=delivery.sequence,
            business_date=business_date,
            encoding=opened.encoding if opened is not None and opened.encoding else spec.format.encoding,
            mapping_version=mapping.label if mapping is not None else None,
            status=Status.RECEIVED if refusal is None else Status.REFUSED, refusal=refusal,
            data_file=opened.data.name if opened else None,
            declared_records=opened.declared_records if opened else None)
        final = cfg.staging / spec.name / str(batch_id)
        ledger.update(conn, batch_id, staging_dir=str(final))   # with the row: a resume always finds it
    shutil.rmtree(final, ignore_errors=True)
    os.replace(incoming, final)
    if refusal is None:
        log.info("%s: took %s as batch %s (mapping %s)", spec.name, delivery.name, batch_id, mapping.label)
    else:
        log.warning("%s: refusing %s as batch %s (%s: %s)", spec.name, delivery.name, batch_id, refusal.code,
                    refusal.detail)
    return batch_id


def _restore(run: FeedRun, row: dict, incoming: Path) -> None:
    """A resumed batch whose staged files are gone (killed before they were moved in place, a lost
    volume) gets the copy just fetched; one that was judged from them is judged again."""
    staging = Path(row["staging_dir"]) if row["staging_dir"] else None
    lost = staging is None or not (staging / (row["data_file"] or row["file_name"])).is_file()
    if lost and row["status"] in (Status.RECEIVED, Status.JUDGED, Status.REFUSED) and staging is not None \
            and staging.parent == run.cfg.staging / run.spec.name:
        shutil.rmtree(staging, ignore_errors=True)
        os.replace(incoming, staging)
        if row["status"] == Status.JUDGED:
            with run.db.begin() as conn:
                ledger.move(conn, row["id"], Status.JUDGED, Status.RECEIVED)
        log.warning("%s: batch %s had lost its staged files; fetched again from inbound/", run.spec.name,
                    row["id"])
    else:
        shutil.rmtree(incoming, ignore_errors=True)


def _log_waiting(run: FeedRun, waiting: list[tuple[str, str]]) -> None:
    if waiting:
        shown = "; ".join(f'"{shown_name(name)}" ({why})' for name, why in waiting[:10])
        log.info("%s: %s entr%s of %s's inbound/ wait%s: %s%s", run.spec.name, len(waiting),
                 "y" if len(waiting) == 1 else "ies", run.spec.partner, "s" if len(waiting) == 1 else "",
                 shown, f"; and {len(waiting) - 10} more" if len(waiting) > 10 else "")
