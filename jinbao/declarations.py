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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from jinbao import partners, strict_yaml
from jinbao.agreements import AgreementError, load_agreements as read_agreements
from jinbao.connectors.registry import ENVELOPES, TRANSPORTS
from jinbao.expected.due import BUSINESS_DATES, CADENCES
from jinbao.mappings import tables as mapping_tables      # FEEDS_DIR read when used: tests point it elsewhere
from jinbao.mappings.check import check_feed_mapping, check_targets
from jinbao.outbound.catalog import QUERIES
from jinbao.partitions import BY, MAX_PARTITIONS
from jinbao.quality.cross import CROSS_RULES, NotBefore, build as build_cross_rule, keys as rule_keys
from jinbao.quality.reasons import BATCH_REASONS, REASONS
from jinbao.quality.value_rules import VALUE_RULES, RuleError, ValueRule, build as build_value_rule, \
    keys as value_rule_keys
from jinbao.register.authority import authority
from jinbao.schemas import dictionary    # PARTNERS_DIR read when used: tests point it elsewhere
from jinbao.schemas.dictionary import hub_dictionary
from jinbao.settings import Settings, load_settings


class FeedError(ValueError):
    """A feed declaration is missing or malformed; the message names file and key.  `problems`: each
    problem on its own (`file: key path: what is wrong: what to do`), when there are several."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems or (message,)


class BrokenDeclarations(Exception):
    """Some feeds' declarations are broken: each named with its error (dags/jinbao_declarations.py raises
    it, for Airflow to show as an import error; every other feed still runs)."""

    def __init__(self, broken: dict[str, Exception]):
        self.broken = dict(broken)
        super().__init__(f"{len(broken)} feed declaration(s) broken, not run until fixed (each other feed runs):\n"
                         + "\n".join(f"{name}: {error}" for name, error in broken.items()))


@dataclass(frozen=True)
class DeclaredTransport:
    """The declaration's `transport:`.  Not named Transport: that is the live connection a kind
    opens (connectors/base.py), which connectors/registry.py builds from this."""

    kind: str = "local"
    #: "none" or "cms": the envelope wraps whichever kind was chosen
    envelope: str = "none"
    #: frontend_db only: the partner's table to read, and where receipts go (connectors/frontend_db.py)
    table: str | None = None
    receipts: str = "table"


@dataclass(frozen=True)
class Format:
    """The declaration's `format:`: how the partner's file is written."""

    type: str = "csv"
    encoding: str = "UTF-8"


@dataclass(frozen=True)
class Quality:
    """The declaration's `quality:`: when a delivery is held, and the rules beyond the ones the hub
    dictionary gives each field: cross-field (not_before) and value rules (range, length, digits, pattern)."""

    max_reject_share: float = 0.20
    rules: tuple[NotBefore | ValueRule, ...] = ()


@dataclass(frozen=True)
class Target:
    """The declaration's `target:`: the store table published into, and the columns stamped on every
    row (`set`, e.g. source_feed)."""

    table: str
    set: dict = field(default_factory=dict)
    #: hub fields the mapping translates and the gate judges that the table does not keep, on purpose
    #: (read by an after-judge check, or only checked); any other mapped field the table lacks is an error
    not_stored: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expected:
    """The declaration's `expected:`: when the partner's deliveries are due (agreements §5), read by
    jinbao/expected/due.py.  `time` is China Standard Time on the due day: the day after the business
    date (daily), the next working day (working_day), the Monday after or the next working day
    (weekly), or the `working_day`-th working day after the period (monthly, quarterly).
    `same_as`: this feed brings the same deliveries as the named one by another way (finance's
    front-end database), so it owes none of its own and its batches count for that feed."""

    cadence: str | None = None
    #: "day" (the day covered) or "period_end" (the Sunday, month end, quarter end): what the name's date is
    business_date: str | None = None
    time: dt.time | None = None
    working_day: int | None = None
    #: a delivery still missing this long after it is due is late: the hub sends a reminder (催报)
    grace_hours: float = 2.0
    same_as: str | None = None


#: `expected:` as written: `due` is "HH:MM" or {working_day: N, time: "HH:MM"}.
EXPECTED_KEYS = ("cadence", "business_date", "due", "grace_hours", "same_as")


@dataclass(frozen=True, kw_only=True)
class _Feed:
    """What every declaration holds, inbound or outbound."""

    name: str
    partner: str
    title: str
    description: str
    schedule: str
    start_date: dt.date
    retries: int
    retry_delay_minutes: int
    tags: tuple[str, ...]
    transport: DeclaredTransport
    format: Format
    mapping: str
    path: Path | None = None
    #: feeds whose deliveries of the same day this one is judged after (`jinbao run all`, the demo):
    #: its records are checked against what they publish (payments against enrolments' lines)
    after: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class InboundFeed(_Feed):
    """A partner's deliveries, received, judged against `schema` and `quality`, published into `target`."""

    direction: ClassVar[str] = "inbound"
    schema: str
    quality: Quality = Quality()
    target: Target
    #: publish in this many partitions of the accepted records, each its own task and transaction
    #: (jinbao/partitions.py, docs/scale.md); 1: the whole batch in one transaction
    partitions: int = 1
    #: when deliveries are due; None: the feed has no agreed timetable (nothing is ever missing)
    expected: Expected | None = None


