"""Feed target tables declared in YAML (`schemas/tables/<table>.yaml`), built into the store's metadata.

A new feed used to need a hand-written SQLAlchemy table and a hand-written migration; now its table
is a declaration: its key and its columns, named by hub dictionary codes.  A column's SQL type is
not written at all: it follows from the field's hub type (`STORAGE`), so a table can never store a
field in a type its rules do not produce, and the provenance columns every feed table has are added
here.  `store_tables.py` puts these tables on the same `metadata` as the hand-written ones, so
Alembic (`jinbao db revision` generates the migration) and the publish step see no difference.

    table: contribution                  # = the file's name; the target.table feeds publish into
    about: what one row is               # optional, for people
    key: [AAC002, AAB998, month]         # the primary key, in order: hub codes, never NULL
    columns:                             # the other columns, in order: hub code: required | optional
      paid_flag: required                #   or {required: true|false, length: N} for a text whose
                                         #   width the dictionary does not give
    indexes: [[paid_flag]]               # optional: each a list of hub codes

Column names are the codes in lower case, as in every hand-written table.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import BigInteger, Column, Date, Index, MetaData, Numeric, String, Table
from sqlalchemy.types import TypeEngine

from jinbao import strict_yaml
from jinbao.schemas.dictionary import HubField, hub_dictionary

HERE = Path(__file__).resolve().parent
KEYS = ("table", "about", "key", "columns", "indexes")
COLUMN_KEYS = ("required", "length")


class TableError(ValueError):
    """A table declaration is malformed; the message names the file and the key."""


def _text(width: int | None) -> TypeEngine | None:
    return String(width) if width else None


#: Per hub type, how the store keeps a field of it (None: the declaration must give `length`).  The
#: widths are those the type's rules let through (quality/rules.py FIXED_WIDTH, `widest`): a value the
#: gate accepts always fits.
STORAGE: dict[str, Callable[[HubField], TypeEngine | None]] = {
    "citizen_id": lambda f: String(18),
    "uscc": lambda f: String(18),
    "division": lambda f: String(6),
    "division_any": lambda f: String(6),
    "year": lambda f: String(4),
    "quarter": lambda f: String(6),
    "date": lambda f: Date(),
    "month": lambda f: Date(),                  # the month's first day (hub_dictionary.yaml)
    "amount": lambda f: Numeric(12, 2),         # yuan to the fen, up to 10 digits before the point
    "int": lambda f: BigInteger(),
    "name": lambda f: _text(f.max_length),
    "text": lambda f: _text(f.max_length),
    "code": lambda f: _text(max(map(len, f.codes)) if f.codes else None),
}


@dataclass(frozen=True)
class DeclaredColumn:
    code: str
    type: TypeEngine
    key: bool
    required: bool


@dataclass(frozen=True)
class TableDeclaration:
    name: str
    about: str
    columns: tuple[DeclaredColumn, ...]
    indexes: tuple[tuple[str, ...], ...]
    path: Path


def _field(path: Path, where: str, code, fields: dict[str, HubField]) -> HubField:
    if not isinstance(code, str) or code not in fields:
        raise TableError(f"{path}: {where} {code!r} is not a hub field (schemas/hub_dictionary.yaml)")
    return fields[code]


def _column(path: Path, code: str, spec, fields: dict[str, HubField], key: bool) -> DeclaredColumn:
    where = "key" if key else f"columns.{code}"
    hub = _field(path, where, code, fields)
    if hub.type not in STORAGE:
        raise TableError(f"{path}: {where}: hub type {hub.type!r} of {code} has no storage in "
                         "schemas/declared_tables.py STORAGE")
    length = None
    if key:
        required = True
    elif spec in ("required", "optional"):
        required = spec == "required"
    elif isinstance(spec, dict):
        strict_yaml.refuse_unknown(path, spec, COLUMN_KEYS, TableError, f"{where}.")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise TableError(f"{path}: {where}.required must be true or false, got {required!r}")
        length = spec.get("length")
    else:
        raise TableError(f"{path}: {where} must be required, optional or {{required: ..., length: N}}, got {spec!r}")
    kind = STORAGE[hub.type](hub)
    if length is not None:
        if kind is not None:
            raise TableError(f"{path}: {where}.length: the hub dictionary already fixes {code}'s column ({kind}); "
                             "remove length")
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 4000:
            raise TableError(f"{path}: {where}.length must be a whole number from 1 to 4000, got {length!r}")
        kind = String(length)
    if kind is None:
        raise TableError(f"{path}: {where}: the hub dictionary gives {code} ({hub.type}) no width; give "
                         f"max_length in schemas/hub_dictionary.yaml or {{length: N}} here")
    return DeclaredColumn(code=code, type=kind, key=key, required=required)


def parse(path: Path, fields: dict[str, HubField] | None = None) -> TableDeclaration:
    fields = hub_dictionary() if fields is None else fields
    raw = strict_yaml.load_mapping(path, TableError, "a table declaration")
    strict_yaml.refuse_unknown(path, raw, KEYS, TableError)
    missing = [k for k in ("table", "key") if k not in raw]
    if missing:
        raise TableError(f"{path}: missing key(s) {', '.join(missing)}")
    if raw["table"] != path.stem:
        raise TableError(f"{path}: table {raw['table']!r} must match the file name {path.stem!r}")
    key, columns = raw["key"], raw.get("columns") or {}
    if not isinstance(key, list) or not key:
        raise TableError(f"{path}: key must be a non-empty list of hub codes")
    if not isinstance(columns, dict):
        raise TableError(f"{path}: columns must be a mapping of hub code: required | optional")
    twice = sorted({c for c in key if key.count(c) > 1} | (set(key) & set(columns)))
    if twice:
        raise TableError(f"{path}: {', '.join(map(str, twice))} named twice (key and columns name each column once)")
    cols = tuple([_column(path, c, None, fields, key=True) for c in key]
                 + [_column(path, c, spec, fields, key=False) for c, spec in columns.items()])
    indexes = raw.get("indexes") or []
    if not isinstance(indexes, list) or not all(isinstance(i, list) and i for i in indexes):
        raise TableError(f"{path}: indexes must be a list of lists of hub codes")
    names = {c.code for c in cols}
    for i, index in enumerate(indexes):
        for code in index:
            if code not in names:
                raise TableError(f"{path}: indexes[{i}] names {code!r}, which is no column of the table")
    about = raw.get("about", "")
    if not isinstance(about, str):
        raise TableError(f"{path}: about must be a text")
    return TableDeclaration(name=raw["table"], about=about.strip(), columns=cols,
                            indexes=tuple(tuple(i) for i in indexes), path=path)


def declarations(folder: Path) -> tuple[list[TableDeclaration], dict[str, str]]:
    """Every table declared in `folder`, by name, and the malformed ones' errors by table name (the
    file's stem).  A malformed declaration is set aside, not raised: the store's tables load at every
    import of the hub, and one typo in a new table must fail only the feeds that publish into it and
    `jinbao db revision`/`check` (which would otherwise take the table for dropped), never the rest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TableError(f"table declarations folder {folder} does not exist (JINBAO_TABLES_DIR)")
    good, broken = [], {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            good.append(parse(path))
        except TableError as exc:
            broken[path.stem] = str(exc)
    return good, broken


def needed(tables: dict[str, Table], broken: dict[str, str], name: str, folder: Path) -> Table:
    """The declared table `name`, which the hub's own code reads by name (the outbound queries, the
    subsidies, the audit): a copy of the declarations must keep it, well-formed."""
    if name in broken:
        raise TableError(broken[name])
    if name not in tables:
        raise TableError(f"{Path(folder) / (name + '.yaml')}: missing; the hub's code reads table {name}, keep "
                         "its declaration")
    return tables[name]


def build(metadata: MetaData, declared: list[TableDeclaration], provenance: Callable[[], list[Column]]) -> dict[str, Table]:
    """The declared tables as SQLAlchemy tables on `metadata`: key, columns, then `provenance()` (the
    columns every feed table has, schemas/store_tables.py)."""
    out = {}
    for d in declared:
        if d.name in metadata.tables:
            raise TableError(f"{d.path}: table {d.name!r} is already defined in schemas/store_tables.py")
        out[d.name] = Table(
            d.name, metadata,
            *[Column(c.code.lower(), c.type, primary_key=c.key, nullable=not c.required) for c in d.columns],
            *provenance(),
            *[Index(None, *(code.lower() for code in index)) for index in d.indexes])
    return out
