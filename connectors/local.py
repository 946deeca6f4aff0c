"""A partner drop zone that is a plain folder (JINBAO_HOME/exchange_zone/<partner>).

Used by the demo and by partners on the same host; it follows the same
protocol as SFTP (temporary names ignored, companions required, ack = move to
inbound/processed/) so that switching a feed to SFTP changes nothing else.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from jinbao.connectors.base import RemoteDelivery, Transport, aside_names, interim_name
from jinbao.connectors.names import INTERIM, PROCESSED, REJECTED
from jinbao.files import atomic_write


class LocalTransport(Transport):
    def __init__(self, zone: Path):
        self.zone = Path(zone)
        self.inbound = self.zone / "inbound"
        self.outbound = self.zone / "outbound"

    def __repr__(self) -> str:
        return f"LocalTransport({self.zone})"

    def entries(self) -> dict[str, str]:
        if not self.inbound.is_dir():
            return {}
        out = {}
        with os.scandir(self.inbound) as it:
            for e in it:
                if e.is_symlink():
                    out[e.name] = "other"
                elif e.is_file(follow_symlinks=False):
                    out[e.name] = "file"
                else:
                    out[e.name] = "dir" if e.is_dir(follow_symlinks=False) else "other"
        return out

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        """Every file as `.part` first, renamed only when all arrived: all or nothing."""
        dest.mkdir(parents=True, exist_ok=True)
        parts = [dest / (name + ".part") for name in delivery.files]
        try:
            for name, part in zip(delivery.files, parts):
                src = self.inbound / name
                if src.is_symlink() or not src.is_file():      # swapped for a link after listing: never read
                    raise FileNotFoundError(f"{name} is no longer a regular file in inbound/")
                shutil.copyfile(src, part, follow_symlinks=False)
        except BaseException:
            for part in parts:
                part.unlink(missing_ok=True)
            raise
        return [part.replace(dest / name) for name, part in zip(delivery.files, parts)]

    def _hub_folder(self, *parts: str) -> Path:
        """inbound/<parts>, made when missing; never through a link or over a file a partner put there
        (a stray of that name is set aside by the next receive)."""
        top = self.inbound / parts[0]
        if top.is_symlink() or (top.exists() and not top.is_dir()):
            raise FileExistsError(f"inbound/{parts[0]} is not the hub's folder but an entry of the partner's; "
                                  "it is set aside as a stray by the next receive")
        folder = self.inbound.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def ack(self, delivery: RemoteDelivery, batch_id: int | None = None) -> None:
        done = self._hub_folder(PROCESSED, *([str(batch_id)] if batch_id is not None else []))
        for name in delivery.files:
            src = self.inbound / name
            if src.exists():
                os.replace(src, done / name)

    def set_aside(self, name: str) -> None:
        src, label = self.inbound / name, name
        if not os.path.lexists(src):
            raise FileNotFoundError(f"{name!r} is no longer in inbound/")
        if name == REJECTED:                  # the stray holds the folder's name: out of the way first
            src = self.inbound / interim_name()
            os.replace(self.inbound / name, src)
        if INTERIM.fullmatch(src.name):
            label = REJECTED
        aside = self._hub_folder(REJECTED)
        for dest in aside_names(label):
            if not os.path.lexists(aside / dest):
                break
        os.replace(src, aside / dest)

    def put(self, local: Path, remote_name: str) -> None:
        self.outbound.mkdir(parents=True, exist_ok=True)
        final = self.outbound / remote_name
        with atomic_write(final, fsync=False, temporary=final.with_name(final.name + ".part")) as tmp:
            shutil.copyfile(local, tmp)
