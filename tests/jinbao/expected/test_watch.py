"""jinbao/expected/watch.py: what the expected_delivery sensor decides, at each moment of a run's window."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from jinbao import ledger
from jinbao.declarations import load_feeds
from jinbao.expected.watch import ARRIVED, LATE, NONE_DUE, NOT_YET, verdict
from jinbao.store.database import upgrade
from tests.deliveries import write_delivery

CST = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


def test_not_yet_then_late_then_arrived(sqlite_home, monkeypatch):
    home, feeds = sqlite_home, load_feeds(sqlite_home)
    db = upgrade(home.store_url)
    spec = feeds["police.death"]
    start, end = at(2026, 11, 23), at(2026, 11, 24)          # the run of 23 Nov watches 22 Nov's deaths

    found = verdict(home, db, feeds, spec, start, end, at=at(2026, 11, 23, 3, 59))
    assert found.state == NOT_YET and "due 2026-11-23 02:00" in found.message and "late from 2026-11-23 04:00" \
        in found.message
    assert not home.outbound("police").exists()

    monkeypatch.setattr(ledger, "now", lambda: at(2026, 11, 23, 4, 0))
    found = verdict(home, db, feeds, spec, start, end, at=at(2026, 11, 23, 4, 0))
    assert found.state == LATE and "reminder police.death_20261122.reminder.txt sent now" in found.message
    assert "Next: ask police to deliver it" in found.message
    again = verdict(home, db, feeds, spec, start, end, at=at(2026, 11, 23, 4, 10))
    assert again.state == LATE and "sent 2026-11-23 04:00" in again.message      # once, not twice
    assert len(list(home.outbound("police").glob("*.reminder.txt"))) == 1

    write_delivery(home.inbound("police"), "police.death", [], date="20261122")
    assert verdict(home, db, feeds, spec, start, end, at=at(2026, 11, 23, 4, 20)).state == ARRIVED


def test_nothing_due_on_a_weekend_for_a_working_day_feed(sqlite_home):
    feeds = load_feeds(sqlite_home)
    found = verdict(sqlite_home, upgrade(sqlite_home.store_url), feeds, feeds["health.death_certificate"],
                    at(2026, 11, 21), at(2026, 11, 22), at=at(2026, 11, 21, 12))
    assert found.state == NONE_DUE
    front = verdict(sqlite_home, upgrade(sqlite_home.store_url), feeds, feeds["finance.subsidy_payment_frontend"],
                    at(2026, 11, 1), at(2026, 12, 1), at=at(2026, 11, 21, 12))
    assert front.state == NONE_DUE and "finance.subsidy_payment owes them" in front.message