@dataclass(frozen=True, kw_only=True)
class OutboundFeed(_Feed):
    """What the hub sends a partner: the named `query` over the store, limited to `fields`, under `agreement`."""

    direction: ClassVar[str] = "outbound"
    agreement: str
    query: str
    #: the hub fields it sends (a subset of the agreement's)
    fields: tuple[str, ...]


#: A feed declaration of either direction (`isinstance(spec, OutboundFeed)` tells which).
FeedSpec = InboundFeed | OutboundFeed


def _names(part) -> tuple[str, ...]:
    return tuple(f.name for f in fields(part))


#: Every key a declaration may hold (nested: the keys of that mapping, the fields of its typed part);
#: anything else is a typo.
KEYS = {
    "feed": None, "partner": None, "direction": None, "title": None, "description": None, "schedule": None,
    "start_date": None, "retries": None, "retry_delay_minutes": None, "tags": None,
    "transport": _names(DeclaredTransport), "format": _names(Format), "schema": None, "mapping": None,
    "quality": _names(Quality), "target": _names(Target),
    "agreement": None, "query": None, "fields": None, "after": None, "partitions": None,
    "expected": EXPECTED_KEYS,
}
REQUIRED = ("feed", "partner", "schedule", "start_date", "transport", "format", "schema", "mapping", "target")
#: An outbound feed reads the store through a named query under an agreement; it has no schema or target.
REQUIRED_OUTBOUND = ("feed", "partner", "schedule", "start_date", "transport", "format", "mapping", "agreement",
                     "query", "fields")
INBOUND_ONLY = ("schema", "quality", "target", "partitions", "expected")
OUTBOUND_ONLY = ("agreement", "query", "fields")
DIRECTIONS = ("inbound", "outbound")
FORMATS = ("csv",)
ENCODINGS = ("GB18030", "UTF-8")


def _check_keys(path: Path, raw: dict) -> None:
    strict_yaml.refuse_unknown(path, raw, KEYS, FeedError)
    for key, value in raw.items():
        nested = KEYS[key]
        if nested is not None:
            if not isinstance(value, dict):
                raise FeedError(f"{path}: {key} must be a mapping of {', '.join(sorted(nested))}")
            strict_yaml.refuse_unknown(path, value, sorted(nested), FeedError, f"{key}.")
    outbound = raw.get("direction") == "outbound"
    missing = [k for k in (REQUIRED_OUTBOUND if outbound else REQUIRED) if k not in raw]
    if missing:
        raise FeedError(f"{path}: missing key(s) {', '.join(missing)}")
    misplaced = [k for k in (INBOUND_ONLY if outbound else OUTBOUND_ONLY) if k in raw]
    if misplaced:
        raise FeedError(f"{path}: {', '.join(misplaced)} belong(s) to {'inbound' if outbound else 'outbound'} feeds, "
                        f"not to a{'n outbound' if outbound else 'n inbound'} one")


