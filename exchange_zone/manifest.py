"""The delivery manifest (exchange agreements §4): what the partner says it sent.

It is read before anything else is trusted, so it is parsed strictly: every
agreed field present with its JSON type (a `records` of "12" or 12.5 is refused,
not coerced), and consistent with the delivery's file name (feed and sequence),
so a validly signed manifest cannot be replayed beside another data file.

`file` names the data file as delivered (`<base>.csv.p7m`); the plaintext name
`<base>.csv` is accepted too, since the agreement does not say which.  `encoding`
is authoritative for the payload (agreements §2, §4): the plaintext is read in it,
whatever the feed's declaration says; a spelling of GB18030 or UTF-8 (`utf8`) is
that encoding, anything else is refused as one the hub cannot read.
"""
from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass

from jinbao import ledger
from jinbao.connectors.base import parse_delivery_name
from jinbao.staged.refused import DeliveryRefused

FIELDS = ("feed", "file", "sha256", "records", "encoding", "sequence", "created_at")
ENCODINGS = ("GB18030", "UTF-8")
#: Python's name of a codec -> the agreed encoding it is (aliases such as `utf8` are the same encoding).
_READABLE = {"gb18030": "GB18030", "utf-8": "UTF-8", "utf-8-sig": "UTF-8"}


def readable_encoding(name: str) -> str | None:
    """The agreed encoding (GB18030 or UTF-8) that `name` is a spelling of, or None: an encoding the
    hub cannot read (exchange agreements §2 allow only those two; GBK, Latin-1, UTF-16 are others)."""
    try:
        return _READABLE.get(codecs.lookup(name.strip()).name)
    except (LookupError, ValueError):
        return None
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Manifest:
    feed: str
    file: str
    sha256: str
    records: int
    encoding: str
    sequence: int
    created_at: str

    def to_bytes(self) -> bytes:
        """The exact bytes that are signed (UTF-8 JSON, fields in agreement order)."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode("utf-8")


def build(feed: str, file: str, sha256: str, records: int, encoding: str, sequence: int,
          created_at: str | None = None) -> Manifest:
    """A manifest stamped by the hub's clock (`ledger.now`), the clock `parse` checks it against: a
    manifest the hub writes, or a test's partner writes under an injected clock, is never "from the future"."""
    created = created_at or ledger.now().isoformat(timespec="seconds")
    return Manifest(feed=feed, file=file, sha256=sha256, records=records, encoding=encoding, sequence=sequence,
                    created_at=created)


def _refuse(detail: str, data_file: str):
    raise DeliveryRefused("MANIFEST_INVALID", detail, data_file)


#: How far a partner's clock may run ahead of the hub's.
CLOCK_SKEW = dt.timedelta(hours=24)


def _check_created_at(created_at: str, business_date: str, data_file: str) -> None:
    """An ISO 8601 timestamp, not before the business day it covers (in China Standard Time) and
    not in the future: a manifest from 2099 or 1999 describes some other delivery."""
    try:
        when = dt.datetime.fromisoformat(created_at)
    except ValueError:
        _refuse(f"created_at {created_at!r} is not an ISO 8601 timestamp", data_file)
    cst = dt.timezone(dt.timedelta(hours=8))
    when = when if when.tzinfo else when.replace(tzinfo=cst)
    day = dt.datetime.strptime(business_date, "%Y%m%d").replace(tzinfo=cst)
    if when < day:
        _refuse(f"created_at {created_at} is before the business day {day.date()} the delivery covers", data_file)

    if when > ledger.now() + CLOCK_SKEW:                    # the hub's clock (injectable in tests)
        _refuse(f"created_at {created_at} is in the future", data_file)


def parse(raw: bytes, data_file: str) -> Manifest:
    """Strict parse of the manifest of `data_file`; refuses MANIFEST_INVALID naming what is wrong."""
    try:
        obj = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:     # ValueError: bad JSON, or an int past Python's limit
        _refuse(f"not UTF-8 JSON: {str(exc)[:200]}", data_file)
    except RecursionError:
        _refuse("not UTF-8 JSON: nested too deeply", data_file)
    if not isinstance(obj, dict):
        _refuse("not a JSON object", data_file)
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        _refuse(f"missing {', '.join(missing)}", data_file)
    for f in ("feed", "file", "sha256", "encoding", "created_at"):
        if not isinstance(obj[f], str) or not obj[f]:
            _refuse(f"{f} must be a non-empty string", data_file)
    for f in ("records", "sequence"):
        if not isinstance(obj[f], int) or isinstance(obj[f], bool) or obj[f] < 0:
            _refuse(f"{f} must be a non-negative integer, not {obj[f]!r}", data_file)
    m = Manifest(**{f: obj[f] for f in FIELDS})
    return validate(m, data_file)


def validate(m: Manifest, data_file: str) -> Manifest:
    """Check the manifest's values and that it describes `data_file` (feed, sequence, name)."""
    if not _SHA256.match(m.sha256.lower()):
        _refuse(f"sha256 {m.sha256!r} is not 64 hex digits", data_file)
    encoding = readable_encoding(m.encoding)
    if encoding is None:
        _refuse(f"encoding {m.encoding!r} is not one the hub can read: the data must be in "
                f"{' or '.join(ENCODINGS)} and the manifest must say which", data_file)
    named = parse_delivery_name(data_file)
    if named is None:
        _refuse("the data file name is not <feed>_<YYYYMMDD>_<seq>.csv[.p7m]", data_file)
    if m.file not in (data_file, data_file.removesuffix(".p7m")):
        _refuse(f"manifest names file {m.file}, the delivery is {data_file}", data_file)
    if m.feed != named.feed:
        _refuse(f"manifest says feed {m.feed}, the file name says {named.feed}", data_file)
    if m.sequence != named.sequence:
        _refuse(f"manifest says sequence {m.sequence}, the file name says {named.sequence}", data_file)
    _check_created_at(m.created_at, named.business_date, data_file)
    return Manifest(m.feed, m.file, m.sha256.lower(), m.records, encoding, m.sequence, m.created_at)
