"""The seam between moving bytes and judging them.

A transport only lists, fetches, acknowledges and uploads files; it never
parses or decrypts.  The engine works the same whether a delivery came from
a local folder, an SFTP drop zone or a partner's front-end database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: <feed>_<YYYYMMDD>_<seq>.csv[.p7m] as agreed in section 4 of the exchange agreements.
DELIVERY_NAME = re.compile(
    r"^(?P<feed>[a-z_]+\.[a-z_]+)_(?P<date>\d{8})_(?P<seq>\d{1,12})\.csv(?P<p7m>\.p7m)?$")
#: Names a partner (or the hub) uses while an upload is still in progress.
TEMPORARY = re.compile(r"(^\.|\.tmp$|\.part$|\.filepart$|~$)")


@dataclass(frozen=True)
class RemoteDelivery:
    """A complete delivery as seen in a partner's inbound folder."""

    name: str                      # data file name, e.g. police.death_20261121_000001.csv
    feed: str
    business_date: str             # YYYYMMDD from the name
    sequence: int
    companions: tuple[str, ...] = field(default_factory=tuple)  # manifest, signature

    @property
    def files(self) -> tuple[str, ...]:
        return (self.name, *self.companions)


#: The two files that sign and describe an enveloped delivery (exchange agreements §4).
ENVELOPE_COMPANIONS = (".manifest.json", ".manifest.json.sig")


def delivery_base(name: str) -> str:
    """police.death_20261122_000001.csv[.p7m] -> police.death_20261122_000001"""
    return name.split(".csv")[0]


def companion_names(name: str, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """`<base><suffix>` for each suffix: the manifest of X.csv.p7m is X.manifest.json."""
    return tuple(delivery_base(name) + s for s in suffixes)


def parse_delivery_name(name: str) -> RemoteDelivery | None:
    m = DELIVERY_NAME.match(name)
    if not m:
        return None
    return RemoteDelivery(name=name, feed=m["feed"], business_date=m["date"], sequence=int(m["seq"]))


def complete_deliveries(names, feed: str, companions: tuple[str, ...]) -> list[RemoteDelivery]:
    """Deliveries of `feed` whose data file and every companion are there, oldest sequence first.

    Temporary names (uploads in progress) are never taken; a data file whose
    manifest or signature has not arrived yet waits for the next run.  Companions
    are looked for as `<base><suffix>`, then as `<data file><suffix>` (the
    agreement's "<same>" reads both ways); one spelling for all, never mixed.
    """
    names = {n for n in names if not TEMPORARY.search(n)}
    found = []
    for name in names:
        d = parse_delivery_name(name)
        if d is None or d.feed != feed:
            continue
        for stem in (delivery_base(name), name):
            needed = tuple(stem + s for s in companions)
            if all(n in names for n in needed):
                found.append(RemoteDelivery(d.name, d.feed, d.business_date, d.sequence, needed))
                break
    return sorted(found, key=lambda d: (d.sequence, d.name))


class Transport(Protocol):
    """What the engine needs from any partner transport."""

    def list_deliveries(self, feed: str) -> list[RemoteDelivery]:
        """Complete deliveries of `feed` waiting in inbound/, oldest sequence first."""

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        """Copy every file of the delivery into `dest` (atomically: all or nothing)."""

    def ack(self, delivery: RemoteDelivery) -> None:
        """Move the delivery to inbound/processed/; only called after the store committed."""

    def put(self, local: Path, remote_name: str) -> None:
        """Upload to outbound/ under a temporary name, then rename when complete."""