def _one_of(path: Path, key: str, value, allowed) -> None:
    if value not in allowed:
        raise FeedError(f"{path}: {key} {value!r} is not one of {', '.join(map(str, allowed))}")


def _check_rules(path: Path, rules, mapping: str) -> tuple[NotBefore | ValueRule, ...]:
    """The cross-field rules (quality/cross.py) and value rules (quality/value_rules.py) of `quality.rules`,
    typed; anything unknown or malformed names the file and the rule's key path, and so does a value rule
    on a field no version of the feed's `mapping` translates (it would check nothing)."""
    if not isinstance(rules, list):
        raise FeedError(f"{path}: quality.rules must be a list")
    out = []
    for i, rule in enumerate(rules):
        where = f"quality.rules[{i}]"
        if not isinstance(rule, dict):
            raise FeedError(f"{path}: {where} must be a mapping")
        _one_of(path, f"{where}.rule", rule.get("rule"), (*CROSS_RULES, *VALUE_RULES))
        every, required = (rule_keys if rule["rule"] in CROSS_RULES else value_rule_keys)(rule["rule"])
        extra, missing = set(rule) - every, required - set(rule)
        if extra or missing:
            raise FeedError(f"{path}: {where} " + (f"has unknown key(s) {', '.join(sorted(extra))}" if extra
                                                   else f"lacks {', '.join(sorted(missing))}")
                            + f"; rule {rule['rule']} takes {', '.join(sorted(every))}"
                            + (f" ({', '.join(sorted(required))} required)" if required != every else "")
                            + " (docs/quality.md)")
        if rule["rule"] in CROSS_RULES:
            try:
                out.append(build_cross_rule(rule, REASONS, BATCH_REASONS))
            except RuleError as exc:               # its text starts with the key at fault
                raise FeedError(f"{path}: {where}.{exc}") from exc
            continue
        try:
            out.append(build_value_rule(rule, hub_dictionary(), REASONS))
        except RuleError as exc:
            raise FeedError(f"{path}: {where} ({rule['rule']} on {rule.get('field')}): {exc}") from exc
        if rule["field"] not in _mapped_hub_fields(mapping):
            raise FeedError(f"{path}: {where} ({rule['rule']} on {rule['field']}): no version of mapping {mapping} "
                            f"translates a partner column into {rule['field']}; the rule would check nothing")
    return tuple(out)


def _check_references(path: Path, raw: dict) -> None:
    """The transport kind, store table, partner schema and mapping a declaration names must exist."""
    from jinbao.schemas.store_tables import BROKEN, TARGETS  # DAG parsing: store_tables loads SQLAlchemy

    _one_of(path, "transport.kind", raw["transport"].get("kind", "local"), tuple(TRANSPORTS))
    _one_of(path, "transport.envelope", raw["transport"].get("envelope", "none"), ENVELOPES)
    if not (mapping_tables.FEEDS_DIR / f"{raw['mapping']}.yaml").is_file():
        raise FeedError(f"{path}: mapping {raw['mapping']!r} has no file {raw['mapping']}.yaml among the feed mappings")
    if raw.get("direction") == "outbound":
        return
    if raw["target"].get("table") in BROKEN:            # a malformed table declaration fails its feeds only
        raise FeedError(f"{path}: target.table {raw['target']['table']!r}: {BROKEN[raw['target']['table']]}")
    _one_of(path, "target.table", raw["target"].get("table"), tuple(TARGETS))
    if not (dictionary.PARTNERS_DIR / f"{raw['schema']}.yaml").is_file():
        raise FeedError(f"{path}: schema {raw['schema']!r} has no file {raw['schema']}.yaml among the partner schemas")
    table = TARGETS[raw["target"]["table"]]
    unknown = [c for c in (raw["target"].get("set") or {}) if str(c).lower() not in table.c]
    if unknown:
        raise FeedError(f"{path}: target.set: {', '.join(map(str, unknown))} not column(s) of {table.name}: "
                        "set only columns the table has")


