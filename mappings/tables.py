"""Versioned mapping tables, loaded from YAML and pinned to a business date.

A delivery is translated with the versions in force on its business date, and
the batch row records which ones, so a re-run months later translates the same
way and an auditor can see which table was used.
"""
from __future__ import annotations

import datetime as dt
import functools
import pickle
from dataclasses import dataclass
from pathlib import Path

from jinbao import strict_yaml

from jinbao.files import write_atomically
from jinbao.settings import load_setting

#: JINBAO_MAPPINGS_DIR or the shipped mappings/ (read at import; tests may also move the two below).
HERE = load_setting("mappings_dir")
CODES_DIR = HERE / "codes"
FEEDS_DIR = HERE / "feeds"


class MappingError(ValueError):
    """A mapping table is missing, malformed or has no version in force."""


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _in_force(versions: list[dict], on: dt.date, what: str) -> dict:
    hits = [v for v in versions
            if _date(v["valid_from"]) <= on and (_date(v.get("valid_to")) is None or on <= _date(v["valid_to"]))]
    if len(hits) != 1:
        raise MappingError(f"{what}: {len(hits)} versions in force on {on.isoformat()} (need exactly 1)")
    return hits[0]


@dataclass(frozen=True)
class CodeTable:
    """One version of a partner-code -> hub-code table."""

    name: str
    version: str
    hub_field: str
    forward: dict[str, str]
    reverse: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def agreed(self) -> str:
        """The partner codes this version takes, as a rejection states them (agreed_values)."""
        return agreed_values(self.forward)


#: At most this many of a code set's values are named in a rejection's message.
AGREED_SHOWN = 12


def agreed_values(codes) -> str:
    """A set of codes as a rejection states it: all of them, or the first AGREED_SHOWN and how many there
    are (a receipt line stays short for a table of 56 ethnicities)."""
    ordered = sorted(codes)
    shown = ", ".join(ordered[:AGREED_SHOWN])
    return shown if len(ordered) <= AGREED_SHOWN else f"{shown}, … ({len(ordered)} values)"
#: strftime codes as an agreement writes a date layout (YYYYMMDD, YYYY-MM).
_LAYOUT = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "hh", "%M": "mm", "%S": "ss"}


def date_layout(fmt: str) -> str:
    """'%Y%m%d' -> 'YYYYMMDD': a mapping's date_format as the partner's agreement writes it."""
    for code, words in _LAYOUT.items():
        fmt = fmt.replace(code, words)
    return fmt


@dataclass(frozen=True)
class FieldRule:
    partner: str
    hub: str
    codes: str | None = None
    date_format: str | None = None


@dataclass(frozen=True)
class FeedMapping:
    feed: str
    version: str
    fields: tuple[FieldRule, ...]
    code_tables: dict[str, CodeTable]
    upgrade_15_digit_ids: bool = False

    @property
    def label(self) -> str:
        tables = ",".join(t.label for t in sorted(self.code_tables.values(), key=lambda t: t.name))
        return f"{self.feed}@{self.version}" + (f"[{tables}]" if tables else "")

    def partner_name(self, hub: str) -> str:
        return next(f.partner for f in self.fields if f.hub == hub)

    @property
    def columns(self) -> tuple[str, ...]:
        """The partner's columns this version reads: the columns the agreement in force allows (agreements §5)."""
        return tuple(f.partner for f in self.fields)


def _reverse(forward: dict[str, str], prefer: dict[str, str], what: str) -> dict[str, str]:
    """Hub -> partner; a hub code reached from two partner codes must say which one goes back."""
    rev: dict[str, str] = {}
    for p, h in forward.items():
        if h in rev and h not in prefer:
            raise MappingError(f"{what}: hub code {h!r} comes from {rev[h]!r} and {p!r}; add reverse_prefer")
        rev[h] = p
    rev.update(prefer)
    return rev


#: The keys of a code table file (mappings/codes/), of each of its versions.
CODE_TABLE_KEYS = ("name", "hub_field", "versions")
CODE_VERSION_KEYS = ("version", "valid_from", "valid_to", "map", "reverse_prefer")
#: The keys of a feed mapping file (mappings/feeds/), of each of its versions, of each field's rule.
FEED_MAPPING_KEYS = ("feed", "direction", "versions")
FEED_VERSION_KEYS = ("version", "valid_from", "valid_to", "upgrade_15_digit_ids", "fields")
FIELD_RULE_KEYS = ("to", "codes", "date_format")


