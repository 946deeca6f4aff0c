"""`jinbao mappings check`: everything that can be wrong in a mapping table, before it ships.

Run in CI and before every table change: a gap between versions would leave a
business date with no translation (deliveries refused), an overlap would make
the translation ambiguous, and a hub code missing from the dictionary would
publish a value the store does not know.  The division successions
(`mappings/reference/gbt2260_changes.csv`) are checked with them: a row that does
not fit the validity list would translate a code that is still in force, or into
one that is not.
"""
from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

from jinbao.mappings import tables       # CODES_DIR and FEEDS_DIR read when used: tests point them elsewhere
from jinbao.mappings.tables import MappingError, _date, _reverse, read_code_table, read_feed_mapping
from jinbao.schemas import dictionary           # PARTNERS_DIR read when used: tests point it elsewhere
from jinbao.schemas.dictionary import hub_dictionary, partner_schema

ONE_DAY = dt.timedelta(days=1)


def _versions(what: str, versions, problems: list[str]) -> list[dict]:
    if not isinstance(versions, list) or not versions:
        problems.append(f"{what}: no versions")
        return []
    ok = []
    for v in versions:
        missing = [k for k in ("version", "valid_from") if k not in v]
        if missing:
            problems.append(f"{what}: a version lacks {', '.join(missing)}")
            continue
        start, end = _date(v["valid_from"]), _date(v.get("valid_to"))
        if end is not None and end < start:
            problems.append(f"{what}@{v['version']}: valid_to {end} before valid_from {start}")
        ok.append(v)
    ok.sort(key=lambda v: _date(v["valid_from"]))
    for prev, nxt in zip(ok, ok[1:]):
        prev_end, nxt_start = _date(prev.get("valid_to")), _date(nxt["valid_from"])
        if prev_end is None or nxt_start <= prev_end:
            problems.append(f"{what}: versions {prev['version']} and {nxt['version']} overlap")
        elif nxt_start != prev_end + ONE_DAY:
            problems.append(f"{what}: gap between {prev['version']} (to {prev_end}) and "
                            f"{nxt['version']} (from {nxt_start})")
    return ok


def _allowed(hub_field: str) -> frozenset[str] | None:
    # here, not at the top: reference lists load pyarrow, and the DAG processor runs check_feed_mapping
    # (jinbao/declarations.py) at every parse, where pyarrow must not load (tests/dags/test_dag_factory.py)
    from jinbao.mappings.reference import allowed_codes

    spec = hub_dictionary().get(hub_field)
    return allowed_codes(spec) if spec is not None else None


def check_code_table(path: Path) -> list[str]:
    problems: list[str] = []
    try:
        raw = read_code_table(path)
    except MappingError as exc:
        return [str(exc)]
    what = f"codes/{path.name}"
    if raw.get("name") != path.stem:
        problems.append(f"{what}: name {raw.get('name')!r} differs from the file name")
    hub_field = raw.get("hub_field")
    if hub_field not in hub_dictionary():
        problems.append(f"{what}: hub_field {hub_field!r} is not in the hub dictionary")
    allowed = _allowed(hub_field) if hub_field else None
    for v in _versions(what, raw.get("versions"), problems):
        label = f"{what}@{v['version']}"
        forward = {str(k): str(x) for k, x in (v.get("map") or {}).items()}
        if not forward:
            problems.append(f"{label}: empty map")
        if allowed is not None:
            for k, h in forward.items():
                if h not in allowed:
                    problems.append(f"{label}: {k!r} -> {h!r}, but {h!r} is not a {hub_field} code")
        prefer = {str(k): str(x) for k, x in (v.get("reverse_prefer") or {}).items()}
        for h, p in prefer.items():
            if forward.get(p) != h:
                problems.append(f"{label}: reverse_prefer {h!r} -> {p!r}, but {p!r} does not map to {h!r}")
        try:
            _reverse(forward, prefer, label)
        except MappingError as exc:
            problems.append(str(exc))
    return problems


def _covers(table: str, start: dt.date, end: dt.date | None) -> bool:
    raw = read_code_table(tables.CODES_DIR / f"{table}.yaml")
    vs = sorted(raw["versions"], key=lambda v: _date(v["valid_from"]))
    last_end = _date(vs[-1].get("valid_to"))
    return _date(vs[0]["valid_from"]) <= start and (last_end is None or (end is not None and end <= last_end))


def problem(file: str, key: str, what: str, todo: str) -> str:
    """One problem as every static check says it: `file: key path: what is wrong: what to do`."""
    return f"{file}: {key}: {what}: {todo}"


def closest(word: str, choices) -> str:
    """" (did you mean X?)" for the nearest of `choices` to a misspelt `word`, or nothing."""
    near = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {near[0]}?)" if near else ""


