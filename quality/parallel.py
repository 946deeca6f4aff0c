"""Judge a stream of record batches on several cores, in order, with bounded memory.

Arrow compute and numpy release the GIL for the heavy work, so threads are
enough: while one batch is being judged the next is judged on the other core
and the reader parses ahead.  At most `workers + 1` batches are in flight, so
memory still depends on the batch size, never on the file.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa

from jinbao.quality.verdict import Gate, Verdict, judge


def default_workers() -> int:
    return max(1, int(os.environ.get("JINBAO_GATE_THREADS", min(4, os.cpu_count() or 1))))


def judge_stream(batches: Iterable[tuple[pa.RecordBatch, np.ndarray]], gate: Gate,
                 workers: int | None = None) -> Iterator[tuple[pa.RecordBatch, Verdict]]:
    """Yield (batch, verdict) in input order."""
    workers = workers or default_workers()
    if workers == 1:
        for batch, lines in batches:
            yield batch, judge(batch, lines, gate)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="jinbao-gate") as pool:
        pending: deque = deque()
        for batch, lines in batches:
            pending.append((batch, pool.submit(judge, batch, lines, gate)))
            if len(pending) > workers:
                done_batch, fut = pending.popleft()
                yield done_batch, fut.result()
        while pending:
            done_batch, fut = pending.popleft()
            yield done_batch, fut.result()