def mapping_problems(path: Path, raw: dict) -> list[str]:
    """What is wrong with the mapping a declaration names (mappings/check.py, every version), and for an
    inbound feed every mapped hub field that its target table lacks: each would publish NULL or nothing.
    Run with every load, so a feed with such a mistake is refused before it takes a delivery."""
    from jinbao.schemas.store_tables import TARGETS  # DAG parsing: store_tables loads SQLAlchemy

    mapping = mapping_tables.FEEDS_DIR / f"{raw['mapping']}.yaml"
    problems = check_feed_mapping(mapping)
    if raw.get("direction", "inbound") == "inbound" and not problems:
        table = TARGETS[raw["target"]["table"]]
        not_stored = _not_stored(path, raw)
        elsewhere = {c.lower() for c in not_stored} | set(authority().offers(raw["feed"]))
        problems += check_targets(mapping, {c.name for c in table.columns}, table.name, elsewhere)
        mapped = _mapped_hub_fields(raw["mapping"])
        problems += [f"{path}: target.not_stored: {f} is not translated by mapping {raw['mapping']}: remove it"
                     for f in not_stored if f not in mapped]
    return problems


def _not_stored(path: Path, raw: dict) -> tuple[str, ...]:
    value = raw["target"].get("not_stored") or []
    if not isinstance(value, list) or not all(isinstance(f, str) for f in value):
        raise FeedError(f"{path}: target.not_stored must be a list of hub fields, got {value!r}")
    return tuple(value)


def _mapped_hub_fields(mapping: str) -> set[str]:
    """Every hub field the mapping would translate, over all its versions."""
    raw = mapping_tables.read_feed_mapping(mapping_tables.FEEDS_DIR / f"{mapping}.yaml")
    return {rule["to"] for version in raw.get("versions") or [] for rule in (version.get("fields") or {}).values()}


def cadence(cron: str) -> str | None:
    """"monthly" or "quarterly" when a cron expression runs on one day of every month or of every third
    month; None for anything else (daily, weekly, twice a month ...)."""
    parts = str(cron).split()
    if len(parts) != 5 or not parts[2].isdigit() or parts[4] != "*":
        return None
    months = parts[3]
    if months == "*":
        return "monthly"
    if months in ("*/3", "1-12/3") or (len(months.split(",")) == 4 and all(m.isdigit() for m in months.split(","))):
        return "quarterly"
    return None


