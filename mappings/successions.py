"""Division codes abolished before the business date: translated to the successor, or refused.

A partner's system learns of a GB/T 2260 change months after the announcement, so a delivery
dated after it may still carry the old code.  When the succession is one-to-one (the whole old
area went to one successor: kind rename or merge), the record is taken with the successor code
and a warning in the receipt during the declared grace period (`mappings/reference/divisions.yaml`,
per change in `gbt2260_changes.csv`), and rejected after it (DIVISION_ABOLISHED, naming the
successor).  When the old area was split, the hub cannot know which part the person or place is
in: the record is rejected (DIVISION_SPLIT, naming the candidates) and the partner, who knows the
place, sends it again; the register's division meanwhile stays what its authoritative source said
(schemas/register.yaml).  Never a guess.

Only division fields (hub types `division`, `division_any`) pass here: the address code inside a
citizen ID is never translated (an ID keeps its digits for life, docs/reference-data.md).

One business date per call (the batch's): the successions in force on it are resolved once into a
small table (cached per date), and a column is translated with one `index_in` and a few `take`s.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.mappings.division_changes import changes
from jinbao.mappings.reference import ANY, COUNTY, division_valid, divisions
from jinbao.mappings.tables import FeedMapping
from jinbao.mappings.translator import FailedFields
from jinbao.schemas.dictionary import hub_dictionary

#: The hub types whose values are division codes, and the levels their rule accepts (quality/rules.py).
DIVISION_TYPES = {"division": COUNTY, "division_any": ANY}
#: Receipt reason codes (quality/reasons.py): a warning, and the two rejections.
TRANSLATED, ABOLISHED, SPLIT = "DIVISION_TRANSLATED", "DIVISION_ABOLISHED", "DIVISION_SPLIT"
#: A successor abolished in turn is followed at most this far (the longest real chain is two).
MAX_CHAIN = 8


@dataclass(frozen=True)
class Resolved:
    """Per code abolished on a date and with a known succession, what a record carrying it gets."""

    old: pa.Array            # the abolished codes
    successor: pa.Array      # the one successor in force (null for a split)
    split: np.ndarray        # True: several candidates, never translated
    grace_end: np.ndarray    # days since 1970: the last day the old code is still translated
    warning: pa.Array        # detail text of DIVISION_TRANSLATED
    refusal: pa.Array        # detail text of DIVISION_ABOLISHED / DIVISION_SPLIT


def _valid(codes: pd.Series, on: dt.date, levels: str) -> np.ndarray:
    return division_valid(pa.array(codes.tolist(), pa.string()), on, levels)


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """code -> its latest name (a successor is named as it is now)."""
    d = divisions().to_pandas().sort_values("valid_from")
    return dict(zip(d.code, d.name))


@functools.lru_cache(maxsize=64)
def resolved(on: dt.date, levels: str = COUNTY) -> Resolved:
    """The successions that apply on `on`: for every code not in force on `on` whose latest change
    is effective on or before it, the successors in force on `on` (chains followed)."""
    ch = changes()
    ch = ch[ch.effective <= on]
    ch = ch[ch.effective == ch.groupby("old_code").effective.transform("max")]
    ch = ch[~_valid(ch.old_code, on, levels)]           # a code in force again (reused) means itself
    steps = ch[["old_code", "new_code", "kind"]].rename(
        columns={"old_code": "new_code", "new_code": "next_code", "kind": "next_kind"})
    cur = ch[["old_code", "new_code", "kind", "effective", "grace_end"]]
    for _ in range(MAX_CHAIN):                          # over the changes table, never records
        live = _valid(cur.new_code, on, levels)
        dead = cur[~live].merge(steps, on="new_code", how="inner")
        if dead.empty:
            break
        dead["kind"] = np.where(dead.next_kind == "split", "split", dead.kind)
        dead["new_code"] = dead.next_code
        cur = pd.concat([cur[live], dead[cur.columns]], ignore_index=True)
    cur = cur[_valid(cur.new_code, on, levels)].drop_duplicates(["old_code", "new_code"])
    names = _names()
    rows = []
    for old, group in cur.groupby("old_code", sort=True):   # one row per abolished code (dozens)
        codes = sorted(group.new_code)
        split = len(codes) > 1 or (group.kind == "split").any()
        effective, grace_end = group.effective.iloc[0], group.grace_end.iloc[0]
        named = "、".join(f"{c} {names.get(c, '')}".strip() for c in codes)
        named_en = ", ".join(f"{c} {names.get(c, '')}".strip() for c in codes)
        warning = (f"已按继任代码 {named} 接收（{effective} 起；{grace_end} 后旧代码不再接收） / taken as its "
                   f"successor {named_en} (from {effective}; the old code is refused after {grace_end})")
        refusal = (f"候选继任代码 {named}（{effective} 起） / candidate successors {named_en} (since {effective})"
                   if split else f"继任代码 {named}（{effective} 起） / successor {named_en} (since {effective})")
        rows.append((old, None if split else codes[0], split, (grace_end - dt.date(1970, 1, 1)).days,
                     warning, refusal))
    cols = list(zip(*rows)) if rows else [[]] * 6
    return Resolved(old=pa.array(cols[0], pa.string()), successor=pa.array(cols[1], pa.string()),
                    split=np.array(cols[2], dtype=bool), grace_end=np.array(cols[3], dtype=np.int64),
                    warning=pa.array(cols[4], pa.string()), refusal=pa.array(cols[5], pa.string()))


@dataclass(frozen=True)
class Succeeded:
    """One column after succession: the values to judge and which rows each outcome took."""

    values: pa.Array
    translated: np.ndarray
    abolished: np.ndarray
    split: np.ndarray
    warning: pa.Array        # per row: the detail text of the warning (null elsewhere; dictionary-encoded)
    refusal: pa.Array        # per row: the detail text of the rejection (null elsewhere; dictionary-encoded)


def succeed_column(values: pa.Array, on: dt.date, levels: str = COUNTY) -> Succeeded:
    """Translate the abolished codes of one column (one business date `on` for all its rows).

    Rejected rows (past grace, split) come back null: the rejection says everything about them, and
    the field's rule (DIVISION_UNKNOWN) must not name the same value a second time."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    r = resolved(on, levels)
    idx = pc.index_in(values, value_set=r.old)
    hit = pc.fill_null(pc.is_valid(idx), False).to_numpy(zero_copy_only=False)
    if not hit.any():
        none, nulls = np.zeros(len(values), dtype=bool), pa.nulls(len(values), pa.string())
        return Succeeded(values, none, none, none, nulls, nulls)
    at = pc.fill_null(idx, 0).to_numpy(zero_copy_only=False)
    split = hit & r.split[at]
    in_grace = hit & ~split & ((on - dt.date(1970, 1, 1)).days <= r.grace_end[at])
    abolished = hit & ~split & ~in_grace
    out = values
    if in_grace.any():                  # only the rows that change are gathered, not the column
        out = pc.replace_with_mask(out, pa.array(in_grace), r.successor.take(pa.array(at[in_grace])))
    gone = abolished | split
    if gone.any():
        out = pc.replace_with_mask(out, pa.array(gone), pa.nulls(int(gone.sum()), pa.string()))
    # per row, a reference into the few texts of the resolution (dictionary-encoded: nothing copied)
    indices = at.astype(np.int32)
    warning = pa.DictionaryArray.from_arrays(pa.array(indices, mask=~in_grace), r.warning)
    refusal = pa.DictionaryArray.from_arrays(pa.array(indices, mask=~gone), r.refusal)
    return Succeeded(out, in_grace, abolished, split, warning, refusal)


def succeed(hub: pa.Table, raw: pa.RecordBatch, mapping: FeedMapping, on: dt.date, failures: FailedFields,
            warnings: FailedFields) -> pa.Table:
    """Every division field of the translated `hub` table through `succeed_column` on the business date
    `on`; rejections go to `failures`, warnings to `warnings` (both on the partner's column, with the
    value as sent).  Returns the hub table with the successor codes in place."""
    dictionary = hub_dictionary()
    for rule in mapping.fields:
        spec = dictionary.get(rule.hub)
        if spec is None or spec.type not in DIVISION_TYPES or rule.hub not in hub.column_names:
            continue
        done = succeed_column(hub.column(rule.hub), on, DIVISION_TYPES[spec.type])
        if not (done.translated.any() or done.abolished.any() or done.split.any()):
            continue
        sent = raw.column(rule.partner) if rule.partner in raw.schema.names else None
        warnings.add(done.translated, rule.partner, TRANSLATED, sent, detail=done.warning)
        failures.add(done.abolished, rule.partner, ABOLISHED, sent, detail=done.refusal)
        failures.add(done.split, rule.partner, SPLIT, sent, detail=done.refusal)
        hub = hub.set_column(hub.column_names.index(rule.hub), rule.hub, done.values)
    return hub
