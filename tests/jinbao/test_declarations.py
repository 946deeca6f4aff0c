"""jinbao/declarations.py: a declaration is checked completely when it loads, and a mistake names file and key."""
from __future__ import annotations

import copy
import datetime as dt
import shutil

import pytest
import yaml

from jinbao.declarations import FeedError, FeedSpec, OutboundFeed, declared, get_feed, load_feeds
from jinbao.quality.cross import NotBefore
from jinbao.settings import Settings, shipped_feeds_dir



def shipped(direction: str) -> tuple[str, ...]:
    """The shipped declarations of one direction, read from the files themselves (not a list kept here,
    which a new feed would break: docs/onboarding.md promises that adding a feed needs no Python)."""
    folder = shipped_feeds_dir()
    return tuple(sorted(p.stem for p in folder.glob("*.yaml") if p.name != "partners.yaml"
                        and yaml.safe_load(p.read_text(encoding="utf-8"))["direction"] == direction))


#: A valid declaration (police.death's, as shipped); each test breaks one thing in a copy.
VALID = {
    "feed": "police.death", "partner": "police", "direction": "inbound", "title": "t", "description": "d",
    "schedule": "30 2 * * *", "start_date": "2026-01-01", "retries": 2, "retry_delay_minutes": 10,
    "tags": ["police"], "transport": {"kind": "local"}, "format": {"type": "csv", "encoding": "GB18030"},
    "schema": "police.death", "mapping": "police.death",
    "quality": {"max_reject_share": 0.2,
                "rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "DEATH_BEFORE_BIRTH"}]},
    "target": {"table": "death_record", "set": {"source_feed": "police.death"}},
}


def _settings(tmp_path) -> Settings:
    # load_feeds caches by folder: tmp_path is a fresh folder per test.
    return Settings(home=tmp_path, feeds_dir=tmp_path / "feeds")


def _write(tmp_path, raw: dict | str, name: str = "police.death") -> Settings:
    folder = tmp_path / "feeds"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "partners.yaml").exists():          # the partner list every declarations folder holds
        shutil.copy(shipped_feeds_dir() / "partners.yaml", folder)
    text = raw if isinstance(raw, str) else yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return _settings(tmp_path)


def _broken(**changes) -> dict:
    raw = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = raw
        for p in parents:
            node = node[p]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
    return raw


def _refused(tmp_path, raw, name: str = "police.death") -> str:
    cfg = _write(tmp_path, raw, name)
    with pytest.raises(FeedError) as exc:
        load_feeds(cfg)
    message = str(exc.value)
    assert str(tmp_path / "feeds" / f"{name}.yaml") in message, message
    return message


def test_shipped_declarations_load():
    feeds = load_feeds(Settings(home="/nonexistent", feeds_dir=shipped_feeds_dir()))
    assert len(shipped("inbound")) >= 11 and len(shipped("outbound")) >= 3     # the folder was read
    assert tuple(sorted(n for n, s in feeds.items() if not isinstance(s, OutboundFeed))) == shipped("inbound")
    assert tuple(sorted(n for n, s in feeds.items() if isinstance(s, OutboundFeed))) == shipped("outbound")
    for name, spec in feeds.items():
        assert isinstance(spec, FeedSpec) and spec.name == name and spec.path.stem == name
        assert spec.direction in ("inbound", "outbound") and spec.format.encoding in ("GB18030", "UTF-8")
        assert isinstance(spec.start_date, dt.date)
        assert isinstance(spec, OutboundFeed) or 0 <= spec.quality.max_reject_share <= 1   # outbound: no gate
    death = feeds["police.death"]
    assert death.partner == "police" and death.target.table == "death_record"
    assert death.quality.rules == (NotBefore(field="AAC060", than="AAC006", reason="DEATH_BEFORE_BIRTH"),)
    assert death.target.set == {"source_feed": "police.death"} and death.transport.kind == "local"


def test_a_valid_declaration_in_its_own_folder_loads_with_its_values(tmp_path):
    cfg = _write(tmp_path, _broken(retries=5, quality__max_reject_share=0.05))
    spec = get_feed("police.death", cfg)
    assert spec.retries == 5 and spec.quality.max_reject_share == 0.05 and spec.start_date == dt.date(2026, 1, 1)
    assert spec.path == tmp_path / "feeds" / "police.death.yaml"
    with pytest.raises(FeedError, match="no feed 'police.identity'; declared feeds: police.death"):
        get_feed("police.identity", cfg)


