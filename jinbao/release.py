"""Releasing a held batch, one way for the CLI (`jinbao batches release`) and the Airflow release DAG.

A person reviewed the receipt of a batch held for too many rejections and
lets it through: it is published exactly as it was judged (rejected records
stay rejected), the partner gets an updated receipt, and the delivery leaves
inbound/.
"""
from __future__ import annotations

import logging

from jinbao import ledger
from jinbao.declarations import get_feed
from jinbao.engine import Engine
from jinbao.ledger import Outcome, Status
from jinbao.settings import Settings, load_settings
from jinbao.store.database import upgrade

log = logging.getLogger(__name__)


class NotHeld(RuntimeError):
    """Only a held batch can be released."""


def release_batch(batch_id: int, cfg: Settings | None = None) -> Outcome:
    cfg = cfg or load_settings()
    with upgrade(cfg.store_url).begin() as conn:
        row = ledger.get(conn, batch_id)
    if row["status"] != Status.HELD:
        raise NotHeld(f"batch {batch_id} ({row['file_name']}) is {row['status']}, not held; nothing to release")
    eng = Engine(get_feed(row["feed"], cfg), cfg)
    try:
        eng.publish(batch_id, released=True)
        outcome = eng.finish(batch_id)
    finally:
        eng.close()
    log.info("released batch %s (%s): published %s of %s records; the partner has an updated receipt",
             batch_id, row["file_name"], outcome.published, outcome.received)
    return outcome