def check_feed_mapping(path: Path) -> list[str]:
    """Every version of a feed's mapping: hub fields in the dictionary, partner columns in the partner
    schema, code tables present, fitting the field and covering the version's dates, date formats usable."""
    problems: list[str] = []
    try:
        raw = read_feed_mapping(path)
    except MappingError as exc:
        return [str(exc)]
    what = f"mappings/feeds/{path.name}"
    feed = raw.get("feed")
    if feed != path.stem:
        problems.append(problem(what, "feed", f"{feed!r} differs from the file name",
                                f"write feed: {path.stem}"))
    schema_file = dictionary.PARTNERS_DIR / f"{path.stem}.yaml"
    columns = set(partner_schema(path.stem).names) if schema_file.exists() else None
    known = hub_dictionary()
    versions = raw.get("versions") if isinstance(raw.get("versions"), list) else []
    index = {id(v): i for i, v in enumerate(versions)}
    for v in _versions(what, raw.get("versions"), problems):
        label = f"versions[{index[id(v)]}]"
        hubs = []
        for partner, spec in (v.get("fields") or {}).items():
            key = f"{label}.fields.{partner}"
            hub = spec.get("to")
            hubs.append(hub)
            if hub not in known:
                problems.append(problem(what, f"{key}.to",
                                        f"{hub!r} is not a hub dictionary field{closest(hub, known)}",
                                        "map to a field of schemas/hub_dictionary.yaml, or add the field there"))
            if columns is not None and partner not in columns:
                problems.append(problem(what, key, f"{partner} is not a column of schemas/partners/{path.stem}.yaml",
                                        "add the column to the partner schema or correct its name here"))
            table = spec.get("codes")
            if table:
                if not (tables.CODES_DIR / f"{table}.yaml").exists():
                    problems.append(problem(what, f"{key}.codes", f"code table {table} does not exist",
                                            f"write mappings/codes/{table}.yaml or name an existing table"))
                    continue
                t = read_code_table(tables.CODES_DIR / f"{table}.yaml")
                if t.get("hub_field") != hub:
                    problems.append(problem(what, f"{key}.codes", f"{table} maps to {t.get('hub_field')}, not {hub}",
                                            f"use a code table whose hub_field is {hub}"))
                if not _covers(table, _date(v["valid_from"]), _date(v.get("valid_to"))):
                    problems.append(problem(what, f"{key}.codes", f"code table {table} has no version for part of "
                                            f"{v['valid_from']}..{v.get('valid_to') or 'open'}",
                                            f"add a version to mappings/codes/{table}.yaml covering those dates"))
            fmt = spec.get("date_format")
            kind = getattr(known.get(hub), "type", None)
            if fmt:
                try:
                    dt.datetime.strptime(dt.date(2001, 2, 3).strftime(fmt), fmt)
                except ValueError:
                    problems.append(problem(what, f"{key}.date_format", f"{fmt!r} is not a usable date format",
                                            "write it with strftime codes, e.g. %Y%m%d or %Y/%m/%d"))
                if kind == "month" and "%d" in fmt:
                    problems.append(problem(what, f"{key}.date_format", f"{hub} is a month, but {fmt!r} holds a day",
                                            "drop %d (a month is stored as its first day)"))
            elif kind in ("date", "month"):
                problems.append(problem(what, key, f"{hub} is a {kind} and has no date_format",
                                        "add date_format, e.g. %Y%m%d"))
        dup = {h for h in hubs if hubs.count(h) > 1}
        if dup:
            problems.append(problem(what, f"{label}.fields", f"hub field(s) {', '.join(sorted(dup))} fed by two "
                                    "partner columns", "keep one partner column per hub field"))
    return problems


def check_targets(path: Path, columns: set[str], table: str, elsewhere: set[str] = frozenset()) -> list[str]:
    """Every hub field the mapping translates, in any version, is a column of the target table or one of
    `elsewhere` (lower case: fields the register takes from the feed, fields judged but not stored on
    purpose): publishing keeps only the table's columns, so any other field would be dropped without a word."""
    raw = read_feed_mapping(path)
    what = f"mappings/feeds/{path.name}"
    problems = []
    for i, v in enumerate(raw.get("versions") or []):
        for partner, spec in ((v or {}).get("fields") or {}).items():
            hub = str((spec or {}).get("to"))
            if hub in hub_dictionary() and hub.lower() not in columns | elsewhere:
                problems.append(problem(what, f"versions[{i}].fields.{partner}.to",
                                        f"{hub} is not a column of the target table {table}",
                                        f"add column {hub.lower()} to {table} (then `jinbao db revision`), "
                                        "map the column to another field, or list the field in the "
                                        "declaration's target.not_stored if it is only judged"))
    return problems


def check_division_changes(path: Path | None = None) -> list[str]:
    """The successions table well-formed, each old code in force the day before its change and not on
    it, each successor in force on it (the validity list as the hub reads it)."""
    # here, not at the top: the successions and the validity list load pyarrow and pandas, and the DAG
    # processor runs check_feed_mapping (jinbao/declarations.py) at every parse, where they must not load
    import pyarrow as pa
    from jinbao.mappings.division_changes import CHANGES, DivisionChangesError, default_grace_months, read_changes
    from jinbao.mappings.reference import division_valid

    path = path or CHANGES
    try:
        default_grace_months()
        df = read_changes(path)
    except DivisionChangesError as exc:
        return [str(exc)]
    on = pa.array(df.effective, pa.date32())
    eve = pa.array([d - ONE_DAY for d in df.effective], pa.date32())     # the table's rows, not records
    ok_old = division_valid(pa.array(df.old_code), eve) & ~division_valid(pa.array(df.old_code), on)
    ok_new = division_valid(pa.array(df.new_code), on)
    return [f"{path}:{r.line}: {r.old_code} -> {r.new_code} on {r.effective}: "
            + ("the old code is not in force the day before and abolished on the day"
               if not old else "the successor is not in force on the day")
            + " in mappings/reference/gbt2260.csv (as refined by the announced days)"
            for r, old, new in zip(df.itertuples(), ok_old, ok_new) if not (old and new)]


def check_all(codes_dir: Path | None = None, feeds_dir: Path | None = None) -> list[str]:
    codes_dir, feeds_dir = codes_dir or tables.CODES_DIR, feeds_dir or tables.FEEDS_DIR
    problems: list[str] = check_division_changes()
    for path in sorted(codes_dir.glob("*.yaml")):
        problems += check_code_table(path)
    for path in sorted(feeds_dir.glob("*.yaml")):
        problems += check_feed_mapping(path)
    return problems
