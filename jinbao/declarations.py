"""Feed declarations: one YAML file per feed, the only place a feed is described.

The DAG factory, `jinbao run` and the docs all read these; adding a feed is a
new YAML file plus its schema and mapping, never new engine code.  A
declaration is checked completely when it loads (keys, transport, rules,
target, the schema and mapping it names), because a typo found by the DAG
processor is an error an operator can fix, and one found at 02:30 by a
running task is an incident.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from jinbao.settings import Settings, load_settings


class FeedError(ValueError):
    """A feed declaration is missing or malformed; the message names file and key."""


@dataclass(frozen=True)
class FeedSpec:
    name: str
    partner: str
    direction: str
    title: str
    description: str
    schedule: str
    start_date: dt.date
    retries: int
    retry_delay_minutes: int
    tags: tuple[str, ...]
    transport: dict
    encoding: str
    schema: str
    mapping: str
    max_reject_share: float
    rules: tuple[dict, ...]
    target_table: str
    target_set: dict = field(default_factory=dict)
    path: Path | None = None


#: Every key a declaration may hold (nested: the keys of that mapping); anything else is a typo.
KEYS = {
    "feed": None, "partner": None, "direction": None, "title": None, "description": None, "schedule": None,
    "start_date": None, "retries": None, "retry_delay_minutes": None, "tags": None,
    "transport": {"kind", "envelope"}, "format": {"type", "encoding"}, "schema": None, "mapping": None,
    "quality": {"max_reject_share", "rules"}, "target": {"table", "set"},
}
REQUIRED = ("feed", "partner", "schedule", "start_date", "transport", "format", "schema", "mapping", "target")
DIRECTIONS = ("inbound",)
FORMATS = ("csv",)
ENCODINGS = ("GB18030", "UTF-8")
#: Cross-field rules a declaration may list, with the keys each takes.
CROSS_RULES = {"not_before": {"rule", "field", "than", "reason"}}


def _check_keys(path: Path, raw: dict) -> None:
    for key, value in raw.items():
        if key not in KEYS:
            raise FeedError(f"{path}: unknown key {key!r}; allowed: {', '.join(KEYS)}")
        nested = KEYS[key]
        if nested is not None:
            if not isinstance(value, dict):
                raise FeedError(f"{path}: {key} must be a mapping of {', '.join(sorted(nested))}")
            for sub in value:
                if sub not in nested:
                    raise FeedError(f"{path}: unknown key {key}.{sub}; allowed: {', '.join(sorted(nested))}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise FeedError(f"{path}: missing key(s) {', '.join(missing)}")


def _one_of(path: Path, key: str, value, allowed) -> None:
    if value not in allowed:
        raise FeedError(f"{path}: {key} {value!r} is not one of {', '.join(map(str, allowed))}")


def _check_rules(path: Path, rules) -> tuple[dict, ...]:
    from jinbao.quality.reasons import REASONS

    if not isinstance(rules, list):
        raise FeedError(f"{path}: quality.rules must be a list")
    for i, rule in enumerate(rules):
        where = f"quality.rules[{i}]"
        if not isinstance(rule, dict):
            raise FeedError(f"{path}: {where} must be a mapping")
        _one_of(path, f"{where}.rule", rule.get("rule"), tuple(CROSS_RULES))
        extra = set(rule) - CROSS_RULES[rule["rule"]]
        missing = CROSS_RULES[rule["rule"]] - set(rule)
        if extra or missing:
            raise FeedError(f"{path}: {where} " + (f"has unknown key(s) {', '.join(sorted(extra))}" if extra
                                                   else f"lacks {', '.join(sorted(missing))}"))
        _one_of(path, f"{where}.reason", rule["reason"], tuple(REASONS))
    return tuple(dict(r) for r in rules)


def _check_references(path: Path, raw: dict) -> None:
    """The transport kind, store table, partner schema and mapping a declaration names must exist."""
    from jinbao.connectors.registry import ENVELOPES, TRANSPORTS
    from jinbao.mappings.tables import FEEDS_DIR
    from jinbao.schemas.dictionary import PARTNERS_DIR
    from jinbao.schemas.store_tables import TARGETS

    _one_of(path, "transport.kind", raw["transport"].get("kind", "local"), tuple(TRANSPORTS))
    _one_of(path, "transport.envelope", raw["transport"].get("envelope", "none"), ENVELOPES)
    _one_of(path, "target.table", raw["target"].get("table"), tuple(TARGETS))
    if not (PARTNERS_DIR / f"{raw['schema']}.yaml").is_file():
        raise FeedError(f"{path}: schema {raw['schema']!r} has no file {raw['schema']}.yaml among the partner schemas")
    if not (FEEDS_DIR / f"{raw['mapping']}.yaml").is_file():
        raise FeedError(f"{path}: mapping {raw['mapping']!r} has no file {raw['mapping']}.yaml among the feed mappings")


def _number(path: Path, key: str, value, kind):
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise FeedError(f"{path}: {key} must be a {'whole ' if kind is int else ''}number, got {value!r}")
    return kind(value)


def parse(path: Path) -> FeedSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FeedError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise FeedError(f"{path}: a feed declaration is a YAML mapping")
    _check_keys(path, raw)
    if raw["feed"] != path.stem:
        raise FeedError(f"{path}: feed {raw['feed']!r} must match the file name {path.stem!r}")
    direction = raw.get("direction", "inbound")
    _one_of(path, "direction", direction, DIRECTIONS)
    _one_of(path, "format.type", raw["format"].get("type", "csv"), FORMATS)
    encoding = raw["format"].get("encoding", "UTF-8")
    _one_of(path, "format.encoding", encoding, ENCODINGS)
    quality = raw.get("quality") or {}
    share = _number(path, "quality.max_reject_share", quality.get("max_reject_share", 0.20), float)
    if not 0 <= share <= 1:
        raise FeedError(f"{path}: quality.max_reject_share must be within 0..1, got {share}")
    _check_references(path, raw)
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FeedError(f"{path}: tags must be a list of words, got {tags!r}")
    if not isinstance(raw["target"].get("set") or {}, dict):
        raise FeedError(f"{path}: target.set must be a mapping of column: value")
    from jinbao.keys import PARTNERS
    _one_of(path, "partner", raw["partner"], PARTNERS)
    start = raw["start_date"]
    try:
        start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    except ValueError as exc:
        raise FeedError(f"{path}: start_date {start!r} is not a date YYYY-MM-DD") from exc
    return FeedSpec(
        name=raw["feed"], partner=raw["partner"], direction=direction,
        title=raw.get("title", raw["feed"]), description=raw.get("description", ""), schedule=raw["schedule"],
        start_date=start, retries=_number(path, "retries", raw.get("retries", 2), int),
        retry_delay_minutes=_number(path, "retry_delay_minutes", raw.get("retry_delay_minutes", 10), int),
        tags=tuple(tags),
        transport=dict(raw["transport"]), encoding=encoding, schema=raw["schema"], mapping=raw["mapping"],
        max_reject_share=share, rules=_check_rules(path, quality.get("rules") or []),
        target_table=raw["target"]["table"], target_set=dict(raw["target"].get("set") or {}), path=path)


@functools.lru_cache(maxsize=8)
def _load_dir(folder: str) -> dict[str, FeedSpec]:
    root = Path(folder)
    if not root.is_dir():
        raise FeedError(f"feed declarations folder {root} does not exist (set JINBAO_FEEDS_DIR)")
    return {spec.name: spec for spec in map(parse, sorted(root.glob("*.yaml")))}


def load_feeds(cfg: Settings | None = None) -> dict[str, FeedSpec]:
    return _load_dir(str((cfg or load_settings()).feeds_dir))


def get_feed(name: str, cfg: Settings | None = None) -> FeedSpec:
    feeds = load_feeds(cfg)
    if name not in feeds:
        raise FeedError(f"no feed {name!r}; declared feeds: {', '.join(sorted(feeds)) or 'none'}")
    return feeds[name]
