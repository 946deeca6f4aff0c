"""Feed declarations: one YAML file per feed, the only place a feed is described.

The DAG factory, `jinbao run` and the docs all read these; adding a feed is a
new YAML file plus its schema and mapping, never new engine code.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from jinbao.config import settings


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


_REQUIRED = ("feed", "partner", "schedule", "start_date", "transport", "format", "schema", "mapping", "target")


def _parse(path: Path) -> FeedSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FeedError(f"{path}: not valid YAML: {exc}") from exc
    missing = [k for k in _REQUIRED if k not in (raw or {})]
    if missing:
        raise FeedError(f"{path}: missing key(s) {', '.join(missing)}")
    if raw["feed"] != path.stem:
        raise FeedError(f"{path}: feed {raw['feed']!r} must match the file name {path.stem!r}")
    quality = raw.get("quality") or {}
    share = float(quality.get("max_reject_share", 0.20))
    if not 0 <= share <= 1:
        raise FeedError(f"{path}: quality.max_reject_share must be within 0..1, got {share}")
    start = raw["start_date"]
    return FeedSpec(
        name=raw["feed"], partner=raw["partner"], direction=raw.get("direction", "inbound"),
        title=raw.get("title", raw["feed"]), description=raw.get("description", ""),
        schedule=raw["schedule"],
        start_date=start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start)),
        retries=int(raw.get("retries", 2)), retry_delay_minutes=int(raw.get("retry_delay_minutes", 10)),
        tags=tuple(raw.get("tags") or ()), transport=dict(raw["transport"]),
        encoding=raw["format"].get("encoding", "UTF-8"), schema=raw["schema"], mapping=raw["mapping"],
        max_reject_share=share, rules=tuple(quality.get("rules") or ()),
        target_table=raw["target"]["table"], target_set=dict(raw["target"].get("set") or {}), path=path)


@functools.lru_cache(maxsize=8)
def _load_dir(folder: str) -> dict[str, FeedSpec]:
    specs = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        spec = _parse(path)
        specs[spec.name] = spec
    return specs


def load_feeds(folder: Path | None = None) -> dict[str, FeedSpec]:
    return _load_dir(str(folder or settings().feeds_dir))


def get_feed(name: str) -> FeedSpec:
    feeds = load_feeds()
    if name not in feeds:
        raise FeedError(f"no feed {name!r}; declared feeds: {', '.join(sorted(feeds)) or 'none'}")
    return feeds[name]
