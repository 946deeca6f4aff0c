"""Who may set which register field, read from schemas/register.yaml.

Authority is data, not code: moving the bureau's roll above civil affairs for
names, or adding a feed, is an edit of that file.  It is checked when it loads,
so a typo is an error naming the file and the key, not a source that silently
never wins.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from jinbao import strict_yaml
from jinbao.schemas.store_tables import REGISTER_FIELDS
from jinbao.settings import load_setting

FILE = "register.yaml"
STATUSES = ("alive", "deceased", "emigrated", "duplicate", "deregistered")
DECEASED = "deceased"


class RegisterError(ValueError):
    """schemas/register.yaml is malformed; the message names the key."""


@dataclass(frozen=True)
class Authority:
    #: register column (lower-case hub code) -> feeds that may set it, most authoritative first
    fields: dict[str, tuple[str, ...]]
    #: feeds whose people get a register row without setting any field
    people: tuple[str, ...]
    #: death sources, most trusted first
    deaths: tuple[str, ...]
    #: police deregistration reason (hub code) -> life status
    police_reasons: dict[str, str]
    default: str
    #: register column -> values that mean "not known" (offered as nothing)
    unknown: dict[str, tuple[str, ...]] = None

    def offers(self, feed: str) -> list[str]:
        """The register columns `feed` may set, in register order."""
        return [col for col, feeds in self.fields.items() if feed in feeds]

    def rank(self, column: str, feed: str) -> int:
        """0 for the most authoritative feed of the column; len(feeds) for any feed not listed."""
        feeds = self.fields[column]
        return feeds.index(feed) if feed in feeds else len(feeds)

    def takes_part(self, feed: str) -> bool:
        return feed in self.people or feed in self.deaths or any(feed in f for f in self.fields.values())

    def feeds(self) -> set[str]:
        return {f for feeds in self.fields.values() for f in feeds} | set(self.people) | set(self.deaths)


def _feeds(path: str, key: str, value) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RegisterError(f"{path}: {key} must be a list of feed names, got {value!r}")
    if len(set(value)) != len(value):
        raise RegisterError(f"{path}: {key} names a feed twice: {value!r}")
    return tuple(value)


def parse(text: str, path: str = FILE) -> Authority:
    """`text` read as the register file; `path` names it in errors (another copy, in tests)."""
    raw = strict_yaml.load(path, RegisterError, text)
    needs = "needs the keys fields and life_status (and may have unknown_values)"
    if isinstance(raw, dict):
        strict_yaml.refuse_unknown(path, raw, ("fields", "life_status", "unknown_values"), RegisterError, hint=needs)
    if not isinstance(raw, dict) or not {"fields", "life_status"} <= set(raw):
        raise RegisterError(f"{path}: {needs}")
    unknown = {}
    for code, values in (raw.get("unknown_values") or {}).items():
        column = str(code).lower()
        if column not in REGISTER_FIELDS or not isinstance(values, list):
            raise RegisterError(f"{path}: unknown_values.{code} must be a register field with a list of values")
        unknown[column] = tuple(str(v) for v in values)
    fields, people = {}, ()
    for code, feeds in (raw["fields"] or {}).items():
        if code == "_people":
            people = _feeds(path, "fields._people", feeds)
            continue
        column = str(code).lower()
        if column not in REGISTER_FIELDS:
            raise RegisterError(f"{path}: fields.{code} is not a register field; the register holds "
                                f"{', '.join(c.upper() for c in REGISTER_FIELDS)}")
        fields[column] = _feeds(path, f"fields.{code}", feeds)
    life = raw["life_status"]
    if isinstance(life, dict):
        strict_yaml.refuse_unknown(path, life, ("deaths", "police_reasons", "default"), RegisterError,
                                   "life_status.")
    if not isinstance(life, dict) or set(life) != {"deaths", "police_reasons", "default"}:
        raise RegisterError(f"{path}: life_status needs exactly deaths, police_reasons and default")
    reasons = {str(k): v for k, v in (life["police_reasons"] or {}).items()}
    for key, status in [*((f"life_status.police_reasons.{k}", v) for k, v in reasons.items()),
                        ("life_status.default", life["default"])]:
        if status not in STATUSES:
            raise RegisterError(f"{path}: {key} {status!r} is not one of {', '.join(STATUSES)}")
    return Authority(fields=fields, people=people, deaths=_feeds(path, "life_status.deaths", life["deaths"]),
                     police_reasons=reasons, default=life["default"], unknown=unknown)


@functools.lru_cache(maxsize=1)
def authority() -> Authority:
    return parse((load_setting("schemas_dir") / FILE).read_text(encoding="utf-8"))    # JINBAO_SCHEMAS_DIR
