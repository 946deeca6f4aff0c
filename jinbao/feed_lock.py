"""One run per feed at a time, whoever starts it (`jinbao run`, an Airflow task, a release).

Two runs of one feed would fetch, judge and publish the same delivery side by
side; the ledger's compare-and-set keeps the store right, but staging files
would be written twice at once.  An exclusive `flock` on a file in the feed's
staging folder serialises them: the lock dies with its process, so a killed
run never leaves it held.  Staging is shared storage in a multi-worker
deployment (docs/scale.md), so the lock is too.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: How long a second run waits for the first before giving up with a clear message.
WAIT_SECONDS = 30.0


class FeedBusy(RuntimeError):
    """Another run of the same feed holds the lock."""


@contextmanager
def feed_lock(staging: Path, feed: str, wait: float = WAIT_SECONDS, shared: bool = False, what: str | None = None):
    """The feed's run lock: exclusive for a run; `shared` for the partitions of one batch, which run side
    by side while a receive, judge or `jinbao run` (exclusive) waits for them all, so nobody rewrites the
    staged Parquet a partition is reading.  `what` names the holder in the messages (default: a run of `feed`)."""
    what = what or f"run of {feed}"
    folder = Path(staging) / feed
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    if shared:
                        raise FeedBusy(f"another {what} holds its lock; waited {wait:.0f} s. Let it "
                                       "finish, then retry the partition.") from exc
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    raise FeedBusy(f"another {what} is in progress (process {holder}); waited {wait:.0f} s. "
                                   "Let it finish, then run again.") from exc
                time.sleep(0.2)
        if not shared:                # the holder's pid, for the message a waiting run gives
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)          # closing releases the lock


def zone_lock(staging: Path, partner: str, wait: float = WAIT_SECONDS):
    """One pass over a partner's strays at a time, whichever of its feeds runs it: two feeds of one
    partner running at once never set aside, record or answer the same stray twice."""
    return feed_lock(staging, f"_zone.{partner}", wait, what=f"feed of {partner} setting aside strays")


@dataclass
class RunLock:
    """A feed's lock as one engine holds it.  Re-entrant, because `jinbao run` holds it across the four
    steps, each of which takes it again when Airflow runs them as separate tasks; `shared` for a
    partition, which needs nothing more when the engine already holds the lock exclusively."""
    staging: Path
    feed: str
    depth: int = 0

    @contextmanager
    def exclusive(self):
        if self.depth:
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        with feed_lock(self.staging, self.feed):
            self.depth = 1
            try:
                yield
            finally:
                self.depth = 0

    @contextmanager
    def shared(self):
        if self.depth:
            yield
            return
        with feed_lock(self.staging, self.feed, shared=True):
            yield
