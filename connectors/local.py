"""A partner drop zone that is a plain folder (JINBAO_HOME/exchange_zone/<partner>).

Used by the demo and by partners on the same host; it follows the same
protocol as SFTP (temporary names ignored, companions required, ack = move to
inbound/processed/) so that switching a feed to SFTP changes nothing else.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from jinbao.connectors.base import RemoteDelivery, Transport


class LocalTransport(Transport):
    def __init__(self, zone: Path):
        self.zone = Path(zone)
        self.inbound = self.zone / "inbound"
        self.outbound = self.zone / "outbound"

    def __repr__(self) -> str:
        return f"LocalTransport({self.zone})"

    def names(self) -> set[str]:
        if not self.inbound.is_dir():
            return set()
        return {p.name for p in self.inbound.iterdir() if p.is_file()}

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)
        out = []
        for name in delivery.files:
            tmp = dest / (name + ".part")
            shutil.copyfile(self.inbound / name, tmp)
            os.replace(tmp, dest / name)
            out.append(dest / name)
        return out

    def ack(self, delivery: RemoteDelivery) -> None:
        done = self.inbound / "processed"
        done.mkdir(parents=True, exist_ok=True)
        for name in delivery.files:
            src = self.inbound / name
            if src.exists():
                os.replace(src, done / name)

    def put(self, local: Path, remote_name: str) -> None:
        self.outbound.mkdir(parents=True, exist_ok=True)
        tmp = self.outbound / (remote_name + ".part")
        shutil.copyfile(local, tmp)
        os.replace(tmp, self.outbound / remote_name)
