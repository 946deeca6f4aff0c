"""A signed manifest whose created_at is far in the future, far in the past, or no timestamp at all.

What the code does today (exchange_zone/manifest.py): created_at must be a non-empty string and
nothing else; `validate` checks sha256, encoding, file, feed and sequence but never created_at, and
the hub records it nowhere.  So such a delivery is published like any other.  These tests pin that
behaviour; if created_at gets checked (a manifest from the future, or from before its own business
date, refused MANIFEST_INVALID), they must change with it.
"""
from __future__ import annotations

import json

import pytest

from jinbao.keys import init_keys
from tests.faults.conftest import FEED, jinbao, people, rows_of, seal
from tests.deliveries import write_delivery
from tests.faults.invariants import assert_accounted, published_keys


@pytest.fixture
def sealed_home(pg_home, monkeypatch):
    init_keys(pg_home.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    from jinbao.settings import load_settings
    return load_settings()


@pytest.mark.parametrize("created_at", ["2099-01-01T00:00:00+08:00", "1999-01-01T00:00:00+08:00", "yesterday"])
def test_created_at_is_not_checked_today(sealed_home, created_at):
    cfg = sealed_home
    plain = write_delivery(cfg.home / "police-side", FEED, people(10))
    files = seal(cfg, plain, cfg.inbound("police"), created_at=created_at)
    assert json.loads(files[1].read_bytes())["created_at"] == created_at

    run = jinbao("run", FEED)
    assert run.returncode == 0, run.stderr[-2000:]
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={files[0].name: plain.read_bytes()})
    assert (batch["status"], batch["reason_code"], batch["published"]) == ("published", None, 10)
    assert published_keys(cfg) == 10
    assert created_at not in json.dumps(rows_of(cfg, "select * from batch"), default=str)   # recorded nowhere
