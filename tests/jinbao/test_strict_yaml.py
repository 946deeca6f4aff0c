"""jinbao/strict_yaml.py: every declaration kind refuses a repeated key and an unknown key, naming file and key.

Each case breaks a copy of a shipped declaration in tmp_path and reads it the way the hub does
(the kind's loader pointed at the copy), so a kind that stopped using the strict reader fails here.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jinbao.agreements import AgreementError, load_agreements
from jinbao.declarations import FeedError, load_feeds
from jinbao.mappings.tables import CODES_DIR, FEEDS_DIR, MappingError, read_code_table, read_feed_mapping
from jinbao.register.authority import FILE as REGISTER_FILE, RegisterError, parse as parse_register
from jinbao.schemas.dictionary import DICTIONARY, PARTNERS_DIR, DictionaryError, hub_dictionary, partner_schema
from jinbao.partners import PartnerError, load_partners
from jinbao.settings import Settings, shipped_feeds_dir
from jinbao.subsidies.standards import StandardsError, load as load_standards

SCHEMAS = DICTIONARY.parent


def _copy(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / source.name))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _feeds(tmp_path, old, new):
    folder = tmp_path / "feeds"
    shutil.copytree(shipped_feeds_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    _edit(folder / "police.death.yaml", old, new)
    return FeedError, folder / "police.death.yaml", lambda: load_feeds(Settings(home=tmp_path, feeds_dir=folder))


def _agreement(tmp_path, old, new):
    folder = tmp_path / "feeds"
    path = _copy(shipped_feeds_dir() / "agreements" / "police.insured_status.yaml", folder / "agreements")
    _copy(shipped_feeds_dir() / "partners.yaml", folder)
    _edit(path, old, new)
    return AgreementError, path, lambda: load_agreements(folder)


def _partners(tmp_path, old, new):
    path = _copy(shipped_feeds_dir() / "partners.yaml", tmp_path / "feeds")
    _edit(path, old, new)
    return PartnerError, path, lambda: load_partners(path.parent)


def _register(tmp_path, old, new):
    path = _copy(SCHEMAS / REGISTER_FILE, tmp_path)
    _edit(path, old, new)
    return RegisterError, path, lambda: parse_register(path.read_text(encoding="utf-8"), str(path))


def _standards(tmp_path, old, new):
    path = _copy(SCHEMAS / "subsidy_standards.yaml", tmp_path)
    _edit(path, old, new)
    return StandardsError, "subsidy_standards.yaml", lambda: load_standards(path.read_text(encoding="utf-8"))


def _feed_mapping(tmp_path, old, new):
    path = _copy(FEEDS_DIR / "police.death.yaml", tmp_path / "feeds")
    _edit(path, old, new)
    return MappingError, path, lambda: read_feed_mapping(path)


def _code_table(tmp_path, old, new):
    path = _copy(CODES_DIR / "police.gender.yaml", tmp_path / "codes")
    _edit(path, old, new)
    return MappingError, path, lambda: read_code_table(path)


def _dictionary(tmp_path, old, new):
    path = _copy(DICTIONARY, tmp_path)
    _edit(path, old, new)
    return DictionaryError, path, lambda: hub_dictionary(path)


def _partner_schema(tmp_path, old, new):
    path = _copy(PARTNERS_DIR / "police.death.yaml", tmp_path / "partners")
    _edit(path, old, new)
    return DictionaryError, path, lambda: partner_schema("police.death", path.parent)


@pytest.mark.parametrize("kind, old, new, says", [
    (_feeds, "retries: 2\n", "retries: 2\nretries: 4\n", "key 'retries' appears twice"),
    (_feeds, "retries: 2\n", "retries: 2\nretry: 4\n", "unknown key(s) retry"),
    (_feeds, "target:\n", "target:\n  tabel: person\n", "unknown key(s) target.tabel"),
    (_agreement, "partner: police\n", "partner: police\npartner: health\n", "key 'partner' appears twice"),
    (_agreement, "partner: police\n", "partner: police\nparty: health\n", "unknown key(s) party"),
    (_agreement, "in_force: {from:", "in_force: {til: 2030-01-01, from:", "unknown key(s) in_force.til"),
    (_partners, "  health:\n", "  police:\n    zh: x\n  health:\n", "key 'police' appears twice"),
    (_partners, "    owner: 卫健 health\n", "    owner: 卫健 health\n    team: x\n", "unknown key(s) partners.health.team"),
    (_register, "fields:\n", "fields:\n  AAC005: [police.identity]\n", "key 'AAC005' appears twice"),
    (_register, "fields:\n", "field_order: []\nfields:\n", "unknown key(s) field_order"),
    (_register, "life_status:\n", "life_status:\n  fallback: alive\n", "unknown key(s) life_status.fallback"),
    (_standards, '"2026":\n', '"2026":\n  "00": {"1": "1.00", "2": "1.00", "3": "1.00"}\n', "key '00' appears twice"),
    (_standards, '"2026":\n', '"2026":\n  "05": {"1": "1.00", "2": "1.00", "3": "1.00"}\n', "unknown key(s) 2026.05"),
    (_standards, '"00": {"1"', '"00": {"4": "1.00", "1"', "unknown key(s) 2026.00.4"),
    (_feed_mapping, "      XM: {to: AAC003}\n", "      XM: {to: AAC003}\n      XM: {to: AAC003}\n",
     "key 'XM' appears twice"),
    (_feed_mapping, "      XM: {to: AAC003}\n", "      XM: {to: AAC003, code: police.gender}\n",
     "unknown key(s) versions[0].fields.XM.code"),
    (_feed_mapping, "feed: police.death\n", "feed: police.death\npartner: police\n", "unknown key(s) partner"),
    (_code_table, "    map:\n", "    map:\n      \"1\": \"1\"\n", "key '1' appears twice"),
    (_code_table, "    map:\n", "    reverse: {}\n    map:\n", "unknown key(s) versions[0].reverse"),
    (_dictionary, "fields:\n", "fields:\n  AAC002: {label: x, en: x, type: text}\n", "key 'AAC002' appears twice"),
    (_dictionary, "type: citizen_id,", "type: citizen_id, pii: true,", "unknown key(s) fields.AAC002.pii"),
    (_partner_schema, "partner: police\n", "partner: police\npartner: health\n", "key 'partner' appears twice"),
    (_partner_schema, "required: true}", "required: true, width: 18}", "unknown key(s) columns[0].width"),
])
def test_a_repeated_or_unknown_key_is_refused_naming_file_and_key(tmp_path, kind, old, new, says):
    error, path, read = kind(tmp_path, old, new)
    with pytest.raises(error) as exc:
        read()
    assert str(path) in str(exc.value) and says in str(exc.value), str(exc.value)


def test_a_repeated_key_names_both_lines(tmp_path):
    error, path, read = _agreement(tmp_path, "partner: police\n", "partner: police\npartner: health\n")
    with pytest.raises(error) as exc:
        read()
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text == "partner: health")
    assert f"{path}:{line}: key 'partner' appears twice (first on line {line - 1})" in str(exc.value)


def test_the_shipped_declarations_of_every_kind_read_strictly():
    load_feeds(Settings(home="/nonexistent", feeds_dir=shipped_feeds_dir()))
    parse_register((SCHEMAS / REGISTER_FILE).read_text(encoding="utf-8"))
    load_standards()
    for path in sorted(FEEDS_DIR.glob("*.yaml")):
        read_feed_mapping(path)
    for path in sorted(CODES_DIR.glob("*.yaml")):
        read_code_table(path)
    hub_dictionary()
    for path in sorted(PARTNERS_DIR.glob("*.yaml")):
        partner_schema(path.stem)


def test_libyamls_parser_reads_every_shipped_declaration_as_the_python_one_does():
    """strict_yaml parses with libyaml when it can (speed); the data must be what the pure-Python
    reader, the one every error message comes from, makes of the same file."""
    from jinbao import strict_yaml

    repo = SCHEMAS.parent
    files = sorted(f for top in ("dags", "mappings", "schemas", "quality") for f in (repo / top).rglob("*.yaml"))
    assert len(files) > 40
    for path in files:
        text = path.read_text(encoding="utf-8")
        loader = strict_yaml._Loader(text)
        try:
            assert strict_yaml.load(path, ValueError, text) == loader.get_single_data(), path
        finally:
            loader.dispose()


@pytest.mark.parametrize("text", ["a: 1\nb: [\n", "a: {b: 1\n", "a:\n\t- 1\n", "a: 'x\n"])
def test_invalid_yaml_says_what_the_python_reader_says(text):
    import yaml

    from jinbao import strict_yaml

    with pytest.raises(yaml.YAMLError) as python:
        loader = strict_yaml._Loader(text)
        loader.name = "broken.yaml"
        loader.get_single_data()
    with pytest.raises(ValueError) as ours:
        strict_yaml.load("broken.yaml", ValueError, text)
    assert str(ours.value) == f"broken.yaml: not valid YAML: {python.value}"
