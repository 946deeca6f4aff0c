"""What runs inside a batch's publish transaction, after its rows: one list, in order.

Each consumer is defined by the package that owns what it writes, and says from
the feed's declaration whether it applies; the publish step (publish_step.py)
runs those that do, in IN_PUBLISH's order, in the transaction that marks the
batch published, so all of it commits with the rows or none of it does.  Adding
one is its definition plus one line here, never the engine.
"""
from __future__ import annotations

import datetime as dt
from functools import cache
from pkgutil import resolve_name
from typing import Protocol

from sqlalchemy.engine import Connection

from jinbao.batch import Batch
from jinbao.declarations import InboundFeed

#: module:attribute of each consumer, in the order they run.
IN_PUBLISH = (
    "jinbao.store.publish:REJECTIONS",           # every failed field of the delivery
    "jinbao.audit.evidence:EVIDENCE",            # rejected deaths and roll rows, kept as the audit's evidence
    "jinbao.register.reconcile:REGISTER",        # the register, for the feeds that take part in it
    "jinbao.connectors.frontend_db:WATERMARK",   # the front-end rows taken, for a feed pulled from one
    "jinbao.subsidies.hooks:LINES",              # subsidy payments settled, lines recomputed
)


class Consumer(Protocol):
    def applies(self, feed: InboundFeed) -> bool: ...

    def run(self, conn: Connection, batch: Batch, published: int, stamp: dt.datetime) -> None:
        """`published`: the rows the batch wrote; `stamp`: its publish time, as written with them."""


@cache
def in_publish() -> tuple[Consumer, ...]:
    return tuple(resolve_name(name) for name in IN_PUBLISH)


def run_all(conn: Connection, batch: Batch, published: int, stamp: dt.datetime) -> None:
    for consumer in in_publish():
        if consumer.applies(batch.feed):
            consumer.run(conn, batch, published, stamp)
