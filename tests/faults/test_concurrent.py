"""Two `jinbao run police.death` started together on one delivery (tests/faults: real processes).

One publishes; the other waits for the feed lock (jinbao/feed_lock.py) and then finds nothing to
do.  Exactly one batch row, published once, no orphan rows, and neither prints a raw traceback.
"""
from __future__ import annotations


from tests.faults.conftest import FEED, drop_plain, jinbao, people, rows_of
from tests.faults.invariants import assert_accounted, published_keys


def _race(n: int = 2, fault: str | None = None):
    procs = [jinbao("run", FEED, wait=False, fault=fault) for _ in range(n)]
    outputs = [p.communicate(timeout=120) for p in procs]
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]


def _one_published(cfg, results, path, delivery, total):
    for code, out, err in results:
        assert "Traceback" not in err and ".tmp" not in err, err[-2000:]
    codes = sorted(code for code, _, _ in results)
    outs = [out for _, out, _ in results]
    assert codes == [0] * len(results), results
    assert sum("published" in o for o in outs) == 1 and sum("no delivery waiting" in o for o in outs) == len(outs) - 1
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
    assert batch["status"] == "published" and published_keys(cfg) == total == batch["published"]
    assert len(rows_of(cfg, "select id from batch")) == 1


def test_two_runs_at_once_on_an_upgraded_store(pg_home, tmp_path):
    cfg = pg_home
    assert jinbao("db", "upgrade").returncode == 0
    path = drop_plain(cfg, people(5000))
    delivery = path.read_bytes()
    _one_published(cfg, _race(fault=f"meet:upgrade:{tmp_path / 'meet'}:2"), path, delivery, 5000)


def test_two_first_runs_at_once_on_an_empty_store(pg_home, tmp_path):
    """The very first runs of a new deployment: both find the store without tables.  Whoever is about
    to migrate waits up to 10 s for the other to get as far (without that the race is lost often but
    not always); a store that lets only one run check and migrate at a time passes after the wait."""
    cfg = pg_home
    path = drop_plain(cfg, people(5000))
    delivery = path.read_bytes()
    _one_published(cfg, _race(fault=f"meet:migrate:{tmp_path / 'meet'}:2"), path, delivery, 5000)


def test_a_run_that_cannot_get_the_feed_says_so_and_touches_nothing(pg_home):
    """The second run gives up (here after 1 s instead of 30) with FeedBusy naming the holder."""
    import os

    from jinbao.feed_lock import feed_lock

    cfg = pg_home
    path = drop_plain(cfg, people(10))
    delivery = path.read_bytes()
    with feed_lock(cfg.staging, FEED):
        busy = jinbao("run", FEED, fault="lock-wait:1")
    assert busy.returncode == 1 and "Traceback" not in busy.stderr
    assert f"{FEED}: error: another run of {FEED} is in progress (process {os.getpid()}); waited 1 s" in busy.stderr
    assert path.read_bytes() == delivery and rows_of(cfg, "select id from batch") == []
    assert jinbao("run", FEED).returncode == 0
    assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