def test_defaults_for_optional_keys(tmp_path):
    raw = {k: v for k, v in VALID.items() if k in ("feed", "partner", "schedule", "start_date", "transport",
                                                    "format", "schema", "mapping", "target")}
    raw["transport"], raw["format"] = {}, {}
    spec = get_feed("police.death", _write(tmp_path, raw))
    assert (spec.direction, spec.format.encoding, spec.retries, spec.retry_delay_minutes) == (
        "inbound", "UTF-8", 2, 10)
    assert spec.quality.max_reject_share == 0.20 and spec.quality.rules == () and spec.title == "police.death"


@pytest.mark.parametrize("changes, key", [
    ({"colour": "red"}, "'colour'"),                                  # unknown top-level key
    ({"transport__knd": "sftp"}, "transport.knd"),                    # unknown nested key
    ({"format__encodng": "UTF-8"}, "format.encodng"),
    ({"quality__max_reject": 0.1}, "quality.max_reject"),
    ({"target__tabel": "person"}, "target.tabel"),
    ({"transport": "local"}, "transport must be a mapping"),
    ({"schema": KeyError}, "missing key(s) schema"),
    ({"transport__kind": "ftp"}, "transport.kind 'ftp'"),             # unknown transport kind
    ({"transport__envelope": "pgp"}, "transport.envelope 'pgp'"),
    ({"quality__rules": [{"rule": "after", "field": "AAC060", "than": "AAC006", "reason": "DEATH_BEFORE_BIRTH"}]},
     "quality.rules[0].rule 'after'"),                                # unknown cross-field rule
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "TOO_EARLY"}]},
     "quality.rules[0].expected is missing: TOO_EARLY is not one of the hub's reason codes"),  # own code, no words
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "TOO_EARLY",
                          "expected": "  "}]}, "quality.rules[0].expected must say in words"),
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "TOO_EARLY",
                          "expected": {"zh": "早", "en": "early"}}]}, "quality.rules[0].expected must say in words"),
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "too early",
                          "expected": "死亡日期不得早于出生日期"}]},
     "quality.rules[0].reason 'too early' must be a code of capital letters"),
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "DEATH_BEFORE_BIRTH",
                          "expected": "死亡日期不得早于出生日期"}]},
     "quality.rules[0].expected: DEATH_BEFORE_BIRTH is a hub reason code with a fixed message"),
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "HELD",
                          "expected": "死亡日期不得早于出生日期"}]},
     "quality.rules[0].reason HELD already means something else"),   # a whole delivery's code
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "reason": "DEATH_BEFORE_BIRTH"}]},
     "quality.rules[0] lacks than"),
    ({"quality__rules": [{"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "DEATH_BEFORE_BIRTH",
                          "severity": "low"}]}, "quality.rules[0] has unknown key(s) severity"),
    ({"quality__rules": {"rule": "not_before"}}, "quality.rules must be a list"),
    ({"quality__max_reject_share": 1.5}, "quality.max_reject_share must be within 0..1"),
    ({"target__table": "deaths"}, "target.table 'deaths'"),           # unknown target table
    ({"schema": "police.deaths"}, "schema 'police.deaths'"),          # no such partner schema
    ({"mapping": "police.deaths"}, "mapping 'police.deaths'"),        # no such feed mapping
    ({"format__encoding": "latin-1"}, "format.encoding 'latin-1'"),
    ({"format__type": "xlsx"}, "format.type 'xlsx'"),
    ({"direction": "sideways"}, "direction 'sideways'"),
    ({"start_date": "2026-13-01"}, "start_date '2026-13-01'"),
    ({"expected": {"cadence": "hourly", "business_date": "day", "due": "02:00"}}, "expected.cadence 'hourly'"),
    ({"expected": {"cadence": "daily", "business_date": "day", "due": 120}}, "expected.due must be a time of day"),
    ({"expected": {"cadence": "daily", "business_date": "period_end", "due": "02:00"}},
     "expected.business_date of a daily feed is 'day'"),
    ({"expected": {"cadence": "monthly", "business_date": "period_end", "due": "18:00"}},
     "expected.due of a monthly feed is {working_day: N"),
    ({"expected": {"cadence": "daily", "business_date": "day", "due": "02:00", "grace": 2}}, "expected.grace"),
    ({"expected": {"cadence": "daily", "due": "02:00"}}, "expected lacks business_date"),
    ({"expected": {"same_as": "police.identity"}}, "expected.same_as names 'police.identity'"),
])
def test_a_mistake_is_a_feed_error_naming_file_and_key(tmp_path, changes, key):
    message = _refused(tmp_path, _broken(**changes))
    assert key in message, message


