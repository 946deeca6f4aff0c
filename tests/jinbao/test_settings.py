"""jinbao/settings.py: the one place the environment is read."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from jinbao.settings import DECLARED, Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]


def _readme_rows() -> dict[str, tuple[str, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `(JINBAO_[A-Z_]+)` \| (.*?) \| (.*?) \|$", line)
        if m:
            rows[m[1]] = (m[2], m[3])
    return rows


def test_readme_configuration_table_is_the_declared_settings():
    assert _readme_rows() == {d.env: (d.default, d.meaning) for d in DECLARED}


def test_no_module_but_settings_reads_jinbao_variables():
    offenders = []
    for path in REPO.glob("**/*.py"):
        rel = path.relative_to(REPO)
        # tests/, dev/ and bench/ start the product with a chosen environment; the product reads it only here
        if rel.parts[0] in (".venv", "tests", "dev", "bench", "var", "build") or rel == Path("jinbao/settings.py"):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"(environ|getenv)[^\n]*JINBAO_", text):
            offenders.append(str(rel))
    assert offenders == []


def test_defaults_put_everything_under_home(tmp_path):
    cfg = load_settings({"JINBAO_HOME": str(tmp_path)})
    assert cfg.store_url == f"sqlite:///{tmp_path / 'store.db'}"
    assert cfg.feeds_dir.name == "feeds" and (cfg.feeds_dir / "police.death.yaml").is_file()
    assert cfg.transport is None and 1 <= cfg.gate_threads <= 4
    assert cfg.inbound("police") == tmp_path / "exchange_zone" / "police" / "inbound"


def test_values_are_typed_and_checked(tmp_path):
    cfg = load_settings({"JINBAO_HOME": str(tmp_path), "JINBAO_GATE_THREADS": "3", "JINBAO_TRANSPORT": "sftp+cms"})
    assert cfg.gate_threads == 3 and cfg.transport == "sftp+cms"
    with pytest.raises(SettingsError, match="JINBAO_GATE_THREADS='many'"):
        load_settings({"JINBAO_GATE_THREADS": "many"})
    with pytest.raises(SettingsError, match="JINBAO_TRANSPORT='ftp'.*local, local\\+cms, sftp\\+cms"):
        load_settings({"JINBAO_TRANSPORT": "ftp"})


def test_replace_keeps_other_settings(tmp_path):
    cfg = Settings(home=tmp_path)
    other = cfg.replace(transport="local+cms")
    assert other.transport == "local+cms" and other.home == cfg.home and cfg.transport is None
