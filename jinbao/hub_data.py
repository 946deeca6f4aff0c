"""Load the bureau's own data (insured register, pension roll) into the store.

In production these tables are filled by the bureau's core system; the demo
and tests load the generator's synthetic population instead, through the same
idempotent upserts the feeds use.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from jinbao.ledger import now
from jinbao.schemas.store_tables import pension_payment, person
from jinbao.store.database import upgrade
from jinbao.store.publish import records, upsert

SOURCE = "hub.core"
CHUNK = 50_000


def _load(conn, path: Path, table, stamp) -> int:
    n = 0
    for chunk in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        frame = chunk.to_pandas()
        frame["source_feed"], frame["updated_at"] = SOURCE, stamp
        if table is person:
            frame["id_upgraded"] = False
        frame = frame[[c.name for c in table.columns if c.name in frame.columns]]
        n += upsert(conn, table, records(frame))
    return n


def load_generated(generated: Path, store_url: str) -> dict[str, int]:
    db = upgrade(store_url)
    stamp = now()
    with db.begin() as conn:
        return {"person": _load(conn, generated / "population.parquet", person, stamp),
                "pension_payment": _load(conn, generated / "pension_roll.parquet", pension_payment, stamp)}