def test_a_not_before_rule_brings_its_own_reason_code_with_its_message(tmp_path):
    """A comparison no hub code describes is declared, code and words, with no Python (quality/cross.py)."""
    rule = {"rule": "not_before", "field": "AAC060", "than": "AAC006", "reason": "DEATH_BEFORE_BIRTH_DECLARED",
            "expected": "死亡日期不得早于出生日期 the death date must not be before the birth date"}
    spec = get_feed("police.death", _write(tmp_path, _broken(quality__rules=[rule])))
    assert spec.quality.rules == (NotBefore(field="AAC060", than="AAC006", reason="DEATH_BEFORE_BIRTH_DECLARED",
                                            expected=rule["expected"]),)


def test_feed_must_match_the_file_name(tmp_path):
    message = _refused(tmp_path, VALID, name="police.identity")
    assert "feed 'police.death' must match the file name 'police.identity'" in message


@pytest.mark.parametrize("text", ["feed: police.death\ntransport: {kind: local\n", "feed: [police.death\n",
                                  "\tfeed: police.death\n"])
def test_bad_yaml_names_the_file(tmp_path, text):
    message = _refused(tmp_path, text)
    assert "not valid YAML" in message and "line" in message


@pytest.mark.parametrize("text", ["- feed: police.death\n", "just a string\n", ""])
def test_a_declaration_is_a_mapping(tmp_path, text):
    assert "a feed declaration is a YAML mapping" in _refused(tmp_path, text)


def test_one_bad_declaration_fails_the_folder_and_a_fixed_one_loads_from_a_fresh_folder(tmp_path):
    _write(tmp_path / "a", VALID)
    _write(tmp_path / "a", _broken(feed="police.identity", target__table="nope"), name="police.identity")
    with pytest.raises(FeedError, match="police.identity.yaml: target.table 'nope'"):
        load_feeds(_settings(tmp_path / "a"))
    _write(tmp_path / "b", VALID)
    assert list(load_feeds(_settings(tmp_path / "b"))) == ["police.death"]


def test_each_declaration_loads_on_its_own_and_a_fixed_one_loads_again_from_the_same_folder(tmp_path):
    cfg = _write(tmp_path, VALID)
    _write(tmp_path, _broken(feed="police.identity", target__table="nope"), name="police.identity")
    found = declared(cfg)
    assert list(found.feeds) == ["police.death"] and list(found.broken) == ["police.identity"]
    assert "police.identity.yaml: target.table 'nope'" in str(found.broken["police.identity"])
    assert get_feed("police.death", cfg).name == "police.death"       # the other feed runs
    with pytest.raises(FeedError, match="police.identity.yaml: target.table 'nope'"):
        get_feed("police.identity", cfg)
    _write(tmp_path, (shipped_feeds_dir() / "police.identity.yaml").read_text(encoding="utf-8"), name="police.identity")
    assert list(load_feeds(cfg)) == ["police.death", "police.identity"]   # a broken folder is never cached


def test_a_feed_after_a_broken_one_is_broken_too(tmp_path):
    cfg = _write(tmp_path, _broken(after=["police.identity"]))
    _write(tmp_path, _broken(feed="police.identity", target__table="nope"), name="police.identity")
    found = declared(cfg)
    assert found.feeds == {}
    assert "after: names 'police.identity', whose declaration is broken" in str(found.broken["police.death"])


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FeedError, match=f"feed declarations folder {tmp_path / 'feeds'} does not exist"):
        load_feeds(_settings(tmp_path))


@pytest.mark.parametrize("changes, key", [({"retries": "two"}, "retries"),
                                          ({"quality__max_reject_share": "a fifth"}, "quality.max_reject_share")])
def test_a_non_number_is_a_feed_error_naming_file_and_key(tmp_path, changes, key):
    message = _refused(tmp_path, _broken(**changes))
    assert key in message, message


@pytest.mark.parametrize("changes, key", [({"tags": "police"}, "tags"), ({"partner": "polcie"}, "partner"),
                                          ({"target__set": "police.death"}, "target.set")])
def test_a_wrong_shape_or_unknown_partner_is_refused_naming_the_key(tmp_path, changes, key):
    message = _refused(tmp_path, _broken(**changes))
    assert key in message, message
