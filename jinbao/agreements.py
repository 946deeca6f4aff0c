"""Data-sharing agreements (exchange agreements §3), declared as data beside the feeds.

An agreement is the legal limit of an outbound feed: which hub fields may leave for
which partner, for what purpose, under which law, from when until when.  It lives in
`<feeds dir>/agreements/<name>.yaml`, apart from the feed declaration, because the
two change for different reasons and are signed off by different people: engineers
edit a feed, the agreement is what the departments signed.  The feed declaration
loader refuses any feed, query or mapping that asks for a field outside its
agreement (jinbao/declarations.py), so a forbidden field is stopped before a DAG
exists, not found in a partner's file.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from jinbao import partners, strict_yaml

KEYS = ("agreement", "partner", "feed", "title", "fields", "purpose", "legal_basis", "in_force", "schedule")
CADENCES = ("monthly", "quarterly")
FOLDER = "agreements"


class AgreementError(ValueError):
    """An agreement declaration is missing or malformed; the message names file and key."""


@dataclass(frozen=True)
class Agreement:
    name: str
    partner: str
    feed: str
    title: str
    fields: tuple[str, ...]
    purpose: str
    legal_basis: str
    valid_from: dt.date
    valid_to: dt.date | None
    schedule: str
    path: Path | None = None

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    @property
    def validity(self) -> str:
        return f"{self.valid_from} to {self.valid_to or 'further notice'}"

    def outside(self, on: dt.date) -> str:
        """Why nothing may be sent on `on` (for the run's log and the CLI)."""
        return (f"agreement {self.name} with {self.partner} is in force from {self.validity}; business date {on} "
                "is outside it, so nothing is sent")


def _date(path: Path, key: str, value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise AgreementError(f"{path}: {key} {value!r} is not a date YYYY-MM-DD") from exc


def parse(path: Path) -> Agreement:
    """The agreement in `<feeds dir>/agreements/<name>.yaml`; its partner must be in `<feeds dir>/partners.yaml`."""
    raw = strict_yaml.load_mapping(path, AgreementError, "an agreement")
    strict_yaml.refuse_unknown(path, raw, KEYS, AgreementError)
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise AgreementError(f"{path}: missing key(s) {', '.join(missing)}")
    if raw["agreement"] != path.stem:
        raise AgreementError(f"{path}: agreement {raw['agreement']!r} must match the file name {path.stem!r}")
    partners.require(path, "partner", raw["partner"], path.parent.parent, AgreementError)
    fields = raw["fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
        raise AgreementError(f"{path}: fields must be a non-empty list of hub codes")
    if len(set(fields)) != len(fields):
        raise AgreementError(f"{path}: fields lists a code twice")
    if raw["schedule"] not in CADENCES:
        raise AgreementError(f"{path}: schedule {raw['schedule']!r} is not one of {', '.join(CADENCES)}")
    for key in ("purpose", "legal_basis", "title"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise AgreementError(f"{path}: {key} must be a non-empty text")
    window = raw["in_force"]
    if not isinstance(window, dict):
        raise AgreementError(f"{path}: in_force must be {{from: YYYY-MM-DD, to: YYYY-MM-DD or null}}")
    strict_yaml.refuse_unknown(path, window, ("from", "to"), AgreementError, "in_force.")
    if "from" not in window:
        raise AgreementError(f"{path}: in_force must be {{from: YYYY-MM-DD, to: YYYY-MM-DD or null}}")
    start, end = _date(path, "in_force.from", window["from"]), _date(path, "in_force.to", window.get("to"))
    if end is not None and end < start:
        raise AgreementError(f"{path}: in_force.to {end} is before in_force.from {start}")
    return Agreement(name=raw["agreement"], partner=raw["partner"], feed=raw["feed"], title=raw["title"],
                     fields=tuple(fields), purpose=raw["purpose"].strip(), legal_basis=raw["legal_basis"].strip(),
                     valid_from=start, valid_to=end, schedule=raw["schedule"], path=path)


def load_agreements(feeds_dir: Path) -> dict[str, Agreement]:
    """Every agreement in `<feeds_dir>/agreements/` by name ({} when the folder is absent)."""
    folder = Path(feeds_dir) / FOLDER
    if not folder.is_dir():
        return {}
    return {a.name: a for a in map(parse, sorted(folder.glob("*.yaml")))}
