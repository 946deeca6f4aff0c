"""How long each kind of file holding personal data is kept, and which files have outlived it.

PIPL (art. 19, 47) allows personal data to be kept no longer than its purpose needs.  The retention
of each kind is data (`schemas/retention.yaml`, strictly read: every kind declared, `days` and
`reason` and nothing else), because how long is a decision of the bureau, not of a release.  What
a kind covers and what of it the hub still needs whatever its age is code, here, once:

- `staging` (staging/<feed>/<batch>/), `quarantine` (quarantine/<feed>/<batch>-<file>/) and
  `receipts` (receipts/<feed>/<batch>/): only a batch the ledger says is finished (published or
  refused, its receipt sent and the delivery acknowledged); a held batch waits for a person (its
  staged files are what release, refuse and re-judge read, its receipt what the review links), and an
  unfinished one is resumed from its files; in staging also a download a killed run left half-way;
- `sent` (sent/<feed>/...): the plaintext copies, held-back reports and sealed copies of outbound
  files; the exchange log keeps their sha256, which is all "never send the same twice" reads;
- `reports` (reports/..., but the two kinds below): the masked death reports and quality pages;
- `issued` (reports/deaths/<month>/issued-stop-payment.parquet): never the newest month's, which the
  next month's report compares itself with;
- `exports` (exports/<report>/<month>/<user>/...): the full-ID workbooks made for one person
  (jinbao/audit/full_ids.py), sealed or kept;
- `task_logs` (airflow-logs/, airflow.cfg's base_log_folder).

A file's age is its last change (the newest file of a batch's folder), against the hub's clock
(`jinbao.ledger.now`), so a test moves both explicitly.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao import strict_yaml
from jinbao.ledger import Status
from jinbao.schemas.store_tables import batch
from jinbao.settings import Settings

FILE = "retention.yaml"
#: Every kind of file the hub keeps personal data in, and where it lives under JINBAO_HOME.
KINDS: dict[str, str] = {
    "staging": "staging/<feed>/<batch>/",
    "quarantine": "quarantine/<feed>/<batch>-<file>/",
    "receipts": "receipts/<feed>/<batch>/",
    "sent": "sent/<feed>/",
    "reports": "reports/",
    "issued": "reports/deaths/<month>/issued-stop-payment.parquet",
    "exports": "exports/<report>/<month>/<user>/",
    "task_logs": "airflow-logs/",
}
#: The issued stop-payment list's file name (jinbao/audit/report.py ISSUED, which imports the whole report).
ISSUED = "issued-stop-payment.parquet"
TASK_LOGS = "airflow-logs"
#: Full-ID workbooks written beside the masked report before exports had their own folder
#: (reports/deaths/<month>/deaths-<month>-full-ids.xlsx): exports too, whatever folder they are in.
LEGACY_FULL_IDS = "-full-ids."
#: A download in progress in staging (exchange_zone/receive.py).
INCOMING = "incoming-"


class RetentionError(ValueError):
    """schemas/retention.yaml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Retention:
    """One kind's declared retention."""

    kind: str
    days: int
    reason: str

    def cutoff(self, at: dt.datetime) -> dt.datetime:
        """Files last changed before this moment have outlived the retention."""
        return at - dt.timedelta(days=self.days)


def load(path: Path) -> dict[str, Retention]:
    """Every kind's retention from `path`; any kind missing, unknown key, or a value of the wrong type is
    a RetentionError naming the file and the key."""
    raw = strict_yaml.load_mapping(path, RetentionError, "the retention declaration")
    strict_yaml.refuse_unknown(path, raw, KINDS, RetentionError, hint="the kinds are: " + ", ".join(KINDS))
    missing = [k for k in KINDS if k not in raw]
    if missing:
        raise RetentionError(f"{path}: no retention declared for {', '.join(missing)}: every kind of file that "
                             "holds personal data needs `days` and `reason`")
    out = {}
    for kind in KINDS:
        entry = raw[kind]
        if not isinstance(entry, dict):
            raise RetentionError(f"{path}: {kind}: write `days:` and `reason:` under it")
        strict_yaml.refuse_unknown(path, entry, ("days", "reason"), RetentionError, f"{kind}.")
        days, reason = entry.get("days"), entry.get("reason")
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise RetentionError(f"{path}: {kind}.days: a whole number of days, at least 1 (got {days!r})")
        if not isinstance(reason, str) or not reason.strip():
            raise RetentionError(f"{path}: {kind}.reason: say why the hub keeps it that long")
        out[kind] = Retention(kind, days, " ".join(reason.split()))
    return out


