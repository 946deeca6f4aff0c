"""A column that fails one rule for (nearly) every record holding a value: the hub's mistake until shown otherwise.

A partner's data fails record by record; a whole column failing the same rule (every date refused by a
`date_format` that does not match the agreement, every code of a common value missing from a table, every
value outside a declared range with a typo in its bound) is almost always the hub's own configuration.
Sending the partner a receipt with a complaint per record would blame them for it, so the batch is held
for a person before any receipt goes out (exchange_zone/finish.py sends none while it is held for this),
who fixes the mapping, code table or declaration and has it judged again (`jinbao batches rejudge`), or,
if the partner really sent this, releases or refuses it; the partner hears only the outcome.

The rule: in a delivery with at least MIN_VALUES records holding a value in a column, at least SHARE of
those values fail the same rule.  REQUIRED is not counted (an empty column is no value to judge), nor
what the reader refuses line by line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from jinbao.mappings import tables as mapping_tables      # FEEDS_DIR, CODES_DIR read when used: tests move them
from jinbao.mappings.tables import FeedMapping, date_layout
from jinbao.schemas import dictionary          # PARTNERS_DIR read when used, as the mapping folders
from jinbao.staged.layout import REJECTED

#: At least this share of a column's values failing one rule makes it a suspected configuration error.
SHARE = 0.9
#: ... in a delivery where at least this many records hold a value in the column (a handful of bad
#: records is the partner's).
MIN_VALUES = 10
#: Rules that say nothing about a column's values.
NOT_COUNTED = {"REQUIRED"}
#: The batch-level reason code of such a hold (quality/reasons.py BATCH_REASONS).
HUB_CONFIG_SUSPECTED = "HUB_CONFIG_SUSPECTED"


@dataclass(frozen=True)
class Suspicion:
    """The column, the rule and how many of its values failed it; `account` is the operator's text, `check`
    its part saying what to look at (a sample judged with `jinbao feeds check --sample` prints only that)."""

    field: str
    reason: str
    failed: int
    present: int
    account: str
    check: str


def suspicion(staging: Path, present: dict[str, int], mapping: FeedMapping, spec,
              batch_id: int | None = None) -> Suspicion | None:
    """The worst column of a judged delivery that fails one rule for at least SHARE of its values, or None.

    `present`: records holding a value per partner column (quality.judging.Judged.present); `mapping`: the
    one it was judged under; `spec`: the feed's declaration (its mapping's name, file and declared rules)."""
    table = pq.read_table(staging / REJECTED, columns=["reason_code", "field"])
    if table.num_rows == 0:
        return None
    counts = table.group_by(["reason_code", "field"]).aggregate([("reason_code", "count")])
    worst = None
    for reason, field, n in zip(counts["reason_code"].to_pylist(), counts["field"].to_pylist(),
                                counts["reason_code_count"].to_pylist()):
        values = present.get(field, 0)
        if reason in NOT_COUNTED or values < MIN_VALUES or n < SHARE * values:
            continue
        if worst is None or n > worst[2]:
            worst = (reason, field, n, values)
    if worst is None:
        return None
    reason, field, n, values = worst
    sent = _most_frequent(pq.read_table(staging / REJECTED, columns=["value"],       # the values: only now
                                        filters=[("reason_code", "=", reason), ("field", "=", field)]))
    check = _what_to_check(reason, field, mapping, spec, sent)
    account = (f"suspected hub configuration error: {n} of the {values} values of column {field} fail "
               f"{reason}, which suggests the hub's own configuration rather than the partner's data; no receipt "
               f"has gone to the partner. {check} Then {_next(batch_id)}")
    return Suspicion(field, reason, n, values, account, check)


def _most_frequent(failing, n: int = 5) -> list[str]:
    """The values sent that failed most often (personal ones are not in the rejections: none then)."""
    counts = failing.group_by(["value"]).aggregate([("value", "count")])
    pairs = [(v, c) for v, c in zip(counts["value"].to_pylist(), counts["value_count"].to_pylist()) if v is not None]
    return [v for v, _ in sorted(pairs, key=lambda p: (-p[1], p[0]))[:n]]


def _what_to_check(reason: str, field: str, mapping: FeedMapping, spec, sent: list[str]) -> str:
    rule = next((r for r in mapping.fields if r.partner == field), None)
    mapping_file = mapping_tables.FEEDS_DIR / f"{spec.mapping}.yaml"
    where = f"mapping {mapping_file} (version {mapping.version})"
    shown = f" (values sent: {', '.join(sent)})" if sent else ""
    if reason == "DATE_INVALID" and rule is not None and rule.date_format:
        return (f"Check {field}'s date_format {rule.date_format!r} ({date_layout(rule.date_format)}) in {where} "
                f"against the agreement{shown}.")
    if reason == "UNMAPPED_CODE" and rule is not None and rule.codes:
        table = mapping.code_tables[rule.codes]
        return (f"Check code table {mapping_tables.CODES_DIR / f'{rule.codes}.yaml'} (version {table.version}, "
                f"named for {field} in {where}): it lacks the values sent{shown}.")
    declared = [r for r in spec.quality.rules if r.reason == reason]
    if declared:
        return (f"Check the rule {declared[0].rule} with reason {reason} in {spec.path or spec.name} "
                f"(quality.rules) against the agreement{shown}.")
    hub = f" (hub field {rule.hub})" if rule is not None else ""
    return (f"Check that {where} maps column {field} to the right hub field{hub} and that the partner schema "
            f"{dictionary.PARTNERS_DIR / (spec.schema + '.yaml')} names the column the partner means by it{shown}.")


def _next(batch_id: int | None) -> str:
    n = batch_id if batch_id is not None else "N"
    return (f"`jinbao batches rejudge {n}` judges it again under the fixed tables (the partner then gets one "
            f"receipt); if the partner really sent this, `jinbao batches release {n}` or "
            f"`jinbao batches refuse {n} --reason TEXT`.")
