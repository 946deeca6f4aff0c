"""The delivery manifest (exchange agreements §4): what the partner says it sent.

It is the only thing the hub trusts before the signature is checked, so it is
parsed strictly: every field present, of the right type, and consistent with
the delivery's file name.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from jinbao.connectors.base import parse_delivery_name
from jinbao.exchange_zone.errors import DeliveryRefused

FIELDS = ("feed", "file", "sha256", "records", "encoding", "sequence", "created_at")


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
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode("utf-8")


def build(feed: str, file: str, sha256: str, records: int, encoding: str, sequence: int) -> Manifest:
    return Manifest(feed=feed, file=file, sha256=sha256, records=records, encoding=encoding, sequence=sequence,
                    created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def parse(raw: bytes, data_file: str) -> Manifest:
    """Strict parse; refuses MANIFEST_INVALID naming what is wrong."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeliveryRefused("MANIFEST_INVALID", f"not UTF-8 JSON: {exc}", data_file) from exc
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        raise DeliveryRefused("MANIFEST_INVALID", f"missing {', '.join(missing)}", data_file)
    try:
        m = Manifest(feed=str(obj["feed"]), file=str(obj["file"]), sha256=str(obj["sha256"]).lower(),
                     records=int(obj["records"]), encoding=str(obj["encoding"]), sequence=int(obj["sequence"]),
                     created_at=str(obj["created_at"]))
    except (TypeError, ValueError) as exc:
        raise DeliveryRefused("MANIFEST_INVALID", f"bad field type: {exc}", data_file) from exc
    named = parse_delivery_name(data_file)
    plain = data_file.removesuffix(".p7m")
    if m.file not in (data_file, plain) or named is None or named.feed != m.feed or named.sequence != m.sequence:
        raise DeliveryRefused("MANIFEST_INVALID", f"manifest says {m.feed} #{m.sequence} {m.file}, "
                                                  f"the delivery is {data_file}", data_file)
    if m.encoding.upper() not in ("GB18030", "UTF-8") or len(m.sha256) != 64 or m.records < 0:
        raise DeliveryRefused("MANIFEST_INVALID", "encoding, sha256 or records out of range", data_file)
    return m
