"""Every static check of one feed (`jinbao feeds check FEED`): what can be known to be wrong before a
delivery comes, said as `file: key path: what is wrong: what to do`.

Loading a declaration already refuses most mistakes (jinbao/declarations.py: keys, references, and the
mapping by mappings/check.py: hub fields, partner columns, code tables, date formats, every mapped field
a column of the target table); that is what `jinbao run` and the DAG processor use, so a broken feed is
never run.  Here come on top the code tables the mapping uses, checked whole (mappings/check.py), the
hub codes an outbound feed could not send, and the target table at the migration head, which needs
Alembic and a scratch migration (about a second) and so is left out of DAG parsing and `jinbao run`
(where a table the store lacks is an error retried, never a refusal: jinbao/store/errors.py).
"""
from __future__ import annotations

from jinbao.declarations import FeedSpec, InboundFeed, OutboundFeed, declared
from jinbao.mappings import tables as mapping_tables      # CODES_DIR and FEEDS_DIR read when used (tests)
from jinbao.mappings.check import check_code_table, check_feed_mapping, closest, problem
from jinbao.mappings.reference import allowed_codes
from jinbao.schemas.dictionary import hub_dictionary
from jinbao.schemas.store_tables import TARGETS
from jinbao.settings import Settings

#: What to do about a target table the store lacks.
MIGRATE = ("declare the table (schemas/tables/), generate its migration with `jinbao db revision`, review and "
           "commit it, then `jinbao db upgrade`")


def problems(name: str, cfg: Settings, at_head: bool = True) -> list[str]:
    """Every problem of feed `name`'s declaration, mapping, code tables and target table."""
    path = cfg.feeds_dir / f"{name}.yaml"
    found = declared(cfg)
    if name in found.broken:
        said = list(found.broken[name].problems)
        # loading stops at the declaration's first mistake: the mapping of the same name is checked on its
        # own as well, so that one run lists what is wrong in both files
        mapping = mapping_tables.FEEDS_DIR / f"{name}.yaml"
        more = check_feed_mapping(mapping) if mapping.is_file() else []
        return said + [m for m in more if not any(m in s for s in said)]
    if name not in found.feeds:
        return [problem(str(path), "feed", "no such declaration" + closest(name, [*found.feeds, *found.broken]),
                        "write one with `jinbao feeds new PARTNER FEED_NAME`")]
    spec = found.feeds[name]
    out = code_table_problems(spec)
    if isinstance(spec, InboundFeed) and at_head:
        out += head_problems(spec)
    return out


def head_problems(spec: InboundFeed) -> list[str]:
    """The target table as the migration head makes it (jinbao/store/migrations.py): missing, or any
    column or index that differs from its declaration."""
    # here, not at the top: migrations load Alembic (about 0.1 s), which only this check needs
    from jinbao.store.migrations import MigrationError, differences, missing_at_head

    table, where = spec.target.table, str(spec.path)
    if missing_at_head([table]):
        return [problem(where, "target.table", f"table {table} is made by no migration", MIGRATE)]
    try:
        found = differences()
    except MigrationError as exc:
        return [problem(where, "target.table", str(exc), "fix the table declaration, then check again")]
    return [problem(where, "target.table", d, MIGRATE) for d in found
            if d.startswith((f"table {table}:", f"column {table}.")) or f" on {table} (" in d]


def code_tables(spec: FeedSpec) -> dict[str, str]:
    """The code tables the feed's mapping uses in any version -> the hub field each translates."""
    raw = mapping_tables.read_feed_mapping(mapping_tables.FEEDS_DIR / f"{spec.mapping}.yaml")
    return {rule["codes"]: rule["to"] for version in raw.get("versions") or []
            for rule in (version.get("fields") or {}).values() if rule.get("codes")}


def code_table_problems(spec: FeedSpec) -> list[str]:
    """Each code table used, checked whole; for an outbound feed, the hub codes a table cannot send back
    (a record holding one would be held back at every send)."""
    out: list[str] = []
    for table, hub in sorted(code_tables(spec).items()):
        path = mapping_tables.CODES_DIR / f"{table}.yaml"
        out += check_code_table(path)
        spec_field = hub_dictionary().get(hub)
        allowed = allowed_codes(spec_field) if spec_field is not None else None
        if not isinstance(spec, OutboundFeed) or allowed is None:
            continue
        raw = mapping_tables.read_code_table(path)
        for i, version in enumerate(raw.get("versions") or []):
            sent = {str(h) for h in (version.get("map") or {}).values()}
            missing = sorted(allowed - sent)
            if missing:
                out.append(problem(f"mappings/codes/{path.name}", f"versions[{i}].map",
                                   f"hub code(s) {', '.join(missing)} of {hub} have no partner code",
                                   "add them (records holding one are held back at every send)"))
    return out

