"""The record of every full-ID export of a death-mismatch report: an append-only JSON-lines file.

One line per export, written before the full-ID workbook appears (render.write_report):

    {"at": "2026-12-01T02:03:04.000005+00:00", "who": "审计处 李四", "os_user": "jinbao",
     "host": "hub-01", "month": "2026-11", "file": "/…/reports/deaths/2026-11/deaths-2026-11-full-ids.xlsx",
     "sha256": "…", "people": 17, "prev": "…"}

`who` is the person named by the caller (the CLI's --who), `os_user` and `host` what the machine
knows; `sha256` is the workbook's, so a copy found later can be matched to its export; `people` is
how many distinct full IDs it holds.  `prev` is the sha256 of the previous line (None on the
first), so an edited or deleted line breaks the chain `verify` walks; the hub only ever appends.
A file rather than a store table: a table needs a migration, and the log is read by people with
`cat`/`jq` beside the reports it describes (docs/audit.md).  The log holds no citizen ID.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import socket
from pathlib import Path

from jinbao.privacy import mask_text

LOG_NAME = "exports.log"


def log_path(cfg) -> Path:
    """JINBAO_HOME/reports/deaths/exports.log."""
    return cfg.reports / "deaths" / LOG_NAME


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without passwd entry): the uid
        return str(os.getuid())


def record(path: Path, *, who: str, when: dt.datetime, month: dt.date, file: Path, data: bytes,
           people: int) -> dict:
    """Append one export to the log at `path` (created with its folder) and return the entry.

    Appends under an exclusive lock, one write of a whole line, flushed to disk.  Refuses (OSError)
    when the log's last line is incomplete: an export is never recorded after a damaged record.
    """
    if not who or not who.strip():
        raise ValueError("an export record needs who")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with open(path, "rb") as current:
            existing = current.read()
        if existing and not existing.endswith(b"\n"):
            raise OSError(f"{path}: the last line is incomplete; repair the export log before exporting full IDs")
        last = existing.rstrip(b"\n").rsplit(b"\n", 1)[-1] if existing else b""
        entry = {
            "at": when.astimezone(dt.timezone.utc).isoformat(),
            "who": mask_text(who.strip()),
            "os_user": _user(),
            "host": socket.gethostname(),
            "month": f"{month.year:04d}-{month.month:02d}",
            "file": str(Path(file).resolve()),
            "sha256": hashlib.sha256(data).hexdigest(),
            "people": people,
            "prev": _line_hash(last) if last else None,
        }
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
        os.write(fd, line)
        os.fsync(fd)
        return entry
    finally:
        os.close(fd)       # releases the lock


def read(path: Path) -> list[dict]:
    """Every recorded export, oldest first ([] when nothing was ever exported)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def verify(path: Path) -> list[str]:
    """What is wrong with the log: lines that are not JSON, or whose `prev` is not the line before."""
    path = Path(path)
    if not path.exists():
        return []
    problems, prev = [], None
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"line {n}: not JSON")
            prev = _line_hash(line)
            continue
        if entry.get("prev") != prev:
            problems.append(f"line {n}: does not follow line {n - 1} (a line changed or removed)")
        prev = _line_hash(line)
    return problems