def load_yaml(path: Path, what: str = "a mapping file") -> dict:
    """A mapping file's YAML (repeated keys refused: a partner code mapped twice is exactly the
    mistake we must catch)."""
    if not path.exists():
        raise MappingError(f"no mapping file {path}")
    return strict_yaml.load_mapping(path, MappingError, what)


def _versions(path: Path, raw: dict, keys: tuple[str, ...]) -> list[dict]:
    versions = raw.get("versions")
    for i, version in enumerate(versions if isinstance(versions, list) else []):
        if isinstance(version, dict):
            strict_yaml.refuse_unknown(path, version, keys, MappingError, f"versions[{i}].")
    return versions if isinstance(versions, list) else []


def read_code_table(path: Path) -> dict:
    """A code table file, its keys checked (an unknown key is a typo that nothing would read)."""
    raw = load_yaml(path, "a code table")
    strict_yaml.refuse_unknown(path, raw, CODE_TABLE_KEYS, MappingError)
    _versions(path, raw, CODE_VERSION_KEYS)
    return raw


def read_feed_mapping(path: Path) -> dict:
    """A feed mapping file, its keys checked down to each field's rule."""
    raw = load_yaml(path, "a feed mapping")
    strict_yaml.refuse_unknown(path, raw, FEED_MAPPING_KEYS, MappingError)
    for i, version in enumerate(_versions(path, raw, FEED_VERSION_KEYS)):
        fields = version.get("fields") if isinstance(version, dict) else None
        for partner, rule in (fields.items() if isinstance(fields, dict) else ()):
            if isinstance(rule, dict):
                strict_yaml.refuse_unknown(path, rule, FIELD_RULE_KEYS, MappingError,
                                           f"versions[{i}].fields.{partner}.")
    return raw


@functools.lru_cache(maxsize=256)
def _load(path: Path, read) -> dict:
    return read(path)


def code_table(name: str, on: dt.date) -> CodeTable:
    raw = _load(CODES_DIR / f"{name}.yaml", read_code_table)
    v = _in_force(raw["versions"], on, f"code table {name}")
    forward = {str(k): str(val) for k, val in v["map"].items()}
    prefer = {str(k): str(val) for k, val in (v.get("reverse_prefer") or {}).items()}
    return CodeTable(name=name, version=str(v["version"]), hub_field=raw["hub_field"],
                     forward=forward, reverse=_reverse(forward, prefer, f"{name}@{v['version']}"))


def feed_mapping(feed: str, on: dt.date) -> FeedMapping:
    raw = _load(FEEDS_DIR / f"{feed}.yaml", read_feed_mapping)
    v = _in_force(raw["versions"], on, f"feed mapping {feed}")
    rules = tuple(FieldRule(partner=p, hub=spec["to"], codes=spec.get("codes"),
                            date_format=spec.get("date_format"))
                  for p, spec in v["fields"].items())
    tables = {r.codes: code_table(r.codes, on) for r in rules if r.codes}
    return FeedMapping(feed=feed, version=str(v["version"]), fields=rules, code_tables=tables,
                       upgrade_15_digit_ids=bool(v.get("upgrade_15_digit_ids", False)))


def agreed_from(feed: str, column: str, after: dt.date) -> dt.date | None:
    """The first day after `after` from which a version of the feed's mapping (the agreement) has `column`,
    or None when no later version has it."""
    try:
        versions = _load(FEEDS_DIR / f"{feed}.yaml", read_feed_mapping)["versions"]
    except (MappingError, KeyError, TypeError):
        return None
    days = [_date(v["valid_from"]) for v in versions
            if column in (v.get("fields") or {}) and _date(v["valid_from"]) > after]
    return min(days) if days else None


#: The file in a batch's staging folder holding the exact tables it was received under.
PIN = "mapping.pickle"


def pin(mapping: "FeedMapping", folder: Path) -> None:
    """Keep the tables in force when a delivery was received beside it, so that judging it later
    (another task, a retry, a resumed run) translates with exactly those, whatever was installed since."""
    write_atomically(Path(folder) / PIN, pickle.dumps(mapping))


def pinned(folder: Path) -> "FeedMapping | None":
    """The tables pinned in a staging folder by `pin`, or None (a batch staged before pinning existed)."""
    path = Path(folder) / PIN
    return pickle.loads(path.read_bytes()) if path.exists() else None   # hub-written, never partner input
