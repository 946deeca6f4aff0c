"""The hub's data as Airflow assets, so that the Assets view draws the hub's real graph and the
reports and outbound feeds run when what they read was published.

One asset per store table a feed publishes into and one for the person register.  An inbound feed's
`publish` task declares as outlets its target table and, when the feed takes part in the register
(jinbao/register/authority.py, the same test as the REGISTER consumer in jinbao/store/consumers.py),
the register: a successful publish is an asset event, one per batch.  The auditors' report and each
outbound feed are scheduled on "any of the tables I read was updated, or my calendar slot"
(AssetOrTimeSchedule), so a correction published mid-month reaches them without waiting for the
calendar, and the calendar still runs them when nothing came.

Names: `jinbao.store.<table>` (the name the UI shows and searches), URI `x-jinbao://store/<table>`
(an `x-` scheme: Airflow leaves it as written and no provider claims it), group `jinbao store`.
"""
from __future__ import annotations

import functools

from airflow.sdk import Asset, AssetAny, AssetOrTimeSchedule

from jinbao.declarations import InboundFeed, OutboundFeed
from jinbao.outbound.catalog import READS
from jinbao.register.authority import authority
from schedules import timetable

#: The register is an asset like a table: the feeds that take part in it write it, reports read it.
REGISTER = "register"
#: What the auditors' death-mismatch report reads (jinbao/audit/deaths.py).
AUDIT_READS = ("death_record", "pension_payment", REGISTER)


def store(table: str) -> Asset:
    return Asset(name=f"jinbao.store.{table}", uri=f"x-jinbao://store/{table}", group="jinbao store")


@functools.cache
def _register_feeds() -> frozenset[str]:
    return frozenset(authority().feeds())


def written_by(spec: InboundFeed) -> list[Asset]:
    """What a successful publish of `spec` updated: its target table, and the register if it takes part."""
    return [store(spec.target.table)] + ([store(REGISTER)] if spec.name in _register_feeds() else [])


def reads(spec: OutboundFeed) -> tuple[str, ...]:
    return READS[spec.query]


def fed_or_calendar(cron: str, tables) -> AssetOrTimeSchedule:
    """Run when any of `tables` was updated, and at the cron slot (China Standard Time) anyway."""
    return AssetOrTimeSchedule(timetable=timetable(cron), assets=AssetAny(*(store(t) for t in tables)))