def _check_agreement(path: Path, raw: dict, agreements: dict) -> tuple[str, ...]:
    """An outbound feed sends only what its agreement allows; anything else is refused here, at load,
    so a forbidden field can never reach a query's result, a mapping or a file."""
    name = raw["agreement"]
    if name not in agreements:
        raise FeedError(f"{path}: agreement {name!r} is not declared (agreements/: "
                        f"{', '.join(sorted(agreements)) or 'none'})")
    agreement = agreements[name]
    if agreement.feed != raw["feed"] or agreement.partner != raw["partner"]:
        raise FeedError(f"{path}: agreement {name} covers {agreement.partner}'s {agreement.feed}, "
                        f"not {raw['partner']}'s {raw['feed']}")
    fields = raw["fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise FeedError(f"{path}: fields must be a non-empty list of hub codes")
    allowed = set(agreement.fields)
    outside = [f for f in fields if f not in allowed]
    if outside:
        raise FeedError(f"{path}: fields {', '.join(outside)} are outside agreement {name} "
                        f"(allowed: {', '.join(agreement.fields)}); they can never be sent")
    _one_of(path, "query", raw["query"], tuple(QUERIES))
    produced = QUERIES[raw["query"]]
    beyond = [f for f in produced if f not in allowed]
    if beyond:
        raise FeedError(f"{path}: query {raw['query']} asks for {', '.join(beyond)}, outside agreement {name} "
                        f"(allowed: {', '.join(agreement.fields)})")
    unmade = [f for f in fields if f not in produced]
    if unmade:
        raise FeedError(f"{path}: fields {', '.join(unmade)} are not produced by query {raw['query']}")
    mapped = _mapped_hub_fields(raw["mapping"])
    if mapped - allowed:
        raise FeedError(f"{path}: mapping {raw['mapping']} translates {', '.join(sorted(mapped - allowed))}, outside "
                        f"agreement {name}")
    unmapped = [f for f in fields if f not in mapped]
    if unmapped:
        raise FeedError(f"{path}: fields {', '.join(unmapped)} have no partner name in mapping {raw['mapping']}")
    if raw["transport"].get("envelope") != "cms":
        raise FeedError(f"{path}: transport.envelope must be cms: personal data leaves the hub only sealed")
    if cadence(raw["schedule"]) != agreement.schedule:
        raise FeedError(f"{path}: schedule {raw['schedule']!r} does not run {agreement.schedule}, as agreement "
                        f"{name} says")
    return tuple(fields)


def _number(path: Path, key: str, value, kind):
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise FeedError(f"{path}: {key} must be a {'whole ' if kind is int else ''}number, got {value!r}")
    return kind(value)


def parse(path: Path, agreements: dict | None = None) -> FeedSpec:
    raw = strict_yaml.load_mapping(path, FeedError, "a feed declaration")
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
    problems = mapping_problems(path, raw)
    if problems:
        raise FeedError(f"{path}: mapping {raw['mapping']} cannot be used (`jinbao feeds check {raw['feed']}`):\n  "
                        + "\n  ".join(problems), tuple(problems))
    outbound = direction == "outbound"
    sent = _check_agreement(path, raw, agreements or {}) if outbound else ()
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FeedError(f"{path}: tags must be a list of words, got {tags!r}")
    target = raw.get("target") or {}
    if not isinstance(target.get("set") or {}, dict):
        raise FeedError(f"{path}: target.set must be a mapping of column: value")
    partners.require(path, "partner", raw["partner"], path.parent, FeedError)
    start = raw["start_date"]
    try:
        start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    except ValueError as exc:
        raise FeedError(f"{path}: start_date {start!r} is not a date YYYY-MM-DD") from exc
    common = dict(
        name=raw["feed"], partner=raw["partner"],
        title=raw.get("title", raw["feed"]), description=raw.get("description", ""), schedule=raw["schedule"],
        start_date=start, retries=_number(path, "retries", raw.get("retries", 2), int),
        retry_delay_minutes=_number(path, "retry_delay_minutes", raw.get("retry_delay_minutes", 10), int),
        tags=tuple(tags), transport=DeclaredTransport(**raw["transport"]),
        format=Format(**{"encoding": encoding, **raw["format"]}), mapping=raw["mapping"], path=path)
    if outbound:
        return OutboundFeed(**common, agreement=raw["agreement"], query=raw["query"], fields=sent,
                            after=_after(path, raw))
    rules = _check_rules(path, quality.get("rules") or [], raw["mapping"])
    return InboundFeed(**common, schema=raw["schema"], quality=Quality(max_reject_share=share, rules=rules),
                       target=Target(table=target["table"], set=dict(target.get("set") or {}),
                                     not_stored=_not_stored(path, raw)),
                       after=_after(path, raw), partitions=_partitions(path, raw.get("partitions", 1)),
                       expected=_expected(path, raw.get("expected")))


def _clock(path: Path, key: str, value) -> dt.time:
    """"HH:MM" only: unquoted, YAML 1.1 reads 02:00 as the number 120."""
    try:
        if isinstance(value, str) and len(value) == 5:
            return dt.time.fromisoformat(value)
    except ValueError:
        pass
    raise FeedError(f"{path}: {key} must be a time of day \"HH:MM\" in quotes, got {value!r}")


def _expected(path: Path, raw) -> Expected | None:
    """`expected:` checked whole at load: a due date mistyped here would remind a partner on the wrong day."""
    if raw is None:
        return None
    if "same_as" in raw:
        if set(raw) != {"same_as"} or not isinstance(raw["same_as"], str):
            raise FeedError(f"{path}: expected.same_as names another feed and stands alone (no cadence or due)")
        return Expected(same_as=raw["same_as"])
    missing = [k for k in ("cadence", "business_date", "due") if k not in raw]
    if missing:
        raise FeedError(f"{path}: expected lacks {', '.join(missing)}")
    _one_of(path, "expected.cadence", raw["cadence"], CADENCES)
    rule = BUSINESS_DATES[raw["cadence"]]
    if raw["business_date"] != rule:
        raise FeedError(f"{path}: expected.business_date of a {raw['cadence']} feed is {rule!r}, got "
                        f"{raw['business_date']!r}")
    due, working_day = raw["due"], None
    by_working_day = raw["cadence"] in ("monthly", "quarterly")
    if by_working_day:
        if not isinstance(due, dict) or set(due) != {"working_day", "time"}:
            raise FeedError(f"{path}: expected.due of a {raw['cadence']} feed is {{working_day: N, time: \"HH:MM\"}}")
        working_day = _number(path, "expected.due.working_day", due["working_day"], int)
        if not 1 <= working_day <= 15:
            raise FeedError(f"{path}: expected.due.working_day must be within 1..15, got {working_day}")
        due = due["time"]
    time = _clock(path, "expected.due" + (".time" if by_working_day else ""), due)
    grace = _number(path, "expected.grace_hours", raw.get("grace_hours", 2), float)
    if not 0 <= grace <= 72:
        raise FeedError(f"{path}: expected.grace_hours must be within 0..72, got {grace}")
    return Expected(cadence=raw["cadence"], business_date=rule, time=time, working_day=working_day,
                    grace_hours=grace)


def _partitions(path: Path, value) -> int:
    """`partitions: 4` or `partitions: {by: rows, count: 4}`; checked here because a bad count found by a
    running task would leave a judged batch waiting for a person."""
    if isinstance(value, dict):
        extra = set(value) - {"by", "count"}
        if extra:
            raise FeedError(f"{path}: unknown key(s) partitions.{', partitions.'.join(sorted(extra))}; "
                            "allowed: by, count")
        _one_of(path, "partitions.by", value.get("by", "rows"), BY)
        if "count" not in value:
            raise FeedError(f"{path}: partitions lacks count (how many partitions to publish in)")
        value = value["count"]
    count = _number(path, "partitions", value, int)
    if not 1 <= count <= MAX_PARTITIONS:
        raise FeedError(f"{path}: partitions must be a whole number from 1 to {MAX_PARTITIONS} "
                        f"(or {{by: rows, count: N}}), got {value!r}")
    return count


def _after(path: Path, raw: dict) -> tuple[str, ...]:
    after = raw.get("after") or []
    if not isinstance(after, list) or not all(isinstance(f, str) for f in after):
        raise FeedError(f"{path}: after must be a list of feed names, got {after!r}")
    return tuple(after)


def _in_order(specs: dict[str, FeedSpec], broken: dict[str, FeedError]) -> dict[str, FeedSpec]:
    """By name, except that a feed comes after the feeds its `after` names; a feed whose `after` names
    an undeclared or broken feed, or that waits for itself, is broken in its turn (`broken`)."""
    out: dict[str, FeedSpec] = {}

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in out:
            return
        if name in stack:
            raise FeedError(f"{specs[name].path}: after: feeds {' -> '.join(stack + (name,))} wait for each other: "
                            "remove one of them from the other's after")
        for before in specs[name].after:
            if before in broken:
                raise FeedError(f"{specs[name].path}: after: names {before!r}, whose declaration is broken "
                                f"({broken[before]})")
            if before not in specs:
                raise FeedError(f"{specs[name].path}: after: names {before!r}, which is not declared")
            visit(before, stack + (name,))
        out[name] = specs[name]

    for name in specs:
        try:
            visit(name, ())
        except FeedError as exc:
            broken[name] = exc
    return out


@dataclass(frozen=True)
class Declarations:
    """Every declaration of a folder, each loaded on its own: the valid feeds, and the broken ones with
    why.  A typo in one file stops only that feed (its `jinbao run`, its DAG), never the others."""

    feeds: dict[str, FeedSpec]
    #: feed name (the file's stem) -> the error naming file and key
    broken: dict[str, FeedError]
    #: the agreements folder itself cannot be read (every outbound feed is then broken too)
    agreements_error: FeedError | None = None

    def strict(self) -> dict[str, FeedSpec]:
        """The feeds, when every declaration is valid; else the first error."""
        if self.agreements_error is not None:
            raise self.agreements_error
        if self.broken:
            raise next(iter(self.broken.values()))
        return self.feeds


#: Folders whose declarations all loaded, by path: a broken one is read again on every call, so that
#: fixing the file is enough (as an error raised from a cached loader never was cached).
_LOADED: dict[str, Declarations] = {}


def _load_dir(folder: str) -> Declarations:
    if folder in _LOADED:
        return _LOADED[folder]
    found = _read_dir(folder)
    if not found.broken and found.agreements_error is None:
        _LOADED[folder] = found
    return found


def _read_dir(folder: str) -> Declarations:
    root = Path(folder)
    if not root.is_dir():
        raise FeedError(f"feed declarations folder {root} does not exist (set JINBAO_FEEDS_DIR)")
    agreements, agreements_error = {}, None
    try:
        agreements = read_agreements(root)
    except AgreementError as exc:
        agreements_error = FeedError(str(exc))
    specs: dict[str, FeedSpec] = {}
    broken: dict[str, FeedError] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name == partners.FILE:
            continue
        try:
            spec = parse(path, agreements)
        except FeedError as exc:
            broken[path.stem] = agreements_error if agreements_error and "agreement" in str(exc) else exc
            continue
        specs[spec.name] = spec
    for spec in list(specs.values()):
        same = getattr(spec, "expected", None) and spec.expected.same_as
        if same and not (isinstance(specs.get(same), InboundFeed) and specs[same].expected
                         and specs[same].expected.cadence):
            broken[spec.name] = FeedError(f"{spec.path}: expected.same_as names {same!r}, which is no inbound feed "
                                          "with its own expected deliveries")
            del specs[spec.name]
    return Declarations(_in_order(specs, broken), broken, agreements_error)


def declared(cfg: Settings | None = None) -> Declarations:
    """The declarations of the feeds folder, each valid or broken on its own (`jinbao run all`, the DAGs)."""
    return _load_dir(str((cfg or load_settings()).feeds_dir))


def load_feeds(cfg: Settings | None = None) -> dict[str, FeedSpec]:
    """Every feed, all declarations valid (an error names the first broken one's file and key)."""
    return declared(cfg).strict()


def get_feed(name: str, cfg: Settings | None = None) -> FeedSpec:
    """One feed, whatever is wrong with the others' declarations."""
    found = declared(cfg)
    if name in found.feeds:
        return found.feeds[name]
    if name in found.broken:
        raise found.broken[name]
    raise FeedError(f"no feed {name!r}; declared feeds: {', '.join(sorted(found.feeds)) or 'none'}")


def load_agreements(cfg: Settings | None = None) -> dict:
    """The data-sharing agreements declared beside the feeds (jinbao/agreements.py)."""
    return read_agreements((cfg or load_settings()).feeds_dir)
