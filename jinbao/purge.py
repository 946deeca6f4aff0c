"""The purge: delete what has outlived its declared retention, record it, and clear stored values.

One function behind `jinbao purge` and the daily `jinbao.purge` DAG.  What may go and for how long is
jinbao/retention.py (schemas/retention.yaml); this deletes it, and then, in one transaction, writes
one exchange-log entry per kind it deleted from (kind, count, bytes, oldest, the retention applied;
never a file's name or contents, which hold IDs) and clears the personal values of the store's
rejections whose receipt went out (jinbao/store/rejection_values.py: rows stored before that was done
at the receipt).  A dry run finds and measures the same and changes nothing.

A batch's staging folder is deleted under its feed's run lock, so a run of the feed never finds its
folder half gone; a feed whose run holds the lock is left for the next purge, and said so.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from jinbao import exchange_log, ledger
from jinbao.feed_lock import FeedBusy, feed_lock
from jinbao.retention import KINDS, Retention, Unit, declared, expired
from jinbao.settings import TIMEZONE, Settings
from jinbao.store.database import upgrade
from jinbao.store.rejection_values import holding_values, mask_after_receipt

log = logging.getLogger(__name__)
#: The exchange log's partner and status for a purge: the hub deleting its own copies.
HUB = "hub"
PURGED = "purged"
#: The exchange log's "feed" of an entry for the rejection values cleared.
MASKED = "rejection_values"
#: How long a purge waits for a feed's running run before leaving its staging for the next purge.
LOCK_WAIT = 5.0


@dataclass
class KindResult:
    """What went (or would go) of one kind."""

    retention: Retention
    count: int = 0
    bytes: int = 0
    oldest: dt.datetime | None = None
    failed: list[str] = field(default_factory=list)

    def add(self, unit: Unit) -> None:
        self.count += 1
        self.bytes += unit.bytes
        self.oldest = unit.changed if self.oldest is None else min(self.oldest, unit.changed)


@dataclass
class Purged:
    at: dt.datetime
    dry_run: bool
    kinds: dict[str, KindResult]
    #: Rejection rows whose personal values were cleared (a dry run: how many would be).
    masked: int = 0
    #: Feeds whose staging was left because a run held the lock.
    busy: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [f for k in self.kinds.values() for f in k.failed]


def _remove(unit: Unit) -> None:
    if unit.path.is_dir() and not unit.path.is_symlink():
        shutil.rmtree(unit.path)
    else:
        unit.path.unlink(missing_ok=True)


def _prune_empty(folder: Path, stop: Path) -> None:
    """Remove folders left empty up to (not including) `stop`."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _roots(cfg: Settings) -> dict[str, Path]:
    return {"staging": cfg.staging, "quarantine": cfg.quarantine, "receipts": cfg.receipts, "sent": cfg.sent,
            "reports": cfg.reports, "issued": cfg.reports, "exports": cfg.exports,
            "task_logs": cfg.home / "airflow-logs"}


def _delete(cfg: Settings, units: list[Unit], kinds: dict[str, KindResult], busy: list[str]) -> None:
    roots = _roots(cfg)
    by_feed: dict[str | None, list[Unit]] = defaultdict(list)
    for u in units:
        by_feed[u.feed].append(u)
    for feed, group in by_feed.items():
        with contextlib.ExitStack() as stack:
            if feed is not None:
                try:
                    stack.enter_context(feed_lock(cfg.staging, feed, wait=LOCK_WAIT))
                except FeedBusy:
                    busy.append(feed)
                    log.warning("purge: a run of %s holds its lock; its %s expired staging folder(s) are left "
                                "for the next purge", feed, len(group))
                    continue
            for u in group:
                try:
                    _remove(u)
                except OSError as exc:
                    kinds[u.kind].failed.append(f"{u.kind}: {u.path}: {exc.strerror or exc}")
                    continue
                kinds[u.kind].add(u)
                # a kind's root, or the reports' for a full-ID export written there before exports/ existed
                _prune_empty(u.path.parent, roots[u.kind] if roots[u.kind] in u.path.parents else cfg.reports)


def _record(conn, cfg: Settings, result: Purged, who: str) -> None:
    key = exchange_log.log_key(cfg.home)
    entry = dict(direction=exchange_log.PURGE, partner=HUB, sha256="", status=PURGED,
                 business_date=ledger.today(result.at), who=who, at=result.at)
    for kind, k in result.kinds.items():
        if k.count:
            exchange_log.append(conn, key, feed=kind, file_name=KINDS[kind], records=k.count,
                                purpose=summary(kind, k), **entry)
    if result.masked:
        exchange_log.append(conn, key, feed=MASKED, file_name="store: rejection.value", records=result.masked,
                            purpose=masked_summary(result.masked), **entry)


def summary(kind: str, k: KindResult) -> str:
    """One kind's line, as the log entry, the command and the DAG's log say it (no path, no ID)."""
    oldest = k.oldest.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d") if k.oldest else "-"
    return (f"{kind}: {k.count} file(s)/folder(s), {k.bytes} bytes, oldest {oldest}; retention "
            f"{k.retention.days} days")


def masked_summary(rows: int) -> str:
    return (f"{MASKED}: {rows} stored rejection value(s) cleared (the receipt had gone out); retention: until "
            "the receipt")


def purge(cfg: Settings, dry_run: bool = False, who: str = "jinbao purge") -> Purged:
    """Delete (or with `dry_run` only measure) what has outlived its retention at the hub's now."""
    rules = declared(cfg)
    at = ledger.now()
    db = upgrade(cfg.store_url)
    with db.connect() as conn:
        units = expired(cfg, conn, rules, at)
    result = Purged(at, dry_run, {kind: KindResult(rules[kind]) for kind in KINDS})
    if dry_run:
        for u in units:
            result.kinds[u.kind].add(u)
        with db.connect() as conn:
            result.masked = holding_values(conn)
        return result
    _delete(cfg, units, result.kinds, result.busy)
    with db.begin() as conn:
        result.masked = mask_after_receipt(conn)
        _record(conn, cfg, result, who)
    return result
