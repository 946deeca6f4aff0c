"""The hub dictionary and the partners' file schemas, loaded from YAML.

Both are data so that a new partner column or hub code is a reviewed edit to a
YAML file, not a code change.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path

from jinbao import strict_yaml
from jinbao.settings import load_setting

#: JINBAO_SCHEMAS_DIR or the shipped schemas/: read at import so a `jinbao` command, the DAG file and
#: a test's copy of the declarations all see the same folder.
HERE = load_setting("schemas_dir")
DICTIONARY = HERE / "hub_dictionary.yaml"
PARTNERS_DIR = HERE / "partners"


class DictionaryError(ValueError):
    """The hub dictionary or a partner schema is malformed; the message names file and key."""


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


#: The keys a hub field's entry may hold: HubField's, but its code is the entry's name.
FIELD_KEYS = tuple(f.name for f in fields(HubField) if f.name != "code")
SCHEMA_KEYS = ("feed", "partner", "columns")
COLUMN_KEYS = tuple(f.name for f in fields(PartnerColumn))


@functools.lru_cache(maxsize=2)
def hub_dictionary(path: Path = DICTIONARY) -> dict[str, HubField]:
    """The hub dictionary (schemas/hub_dictionary.yaml, or another copy at `path`)."""
    raw = strict_yaml.load_mapping(path, DictionaryError, "the hub dictionary")
    strict_yaml.refuse_unknown(path, raw, ("fields",), DictionaryError)
    out = {}
    for code, spec in raw["fields"].items():
        strict_yaml.refuse_unknown(path, spec, FIELD_KEYS, DictionaryError, f"fields.{code}.")
        codes = spec.get("codes")
        out[code] = HubField(
            code=code, label=spec["label"], en=spec.get("en", code), type=spec["type"],
            codes={str(k): v for k, v in codes.items()} if codes else None,
            reference=spec.get("reference"), max_length=spec.get("max_length"),
            personal=bool(spec.get("personal", False)), not_future=bool(spec.get("not_future", False)))
    return out


def partner_schema(name: str, folder: Path | None = None) -> PartnerSchema:
    """The partner's file schema `name` (PARTNERS_DIR, read when called: tests point it at a copy, or
    another `folder`)."""
    return _partner_schema(name, Path(folder or PARTNERS_DIR))


@functools.lru_cache(maxsize=64)
def _partner_schema(name: str, folder: Path) -> PartnerSchema:
    path = folder / f"{name}.yaml"
    raw = strict_yaml.load_mapping(path, DictionaryError, "a partner schema")
    strict_yaml.refuse_unknown(path, raw, SCHEMA_KEYS, DictionaryError)
    for i, column in enumerate(raw["columns"]):
        strict_yaml.refuse_unknown(path, column, COLUMN_KEYS, DictionaryError, f"columns[{i}].")
    cols = tuple(PartnerColumn(c["name"], c.get("label", c["name"]), bool(c.get("required", False)))
                 for c in raw["columns"])
    return PartnerSchema(feed=raw["feed"], partner=raw["partner"], columns=cols)
