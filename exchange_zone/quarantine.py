"""Quarantine (一站二区): where a refused delivery is kept, whole, for a person to look at.

Nothing in quarantine is ever published or overwritten: each refused batch
gets its own folder named after its batch id and file.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def quarantine_path(root: Path, feed: str, batch_id: int, file_name: str) -> Path:
    """Where a refused batch's files are kept: one folder per batch, never shared."""
    return Path(root) / feed / f"{batch_id}-{file_name}"


def quarantine(folder: Path, root: Path, feed: str, batch_id: int, file_name: str) -> Path:
    """Move the fetched delivery in `folder` to its quarantine folder (another volume is fine)."""
    dest = quarantine_path(root, feed, batch_id, file_name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if Path(folder).resolve() == dest.resolve():
        return dest
    if dest.exists():                       # moved by a run killed before it could record it: keep it
        shutil.rmtree(folder, ignore_errors=True)
        return dest
    if not Path(folder).exists():
        raise FileNotFoundError(f"neither {folder} nor {dest} holds the refused delivery")
    tmp = dest.with_name(dest.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.move(str(folder), str(tmp))      # a copy and delete across volumes, a rename otherwise
    os.replace(tmp, dest)
    return dest
