"""`jinbao mappings suggest FEED FIELD`: propose a value map from the data itself.

When a partner changes or adds codes, the records still carry citizen IDs.
Linking them to the store's register on AAC002 shows which hub value each
partner value goes with; a value that co-occurs with one hub value in 99 % of
500 linked records is almost certainly that code.  The proposal is printed
with its support and agreement for a person to approve; nothing is applied.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import sqlalchemy as sa

from jinbao.formats import citizen_id
from jinbao.ledger import Status, encoding_of
from jinbao.mappings.tables import MappingError, feed_mapping
from jinbao.mappings.translator import normalise
from jinbao.privacy import mask_text
from jinbao.schemas.store_tables import batch, person
from jinbao.staged.reader import open_csv

LOOKUP_CHUNK = 1_000


def _partner_pairs(spec, field: str, rows) -> pd.DataFrame:
    """(aac002, partner value) from the staged raw deliveries."""
    frames = []
    for b in rows:
        mapping = feed_mapping(spec.mapping, b.business_date)
        id_col = mapping.partner_name("AAC002")
        path = Path(b.staging_dir or "") / (b.data_file or b.file_name)   # the plaintext of a sealed delivery
        if not path.exists():
            continue
        stream = open_csv(path, encoding_of(b._mapping, spec.format.encoding), [id_col, field], [id_col, field])
        for block, _ in stream.blocks():
            ids = pc.utf8_upper(normalise(block.column(id_col)))
            if mapping.upgrade_15_digit_ids:
                ids, _ = citizen_id.upgrade_15(ids)
            frames.append(pd.DataFrame({"aac002": ids.to_pandas(), "partner": normalise(block.column(field))
                                        .to_pandas()}))
    return pd.concat(frames, ignore_index=True).dropna() if frames else pd.DataFrame(columns=["aac002", "partner"])


def suggest(db, spec, field: str, days: int = 90) -> pd.DataFrame:
    """One row per partner value: best hub value, support, agreement, current mapping."""
    today = dt.date.today()
    mapping = feed_mapping(spec.mapping, today)
    rule = next((r for r in mapping.fields if r.partner == field), None)
    if rule is None:
        raise MappingError(f"{spec.name} has no field {field}; fields: {', '.join(r.partner for r in mapping.fields)}")
    hub_col = rule.hub.lower()
    if hub_col not in person.c:
        raise MappingError(f"{field} -> {rule.hub}: the register (person table) does not hold {rule.hub}, "
                           "so partner records cannot be linked to a hub value")
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    with db.connect() as conn:
        judged = [s.value for s in (Status.JUDGED, Status.HELD, Status.PUBLISHED)]
        rows = conn.execute(sa.select(batch).where(batch.c.feed == spec.name, batch.c.received_at >= since,
                                                   batch.c.status.in_(judged))).all()
    pairs = _partner_pairs(spec, field, rows)
    hub_values = []
    with db.connect() as conn:
        ids = pairs["aac002"].unique().tolist()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            hub_values += conn.execute(sa.select(person.c.aac002, person.c[hub_col]).where(
                person.c.aac002.in_(ids[start:start + LOOKUP_CHUNK]))).all()
    linked = pairs.merge(pd.DataFrame(hub_values, columns=["aac002", "hub"]), on="aac002").dropna()
    current = mapping.code_tables[rule.codes].forward if rule.codes else {}
    if linked.empty:
        return pd.DataFrame(columns=["partner", "hub", "support", "agreement", "current"])
    counts = linked.groupby(["partner", "hub"]).size().rename("n").reset_index()
    support = counts.groupby("partner")["n"].transform("sum")
    counts["agreement"] = counts["n"] / support
    counts["support"] = support
    best = counts.sort_values(["partner", "n"], ascending=[True, False]).drop_duplicates("partner")
    best["current"] = best["partner"].map(current)
    return best[["partner", "hub", "support", "agreement", "current"]].reset_index(drop=True)


def render(spec, field: str, proposal: pd.DataFrame, min_support: int = 5, min_agreement: float = 0.95) -> str:
    lines = [f"# Proposed value map for {spec.name} {field} (linked to the register on AAC002).",
             "# A person reviews and copies it into a NEW version of the code table; nothing is applied.",
             "map:"]
    for r in proposal.itertuples():
        ok = r.support >= min_support and r.agreement >= min_agreement
        note = f"support {r.support}, agreement {r.agreement:.1%}"
        if isinstance(r.current, str):
            note += f", current {r.current}" + (" (same)" if r.current == r.hub else " (DIFFERS)")
        prefix = "  " if ok else "  # too weak: "
        lines.append(f'{prefix}"{mask_text(r.partner)}": "{r.hub}"   # {note}')    # an ID typed into a code column
    return "\n".join(lines)
