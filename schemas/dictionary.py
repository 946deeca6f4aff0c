"""The hub dictionary and the partners' file schemas, loaded from YAML.

Both are data so that a new partner column or hub code is a reviewed edit to a
YAML file, not a code change.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PARTNERS_DIR = HERE / "partners"


@dataclass(frozen=True)
class HubField:
    code: str
    label: str
    en: str
    type: str
    codes: dict[str, str] | None = None
    reference: str | None = None
    max_length: int | None = None
    personal: bool = False
    not_future: bool = False


@dataclass(frozen=True)
class PartnerColumn:
    name: str
    label: str
    required: bool


@dataclass(frozen=True)
class PartnerSchema:
    feed: str
    partner: str
    columns: tuple[PartnerColumn, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@functools.lru_cache(maxsize=1)
def hub_dictionary() -> dict[str, HubField]:
    raw = yaml.safe_load((HERE / "hub_dictionary.yaml").read_text(encoding="utf-8"))
    out = {}
    for code, spec in raw["fields"].items():
        codes = spec.get("codes")
        out[code] = HubField(
            code=code, label=spec["label"], en=spec.get("en", code), type=spec["type"],
            codes={str(k): v for k, v in codes.items()} if codes else None,
            reference=spec.get("reference"), max_length=spec.get("max_length"),
            personal=bool(spec.get("personal", False)), not_future=bool(spec.get("not_future", False)))
    return out


@functools.lru_cache(maxsize=64)
def partner_schema(name: str) -> PartnerSchema:
    path = PARTNERS_DIR / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cols = tuple(PartnerColumn(c["name"], c.get("label", c["name"]), bool(c.get("required", False)))
                 for c in raw["columns"])
    return PartnerSchema(feed=raw["feed"], partner=raw["partner"], columns=cols)
