"""A feed declared `after` another waits until that feed's deliveries of the day are finished in the
ledger (the question the Airflow sensor asks, jinbao/feed_order.py)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from jinbao.batch import BatchHeld
from jinbao.declarations import get_feed
from jinbao.engine import Engine
from jinbao.feed_order import unfinished
from tests.deliveries import death_row, write_delivery

DAY = dt.date(2026, 11, 22)


def _after_deaths(cfg):
    """A feed judged after police.death (the declared pair, finance after enrolment, needs a month of
    subsidy data; the question is the same for any two feeds)."""
    return dataclasses.replace(get_feed("police.identity", cfg), after=("police.death",))


def test_waits_for_a_waiting_delivery_and_an_unfinished_batch_until_published(sqlite_home):
    spec = _after_deaths(sqlite_home)
    assert unfinished(spec, sqlite_home, DAY) == []               # nothing on its way: no one is held up
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(5)])
    waiting = unfinished(spec, sqlite_home, DAY)
    assert [(u.feed, u.file, u.state) for u in waiting] == [
        ("police.death", "police.death_20261122_000001.csv", "waiting in police's inbound/")]
    assert unfinished(spec, sqlite_home, DAY - dt.timedelta(days=1)) == []   # a later day's delivery: not ours

    eng = Engine(get_feed("police.death", sqlite_home), sqlite_home)
    (batch_id,) = eng.receive(DAY)
    assert [str(u) for u in unfinished(spec, sqlite_home, DAY)] == [
        f"police.death: police.death_20261122_000001.csv (batch {batch_id} received)"]
    eng.judge(batch_id)
    assert [u.state for u in unfinished(spec, sqlite_home, DAY)] == [f"batch {batch_id} judged"]
    eng.publish(batch_id)
    eng.finish(batch_id)
    eng.close()
    assert unfinished(spec, sqlite_home, DAY) == []
    assert unfinished(spec, sqlite_home, None) == []


def test_a_held_batch_does_not_keep_the_next_feed_waiting(sqlite_home):
    spec = _after_deaths(sqlite_home)
    rows = [death_row(i, XB="5") for i in range(5)]               # every record rejected: held
    write_delivery(sqlite_home.inbound("police"), "police.death", rows)
    eng = Engine(get_feed("police.death", sqlite_home), sqlite_home)
    (batch_id,) = eng.receive(DAY)
    eng.judge(batch_id)
    eng.publish(batch_id)
    with pytest.raises(BatchHeld):
        eng.finish(batch_id)
    eng.close()
    assert (sqlite_home.inbound("police") / "police.death_20261122_000001.csv").exists()   # kept for review
    assert unfinished(spec, sqlite_home, DAY) == []
