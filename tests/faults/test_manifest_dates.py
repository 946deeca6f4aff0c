"""A signed manifest whose created_at is far in the future, far in the past, or no timestamp at all.

exchange_zone/manifest.py holds created_at to an ISO 8601 timestamp not before the business day
the delivery covers and not in the future (a day of clock skew allowed): anything else describes
some other delivery and is refused MANIFEST_INVALID, with a receipt, the files kept in quarantine.
"""
from __future__ import annotations

import json

import pytest

from jinbao.keys import init_keys
from tests.faults.conftest import FEED, jinbao, people, seal
from tests.deliveries import write_delivery
from tests.faults.invariants import assert_accounted, published_keys


@pytest.fixture
def sealed_home(pg_home, monkeypatch):
    init_keys(pg_home.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    from jinbao.settings import load_settings
    return load_settings()


@pytest.mark.parametrize("created_at, why", [("2099-01-01T00:00:00+08:00", "in the future"),
                                             ("1999-01-01T00:00:00+08:00", "before the business day"),
                                             ("yesterday", "not an ISO 8601 timestamp")])
def test_an_implausible_created_at_is_refused(sealed_home, created_at, why):
    cfg = sealed_home
    plain = write_delivery(cfg.home / "police-side", FEED, people(10))
    files = seal(cfg, plain, cfg.inbound("police"), created_at=created_at)
    assert json.loads(files[1].read_bytes())["created_at"] == created_at

    run = jinbao("run", FEED)
    assert run.returncode == 2, run.stderr[-2000:]
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={files[0].name: plain.read_bytes()})
    assert (batch["status"], batch["reason_code"], batch["published"]) == ("refused", "MANIFEST_INVALID", None)
    assert why in batch["message"]
    assert published_keys(cfg) == 0


def test_a_manifest_written_after_its_business_day_is_taken(sealed_home):
    cfg = sealed_home
    plain = write_delivery(cfg.home / "police-side", FEED, people(10))        # business day 2026-11-22
    files = seal(cfg, plain, cfg.inbound("police"), created_at="2026-11-23T02:30:00+08:00")
    assert jinbao("run", FEED).returncode == 0
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={files[0].name: plain.read_bytes()})
    assert (batch["status"], batch["published"]) == ("published", 10)
