"""The seam between moving bytes and judging them.

A transport lists, fetches, acknowledges and uploads files; `open` hands the
engine a fetched delivery as plaintext plus what its sender declared about it.
The plain transports (local folder, SFTP) open by hashing the file; the
enveloped wrapper (exchange_zone/enveloped.py) verifies and decrypts first.  The
engine is the same whichever it gets, and never sees an envelope.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

#: <feed>_<YYYYMMDD>_<seq>.csv[.p7m] as agreed in section 4 of the exchange agreements: exactly
#: (ASCII digits, and the end is the end: `$` would also match before a trailing line break).
DELIVERY_NAME = re.compile(
    r"(?P<feed>[a-z_]+\.[a-z_]*[a-z])_(?P<date>[0-9]{8})_(?P<seq>[0-9]{1,12})\.csv(?P<p7m>\.p7m)?\Z")
#: Names a partner (or the hub) uses while an upload is still in progress.
TEMPORARY = re.compile(r"(\A\.|\.tmp\Z|\.part\Z|\.filepart\Z|~\Z)")


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
DELIVERY_PREFIX = re.compile(r"(?P<feed>[a-z_]+\.[a-z_]*[a-z])_[0-9]{8}_[0-9]{1,12}\.")


def delivery_feed(name: str) -> str | None:
    """The feed a delivery's file (data or companion) belongs to by its name, or None."""
    m = DELIVERY_PREFIX.match(name)
    return m["feed"] if m else None


def parse_delivery_name(name: str) -> RemoteDelivery | None:
    """The delivery a data file's name describes; None unless it is the agreed shape with a real date."""
    m = DELIVERY_NAME.match(name)          # anchored at both ends (\\Z)
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


def aside_names(name: str, limit: int = 255):
    """Names to try for a stray in inbound/rejected/: its own, then `<name>.1`, `<name>.2`, ... with the
    name cut (between characters) short enough in bytes that the number always fits in a file name."""
    yield name
    stem, size = [], 0
    for ch in name:
        size += len(ch.encode("utf-8", "surrogateescape"))
        if size > limit - 12:
            break
        stem.append(ch)
    n = 1
    while True:
        yield f"{''.join(stem)}.{n}"
        n += 1


def interim_name() -> str:
    """An interim name for a stray called `rejected` (connectors/names.py INTERIM)."""
    return f".rejected.{uuid.uuid4().hex[:8]}.jinbao-aside"


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
        """Move a stray entry (badly named file, link, device, folder) to inbound/rejected/, without reading
        it and never over another entry there; an entry called `rejected` itself goes through an interim
        name (connectors/names.py INTERIM) while the folder is made.  Raises FileNotFoundError when the
        entry is no longer in inbound/."""

    @abstractmethod
    def put(self, local: Path, remote_name: str) -> None:
        """Upload to outbound/ under a temporary name, then rename when complete."""

    @property
    def data_suffix(self) -> str:
        """How a data file of this zone ends: sealed deliveries (with companions) are .csv.p7m."""
        return ".csv.p7m" if self.companions else ".csv"

    #: Whether inbound/ is a folder of files (a partner's database is not: nothing to classify there).
    drop_zone = True

    def list_deliveries(self, feed: str) -> list[RemoteDelivery]:
        """Complete deliveries of `feed` waiting in inbound/, oldest sequence first (connectors/names.py)."""
        # cycle: names.py imports from this module (and names loads pyarrow, which DAG parsing must not)
        from jinbao.connectors.names import Form, classify
        return classify(self.entries(), [Form(feed, bool(self.companions), self.companions)]).of(feed)

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
