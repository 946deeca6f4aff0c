"""`jinbao mappings coverage FEED`: partner values that arrived with no mapping.

Table maintainers need to know what partners actually send that the tables do
not cover, with counts, before the next delivery is rejected for it.  Sources:
the store's rejections (published batches) and the staged rejections of held
batches, which are not in the store yet.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

from jinbao.ledger import Status
from jinbao.privacy import mask_text
from jinbao.schemas.store_tables import batch, rejection


def unmapped_values(db, feed: str, days: int = 30) -> pd.DataFrame:
    """Rows of (field, value, records, batches, last_seen), most frequent first."""
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    with db.connect() as conn:
        stored = pd.DataFrame(conn.execute(
            sa.select(rejection.c.field, rejection.c.value, rejection.c.batch_id, batch.c.business_date)
            .join(batch, batch.c.id == rejection.c.batch_id)
            .where(batch.c.feed == feed, batch.c.received_at >= since,
                   rejection.c.reason_code == "UNMAPPED_CODE")).all(),
            columns=["field", "value", "batch_id", "business_date"])
        held = conn.execute(sa.select(batch.c.id, batch.c.staging_dir, batch.c.business_date).where(
            batch.c.feed == feed, batch.c.status == Status.HELD.value, batch.c.received_at >= since)).all()
    frames = [stored]
    for b in held:
        path = Path(b.staging_dir or "") / "rejected.parquet"
        if path.exists():
            r = pq.read_table(path, columns=["field", "value", "reason_code"]).to_pandas()
            r = r[r["reason_code"] == "UNMAPPED_CODE"].drop(columns="reason_code")
            frames.append(r.assign(batch_id=b.id, business_date=b.business_date))
    allrows = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else stored
    if allrows.empty:
        return pd.DataFrame(columns=["field", "value", "records", "batches", "last_seen"])
    # An ID typed into a code column is shown masked (rejections staged or stored before masking included).
    allrows["value"] = allrows["value"].map(lambda v: mask_text(v) if isinstance(v, str) else v)
    out = (allrows.groupby(["field", "value"], dropna=False)
           .agg(records=("batch_id", "size"), batches=("batch_id", "nunique"), last_seen=("business_date", "max"))
           .reset_index().sort_values(["records", "field", "value"], ascending=[False, True, True]))
    return out.reset_index(drop=True)