def declared(cfg: Settings) -> dict[str, Retention]:
    """The retention declared for this hub (JINBAO_SCHEMAS_DIR's retention.yaml)."""
    return load(cfg.schemas_dir / FILE)


@dataclass(frozen=True)
class Unit:
    """One thing a purge deletes whole: a file, or a batch's folder."""

    kind: str
    path: Path
    bytes: int
    changed: dt.datetime
    #: The feed whose run lock guards it (staging), else None.
    feed: str | None = None


def _measure(path: Path) -> tuple[int, float]:
    """(bytes, newest mtime) of a file, or of every file in a folder (the folder's own when empty)."""
    if not path.is_dir():
        st = path.stat()
        return st.st_size, st.st_mtime
    size, newest = 0, path.stat().st_mtime
    found = False
    for root, _, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(root, name), follow_symlinks=False)
            except FileNotFoundError:
                continue
            size += st.st_size
            newest = st.st_mtime if not found else max(newest, st.st_mtime)
            found = True
    return size, newest


def _unit(kind: str, path: Path, feed: str | None = None) -> Unit:
    size, mtime = _measure(path)
    return Unit(kind, path, size, dt.datetime.fromtimestamp(mtime, dt.timezone.utc), feed)


def _finished(conn: Connection) -> set[int]:
    """Batches the hub is done with: published or refused, the receipt sent and the delivery acknowledged
    (a held batch waits for a person; anything else is unfinished and a run resumes it from its files)."""
    q = sa.select(batch.c.id).where(batch.c.status.in_([Status.PUBLISHED.value, Status.REFUSED.value]),
                                    batch.c.receipt_at.is_not(None), batch.c.acked_at.is_not(None))
    return {r.id for r in conn.execute(q)}


def _children(folder: Path) -> Iterator[Path]:
    return iter(sorted(folder.iterdir())) if folder.is_dir() else iter(())


def _batch_id(name: str, sep: str | None = None) -> int | None:
    head = name.split(sep, 1)[0] if sep else name
    return int(head) if head.isdigit() else None


def _batch_folders(kind: str, root: Path, done: set[int], sep: str | None = None, locked: bool = False
                   ) -> Iterator[Unit]:
    """The folders of finished batches under root/<feed>/; with `locked` (staging) also a download a killed
    run left half-way (`incoming-<delivery>`, which the next run of that delivery discards anyway), whose
    age alone decides: the purge deletes under the feed's run lock, so no run is writing it then."""
    for feed in _children(root):
        if not feed.is_dir() or feed.name.startswith("_zone."):
            continue
        for folder in _children(feed):
            if not folder.is_dir():
                continue
            bid = _batch_id(folder.name, sep)
            if (bid is not None and bid in done) or (locked and folder.name.startswith(INCOMING)):
                yield _unit(kind, folder, feed.name if locked else None)


def _files(kind: str, root: Path, keep=lambda p: True) -> Iterator[Unit]:
    if not root.is_dir():
        return
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            path = Path(dirpath) / name
            if keep(path) and not path.is_symlink():
                yield _unit(kind, path)


def _issued_newest(reports: Path) -> Path | None:
    lists = sorted((reports / "deaths").glob(f"*/{ISSUED}"))
    return lists[-1] if lists else None


def candidates(cfg: Settings, conn: Connection) -> Iterator[Unit]:
    """Every file or folder of every kind that the hub no longer needs for its work, whatever its age."""
    finished = _finished(conn)
    yield from _batch_folders("staging", cfg.staging, finished, locked=True)
    yield from _batch_folders("quarantine", cfg.quarantine, finished, sep="-")
    yield from _batch_folders("receipts", cfg.receipts, finished)
    yield from _files("sent", cfg.sent)
    newest = _issued_newest(cfg.reports)
    yield from _files("reports", cfg.reports, lambda p: p.name != ISSUED and LEGACY_FULL_IDS not in p.name)
    yield from _files("issued", cfg.reports / "deaths", lambda p: p.name == ISSUED and p != newest)
    yield from _files("exports", cfg.exports)
    yield from _files("exports", cfg.reports, lambda p: LEGACY_FULL_IDS in p.name)
    yield from _files("task_logs", cfg.home / TASK_LOGS)


def expired(cfg: Settings, conn: Connection, rules: dict[str, Retention], at: dt.datetime) -> list[Unit]:
    """What has outlived its kind's retention at `at`, oldest first within each kind."""
    found = [u for u in candidates(cfg, conn) if u.changed < rules[u.kind].cutoff(at)]
    order = list(KINDS)
    return sorted(found, key=lambda u: (order.index(u.kind), u.changed, str(u.path)))
