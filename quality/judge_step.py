"""Judge: every record of a received batch decided, and the batch judged, held or refused.

quality.judging streams the delivery through the gate of the mapping pinned at
receipt into accepted and rejected Parquet; a manifest's count that the file
does not match refuses the delivery; then the checks that need the store run,
each declared by the package that owns it (AFTER_JUDGE), so a new one never
touches this step or the engine.  Too many rejections hold the batch for a person; so does a
column that fails one rule throughout (quality/suspect.py), before the partner hears anything.

`judge` raises what goes wrong (the engine sorts it into a refusal or a retry);
`decide` records the verdict.
"""
from __future__ import annotations

import logging
from functools import cache
from pkgutil import resolve_name
from typing import Protocol

from jinbao import ledger
from jinbao.batch import Batch, FeedRun
from jinbao.declarations import InboundFeed
from jinbao.staged.refused import DeliveryRefused
from jinbao.ledger import Outcome, Status
from jinbao.quality import judging
from jinbao.quality.data_docs import hint
from jinbao.quality.judging import Judged
from jinbao.quality.plan import rules_version
from jinbao.quality.suspect import HUB_CONFIG_SUSPECTED, suspicion
from jinbao.quality.verdict import Gate
from jinbao.schemas.store_tables import TARGETS

log = logging.getLogger(__name__)

#: The store-backed checks after the gate, in this order: each names (module:attribute) a Check defined
#: by the package that owns what it checks against.
AFTER_JUDGE = (
    "jinbao.subsidies.hooks:PAYMENTS_CHECK",     # payments against the subsidy lines they pay
)


class Check(Protocol):
    """A check of a judged batch against the store; what it fails becomes rejections, so the hold
    threshold and the receipt see them like any other."""

    def applies(self, feed: InboundFeed) -> bool: ...

    def run(self, db, batch: Batch, judged: Judged) -> Judged: ...


@cache
def after_judge() -> tuple[Check, ...]:
    return tuple(resolve_name(name) for name in AFTER_JUDGE)


def judge(run: FeedRun, batch: Batch) -> tuple[Gate, Judged]:
    """The gate's verdict on every record, after the store-backed checks; raises DeliveryRefused for a
    delivery refused whole."""
    spec, cfg = run.spec, run.cfg
    gate = judging.gate_for(spec, batch.business_date, batch.staging,
                            not_after=ledger.latest_business_date(cfg.clock_allowance, batch.received_at))
    judged = judging.judge_delivery(batch.data, batch.encoding, gate, batch.staging, cfg.gate_threads,
                                    keys=record_keys(spec), on_block=run.progress_of("judge", batch.file_name))
    declared = batch.declared_records
    if declared is not None and judged.received != declared:
        raise DeliveryRefused("COUNT_MISMATCH", f"{judged.received} records received, manifest says "
                              f"{declared}", batch.file_name)
    for check in after_judge():
        if check.applies(spec):
            judged = check.run(run.db, batch, judged)
    return gate, judged


def decide(run: FeedRun, batch: Batch, gate: Gate, judged: Judged) -> Outcome:
    """Judged, or held: as a suspected hub configuration error when a whole column fails one rule
    (quality/suspect.py: no receipt until a person answers), else when the rejected share is above the
    feed's threshold."""
    spec, batch_id = run.spec, batch.id
    share = judged.rejected / judged.received if judged.received else 0.0
    suspect = suspicion(batch.staging, judged.present, gate.mapping, spec, batch_id) if judged.rejected else None
    held = suspect is not None or share > spec.quality.max_reject_share
    reasons = ", ".join(f"{code} on {field} {n}" for code, field, n in judging.top_reasons(batch.staging))
    log.info("%s: judged %s: %s records received, %s accepted, %s rejected (%.1f%%)%s", spec.name,
             batch.file_name, judged.received, judged.accepted, judged.rejected, 100 * share,
             f"; most frequent: {reasons}" if reasons else "")
    if judged.rejected:
        log.info("%s: %s", spec.name, hint(run.cfg, spec.name, batch_id))
    message = (f"{judged.rejected} of {judged.received} records ({share:.1%}) rejected, above the feed's "
               f"threshold of {spec.quality.max_reject_share:.0%}") if held else None
    code = "HELD" if held else None
    if suspect is not None:
        log.warning("%s: batch %s (%s) held: %s", spec.name, batch_id, batch.file_name, suspect.account)
        code, message = HUB_CONFIG_SUSPECTED, suspect.account
    with run.db.begin() as conn:
        ledger.move(conn, batch_id, Status.RECEIVED, Status.HELD if held else Status.JUDGED,
                    received=judged.received, accepted=judged.accepted, rejected=judged.rejected,
                    rules_version=rules_version(gate.mapping, gate.rules), reason_code=code, message=message)
        return Outcome.of(ledger.get(conn, batch_id))


def record_keys(spec: InboundFeed) -> tuple[str, ...]:
    """The hub fields that identify a record in the target table (its key, less the declared constants)."""
    return tuple(c.name for c in TARGETS[spec.target.table].primary_key.columns if c.name not in spec.target.set)
