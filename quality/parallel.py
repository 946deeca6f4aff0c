"""Judge a stream of record blocks on several cores, in order, with bounded memory.

Arrow compute and numpy release the GIL for the heavy work, so threads are
enough: while one block is being judged the next is judged on the other core
and the reader parses ahead.  At most `workers + 1` blocks are in flight, so
memory still depends on the block size, never on the file.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa

from jinbao.quality.verdict import Gate, Verdict, judge


def judge_stream(blocks: Iterable[tuple[pa.RecordBatch, np.ndarray]], gate: Gate,
                 workers: int = 1) -> Iterator[tuple[pa.RecordBatch, Verdict]]:
    """Yield (block, verdict) in input order; `workers` threads (Settings.gate_threads)."""
    if workers <= 1:
        for block, lines in blocks:
            yield block, judge(block, lines, gate)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="jinbao-gate") as pool:
        pending: deque = deque()
        for block, lines in blocks:
            pending.append((block, pool.submit(judge, block, lines, gate)))
            if len(pending) > workers:
                done, fut = pending.popleft()
                yield done, fut.result()
        while pending:
            done, fut = pending.popleft()
            yield done, fut.result()
