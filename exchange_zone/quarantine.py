"""Quarantine (一站二区): where a refused delivery is kept, whole, for a person to look at.

Nothing in quarantine is ever published or overwritten: each refused batch
gets its own folder named after its batch id and file.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def quarantine(folder: Path, root: Path, feed: str, batch_id: int, file_name: str) -> Path:
    """Move the fetched delivery in `folder` to `<root>/<feed>/<batch_id>-<file_name>`."""
    dest = Path(root) / feed / f"{batch_id}-{file_name}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if Path(folder).resolve() == dest.resolve():
        return dest
    if dest.exists():                       # a resumed refusal: keep what is there
        shutil.rmtree(folder, ignore_errors=True)
        return dest
    os.replace(folder, dest)
    return dest
