"""Publishing one batch in partitions, each its own task and transaction (docs/scale.md).

A feed declared with `partitions: N` publishes its judged batch as N row ranges of the staged
`accepted.parquet` (the gate already refused a key sent twice, so no two ranges write one row).
Each range is upserted with the same newest-wins statement as an unpartitioned batch, under
one stamp fixed when the batch is first planned, so re-running a partition writes exactly
what it wrote before.  The batch itself only becomes `published` afterwards
(jinbao/store/publish_step.py), in one transaction with its rejections, the register and the
other consumers of jinbao/store/consumers.py, and only when every partition has reported done;
until then it stays `judged`, never refused: rows of the partitions that committed are in the
feed's table, and a refusal would leave them there.

What a partition leaves is in staging, beside the Parquet it reads, because staging is
shared by every worker (a plain directory on one machine, a shared volume in a Celery
deployment):

  partitions/plan.json   the ranges and the stamp, written once (atomically)
  partitions/<i>.done    the rows partition i published, written after its transaction
                         committed: a marker is never there for rows that are not, and a
                         marker lost to a crash only means the partition runs again

Row ranges, not division prefixes: ranges split any delivery evenly whatever its people's
divisions (a county-level refresh would put everything under one prefix), and the
reconciliation that is keyed by person does not run per partition anyway.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from jinbao.files import write_atomically

#: How partitions cut a batch (the declaration's `partitions.by`).
BY = ("rows",)
#: More would be one task per few records: the scheduler's cost, not the store's, would dominate.
MAX_PARTITIONS = 256
FOLDER = "partitions"
PLAN = "plan.json"


class PartitionsPending(RuntimeError):
    """The batch cannot be marked published: a partition has not reported done."""


@dataclass(frozen=True)
class Plan:
    stamp: dt.datetime
    ranges: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.ranges)


def ranges(rows: int, count: int) -> tuple[tuple[int, int], ...]:
    """`count` contiguous [start, stop) ranges over `rows` records, sizes differing by one at most;
    an empty batch still has its partitions (they publish nothing), so the DAG's shape never depends
    on the data."""
    base, extra = divmod(rows, count)
    out, start = [], 0
    for i in range(count):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return tuple(out)


def plan(staging: Path, accepted: Path, count: int, stamp: dt.datetime) -> Plan:
    """The batch's plan: made on first call, read back on every later one (same stamp, same ranges)."""
    folder = Path(staging) / FOLDER
    path = folder / PLAN
    if not path.is_file():
        import pyarrow.parquet as pq  # DAG parsing: declarations import this module, pyarrow only in tasks

        rows = pq.ParquetFile(accepted).metadata.num_rows
        folder.mkdir(parents=True, exist_ok=True)
        _write(path, json.dumps({"stamp": stamp.isoformat(), "rows": rows,
                                 "ranges": [list(r) for r in ranges(rows, count)]}))
    return read_plan(staging)


def read_plan(staging: Path) -> Plan | None:
    path = Path(staging) / FOLDER / PLAN
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    return Plan(dt.datetime.fromisoformat(raw["stamp"]), tuple((a, b) for a, b in raw["ranges"]))


def mark_done(staging: Path, part: int, published: int) -> None:
    _write(Path(staging) / FOLDER / f"{part}.done", str(published))


def done(staging: Path, part: int) -> int | None:
    path = Path(staging) / FOLDER / f"{part}.done"
    return int(path.read_text()) if path.is_file() else None


def published(staging: Path, batch_id: int) -> tuple[Plan, int]:
    """The plan and the rows all partitions published; PartitionsPending names the ones missing."""
    p = read_plan(staging)
    if p is None:
        raise PartitionsPending(f"batch {batch_id} has no partition plan in {staging}: its partitions never ran")
    counts = [done(staging, i) for i in range(len(p))]
    missing = [str(i) for i, n in enumerate(counts) if n is None]
    if missing:
        raise PartitionsPending(f"batch {batch_id}: partition(s) {', '.join(missing)} of {len(p)} have not "
                                "published; run them (clear the red publish_partition tasks) and publish again")
    return p, sum(counts)


def _write(path: Path, text: str) -> None:
    write_atomically(path, text)
