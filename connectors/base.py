"""The seam between moving bytes and judging them.

A transport lists, fetches, acknowledges and uploads files; `open` hands the
engine a fetched delivery as plaintext plus what its sender declared about it.
The plain transports (local folder, SFTP) open by hashing the file; the
enveloped wrapper (connectors/enveloped.py) verifies and decrypts first.  The
engine is the same whichever it gets, and never sees an envelope.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class Opened:
    """A fetched delivery, ready to judge."""

    delivery: RemoteDelivery
    data: Path                          # the plaintext CSV
    sha256: str                         # of the plaintext: the ledger's identity of the delivery
    declared_records: int | None = None  # what a verified manifest says, to be checked after parsing
    encoding: str | None = None          # what a verified manifest says the plaintext is written in


def delivery_base(name: str) -> str:
    """police.death_20261122_000001.csv[.p7m] -> police.death_20261122_000001 (also names receipts)."""
    return name.split(".csv")[0]


#: What every file of a delivery starts with (data file and companions alike).
DELIVERY_PREFIX = re.compile(r"^(?P<feed>[a-z_]+\.[a-z_]+)_\d{8}_\d{1,12}\.")


def delivery_feed(name: str) -> str | None:
    """The feed a delivery's file (data or companion) belongs to by its name, or None."""
    m = DELIVERY_PREFIX.match(name)
    return m["feed"] if m else None


def parse_delivery_name(name: str) -> RemoteDelivery | None:
    """The delivery a data file's name describes; None unless it is the agreed shape with a real date."""
    m = DELIVERY_NAME.match(name)
    if not m:
        return None
    try:
        dt.datetime.strptime(m["date"], "%Y%m%d")
    except ValueError:                       # 20261399: the agreed shape, but no day
        return None
    return RemoteDelivery(name=name, feed=m["feed"], business_date=m["date"], sequence=int(m["seq"]))


def companions_of(names, data_name: str, suffixes: tuple[str, ...]) -> tuple[str, ...] | None:
    """The companion files of `data_name` among `names`, or None while one is missing.

    Looked for as `<base><suffix>`, then as `<data file><suffix>` (the agreement's
    "<same>" reads both ways); one spelling for all, never mixed, so a signature
    is always the one of the manifest beside it.
    """
    names = set(names)
    for stem in (delivery_base(data_name), data_name):
        needed = tuple(stem + s for s in suffixes)
        if all(n in names for n in needed):
            return needed
    return None


def complete_deliveries(names, feed: str, companions: tuple[str, ...]) -> list[RemoteDelivery]:
    """Deliveries of `feed` whose data file and every companion are there, oldest sequence first.

    Temporary names (uploads in progress) are never taken; a data file whose
    manifest or signature has not arrived yet waits for the next run.
    """
    names = {n for n in names if not TEMPORARY.search(n)}
    found = []
    for name in names:
        d = parse_delivery_name(name)
        if d is None or d.feed != feed:
            continue
        needed = companions_of(names, name, companions)
        if needed is not None:
            found.append(RemoteDelivery(d.name, d.feed, d.business_date, d.sequence, needed))
    return sorted(found, key=lambda d: (d.sequence, d.name))


def strays(entries: dict[str, str], feeds: set[str], partner: str) -> list[tuple[str, str, str]]:
    """(name, reason code, detail) of every entry of inbound/ that none of `feeds` will ever take:
    links, devices and other non-files (never read), and files not named as a delivery of one of
    them.  Folders and temporary names (uploads in progress) are not strays."""
    out = []
    for name, kind in sorted(entries.items()):
        if kind == "dir" or TEMPORARY.search(name):
            continue
        if kind != "file":
            out.append((name, "NOT_A_FILE", f"{name} in inbound/ is not a regular file; it was not read"))
        elif delivery_feed(name) not in feeds:       # a delivery of ours or a companion may still be arriving
            out.append((name, "BAD_NAME", f"{name} is not <feed>_<YYYYMMDD>_<seq>.csv[.p7m] of a feed agreed "
                                          f"with {partner}; it was not read"))
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Transport(ABC):
    """A partner's drop zone: inbound/ (partner writes) and outbound/ (hub writes)."""

    #: Suffixes of files that must sit beside a data file before it is a delivery.
    companions: tuple[str, ...] = ()

    @abstractmethod
    def entries(self) -> dict[str, str]:
        """Everything in inbound/ (not below it), name -> kind: "file" (regular), "dir", or "other"
        (links, devices, sockets: never read; a link is not followed, wherever it points)."""

    def names(self) -> set[str]:
        """Names of the regular files waiting in inbound/."""
        return {n for n, kind in self.entries().items() if kind == "file"}

    @abstractmethod
    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        """Copy every file of the delivery into `dest` (atomically: all or nothing)."""

    @abstractmethod
    def ack(self, delivery: RemoteDelivery, batch_id: int | None = None) -> None:
        """Move the delivery to inbound/processed/<batch_id>/ (never over another batch's files);
        only called after the store committed."""

    @abstractmethod
    def set_aside(self, name: str) -> None:
        """Move a stray entry (badly named file, link, device) to inbound/rejected/, without reading it."""

    @abstractmethod
    def put(self, local: Path, remote_name: str) -> None:
        """Upload to outbound/ under a temporary name, then rename when complete."""

    def list_deliveries(self, feed: str) -> list[RemoteDelivery]:
        """Complete deliveries of `feed` waiting in inbound/, oldest sequence first."""
        return complete_deliveries(self.names(), feed, self.companions)

    def open(self, delivery: RemoteDelivery, dest: Path) -> Opened:
        """Fetch into `dest` and hand over the plaintext (raises DeliveryRefused when it cannot be trusted)."""
        self.fetch(delivery, dest)
        data = Path(dest) / delivery.name
        return Opened(delivery, data, sha256_of(data))

    def send(self, path: Path, feed: str, sequence: int, encoding: str = "UTF-8") -> list[str]:
        """Deliver a hub file (a receipt, an outbound feed) written in `encoding` to the partner; returns the
        names uploaded."""
        self.put(path, path.name)
        return [path.name]

    def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
