"""dev/screenshots.py: its delivery is one the hub holds, and the README shows the four pictures it takes.

The script itself (Airflow, a run, headless Chromium: about two minutes) is not run here;
tests/dags/test_airflow_live.py and tests/quality/test_data_docs.py cover what it drives.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path

import sqlalchemy as sa

from dev import screenshots
from jinbao.store.database import connect
from tests.conftest import REPO as _REPO

REPO = Path(_REPO)
PICTURES = ["airflow-dag-list.png", "airflow-dag-docs.png", "airflow-held-run.png", "airflow-required-action.png",
            "data-docs.png", "airflow-run-note.png", "airflow-assets.png"]


def test_the_pictured_delivery_is_held(sqlite_home):
    from jinbao.cli import main

    path = screenshots.delivery(sqlite_home.home)
    assert path.parent == sqlite_home.inbound("police") and path.name == "police.death_20261122_000001.csv"
    assert main(["run", screenshots.FEED]) == 2                # held: a person has something to look at
    with connect(sqlite_home.store_url).connect() as conn:
        assert conn.execute(sa.text("select status, received, rejected, published from batch")).one() == \
            ("held", 24, 8, None)


def test_the_readme_shows_every_picture_and_each_is_small():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"!\[[^\]]+\]\(docs/images/([^)]+)\)", readme)
    assert set(PICTURES) <= set(shown)
    assert "python -m dev.screenshots" in readme
    for name in PICTURES:
        data = (REPO / "docs" / "images" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 1000 and height >= 600, name
        assert len(data) < 400_000, f"{name}: {len(data)} bytes"
