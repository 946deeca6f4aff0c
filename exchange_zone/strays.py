"""Strays: entries of a partner's inbound/ that no feed of it will ever take, set aside and answered.

connectors/names.py says what is a stray; this sets each aside unread into
inbound/rejected/ and answers it like any refused delivery: one refused batch
and one receipt per stray, named after the batch (never after the stray),
listed by `jinbao batches list`.  A stray never stops the feed.
"""
from __future__ import annotations

import logging

from jinbao import ledger
from jinbao.batch import FeedRun
from jinbao.connectors.names import classify
from jinbao.store.errors import is_transient
from jinbao.exchange_zone.finish import send
from jinbao.exchange_zone.receive import forms
from jinbao.feed_lock import FeedBusy, zone_lock
from jinbao.ledger import Refusal, Status
from jinbao.privacy import mask_text

log = logging.getLogger(__name__)

#: Strays set aside per run; more wait for the next run (the deliveries are taken first whatever).
PER_RUN = 200


def set_aside(run: FeedRun) -> list[int]:
    """Every stray of the partner's inbound/ set aside and answered; the strays' batch ids this run answered.

    Under the partner's zone lock, so that two of its feeds running at once never record or answer
    one stray twice; each stray is recorded before it is moved, so a run stopped in between finds its
    batch again (by the shown name) instead of making a second one.  One that cannot be moved stays,
    is named in the log and is tried again by the next run; at most PER_RUN per run."""
    spec = run.spec
    found_forms = forms(run)
    feeds = [f.feed for f in found_forms]
    try:
        with zone_lock(run.cfg.staging, spec.partner):
            strays = classify(run.transport.entries(), found_forms, spec.partner).strays
            with run.db.begin() as conn:
                recorded: dict[str, list[dict]] = {}
                for row in ledger.open_strays(conn, feeds):
                    recorded.setdefault(row["file_name"], []).append(row)
            found = [(s, (recorded.get(s.shown) or [None]).pop(0)) for s in strays]
            for rows in recorded.values():        # recorded, then gone: moved by a run stopped before it
                for row in rows:                  # could say so, or taken back by the partner
                    _aside_done(run, row["id"])
            for stray, row in found[:PER_RUN]:
                if not _set_aside(run, stray, row):
                    break
            if len(found) > PER_RUN:
                log.warning("%s: %s more strays in %s's inbound/ wait for the next run", spec.name,
                            len(found) - PER_RUN, spec.partner)
    except FeedBusy as exc:
        log.warning("%s: strays not set aside this run: %s", spec.name, exc)
    except Exception as exc:  # noqa: BLE001 - a stray never stops the feed
        log.warning("%s: strays not set aside this run (%s: %s); the next run tries again", spec.name,
                    type(exc).__name__, mask_text(str(exc))[:300])
    answered = []
    with run.db.begin() as conn:
        owing = ledger.strays_owing_receipt(conn, spec.name)
    for batch_id in owing:
        try:
            with run.db.begin() as conn:
                row = ledger.get(conn, batch_id)
            send(run, row, None)
        except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
            log.warning("%s: the receipt for stray batch %s was not sent (%s: %s); the next run sends it",
                        spec.name, batch_id, type(exc).__name__, mask_text(str(exc))[:300])
            if is_transient(exc):
                break
            continue
        answered.append(batch_id)
    return answered


def _set_aside(run: FeedRun, stray, row: dict | None) -> bool:
    """Record (unless a stopped run did), move, mark set aside; False when the zone cannot be reached."""
    spec = run.spec
    if row is None:
        with run.db.begin() as conn:
            batch_id = ledger.insert(conn, feed=spec.name, file_name=stray.shown, sha256=ledger.STRAY,
                                     sequence=0, business_date=ledger.today(), encoding=spec.format.encoding,
                                     status=Status.REFUSED, refusal=Refusal(stray.reason, stray.detail))
    else:
        batch_id = row["id"]
    where = f"{spec.partner}'s inbound/"
    try:
        run.transport.set_aside(stray.name)
    except FileNotFoundError:
        pass                                  # gone since it was listed: taken back by the partner
    except Exception as exc:  # noqa: BLE001 - sorted into the two kinds right here
        text = f"{type(exc).__name__}: {mask_text(str(exc))[:300]}"
        if is_transient(exc):
            log.warning("%s: setting aside %s was interrupted (%s); the next run carries on", spec.name,
                        f'"{stray.shown}"', text)
            return False
        log.error("%s: could not set aside %s (batch %s): %s. It stays in %s unread; the next run tries "
                  "again. If this repeats, move it into inbound/rejected/ by hand.", spec.name,
                  f'"{stray.shown}"', batch_id, text, where)
        return True
    _aside_done(run, batch_id)
    should = (f"{spec.partner} should send it again as {stray.expected}" if stray.expected
              else f"{spec.partner} should send it again under an agreed name")
    log.warning("%s: %s in %s is not a delivery (%s, batch %s): set aside unread into inbound/rejected/, "
                "the partner gets a receipt; %s. Nothing to do on the hub.", spec.name,
                f'"{stray.shown}"', where, stray.reason, batch_id, should)
    return True


def _aside_done(run: FeedRun, batch_id: int) -> None:
    """The stray is out of inbound/: its batch is this feed's to answer."""
    with run.db.begin() as conn:
        ledger.update(conn, batch_id, feed=run.spec.name, acked_at=ledger.now())
