"""The disk under staging fills up (a 2 MiB tmpfs mounted at JINBAO_HOME/staging; needs root).

ENOSPC is a fault of the hub's machine room: the run exits 1 naming the feed and the problem, the
delivery stays in inbound/, nothing is refused; once there is room the rerun publishes it once.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import unavailable
from tests.faults.conftest import FEED, drop_plain, jinbao, people, rows_of
from tests.faults.invariants import assert_accounted, published_keys


def _mounted(staging, size: str):
    staging.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(staging)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        unavailable("a tmpfs mount (root)", RuntimeError(done.stderr.strip()))
    try:
        yield staging
    finally:
        if subprocess.run(["umount", str(staging)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(staging)], capture_output=True)


@pytest.fixture
def tiny_staging(pg_home):
    yield from _mounted(pg_home.staging, "2m")


@pytest.fixture
def own_staging(pg_home):
    """Staging on a filesystem of its own (as on a shared volume, docs/scale.md), with room enough."""
    yield from _mounted(pg_home.staging, "64m")


def _free(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _retryable_disk_full(cfg, proc, path, delivery):
    assert proc.returncode == 1, (proc.stdout, proc.stderr[-2000:])
    assert f"{FEED}: error:" in proc.stderr and "No space left on device" in proc.stderr, proc.stderr
    assert "retry later" in proc.stderr and "Traceback" not in proc.stderr
    assert path.read_bytes() == delivery                                   # still waiting in inbound/
    assert rows_of(cfg, "select id from batch where status = 'refused'") == []
    assert_accounted(cfg, cfg.inbound("police"), settled=False)


def test_delivery_larger_than_the_free_space(pg_home, tiny_staging):
    cfg = pg_home
    path = drop_plain(cfg, people(60_000))                                 # 3 MiB: the fetch cannot fit
    delivery = path.read_bytes()
    assert len(delivery) > _free(tiny_staging)
    _retryable_disk_full(cfg, jinbao("run", FEED), path, delivery)
    assert rows_of(cfg, "select id from batch") == []                      # nothing taken
    assert not [p for p in tiny_staging.rglob("*") if p.is_file() and p.name != ".run.lock"]   # no half copy

    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_staging)], check=True)
    rerun = jinbao("run", FEED)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
    assert batch["published"] == 60_000 == published_keys(cfg)


def _room_for(volume, delivery: bytes):
    """Fill `volume` so that the delivery fits with 48 KiB to spare (not enough to judge it); the ballast."""
    ballast = volume / "ballast"
    ballast.write_bytes(b"\0" * (_free(volume) - len(delivery) - 48 * 1024))
    return ballast


def test_room_for_the_delivery_but_not_for_judging_it(pg_home, tiny_staging):
    cfg = pg_home
    path = drop_plain(cfg, people(15_000))
    delivery = path.read_bytes()
    ballast = _room_for(tiny_staging, delivery)                            # the fetch fits, Parquet not
    _retryable_disk_full(cfg, jinbao("run", FEED), path, delivery)
    (batch,) = rows_of(cfg, "select status from batch")
    assert batch["status"] == "received"                                   # taken, to be judged again

    ballast.unlink()                                                       # an operator makes room
    rerun = jinbao("run", FEED)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
    assert batch["published"] == 15_000 == published_keys(cfg)


def test_staging_volume_replaced_after_disk_full(pg_home, tiny_staging):
    cfg = pg_home
    path = drop_plain(cfg, people(15_000))
    delivery = path.read_bytes()
    ballast = _room_for(tiny_staging, delivery)
    _retryable_disk_full(cfg, jinbao("run", FEED), path, delivery)

    subprocess.run(["umount", str(tiny_staging)], check=True)              # an operator swaps the full volume
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(tiny_staging)], check=True)
    rerun = jinbao("run", FEED)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
    assert batch["published"] == 15_000 == published_keys(cfg)


def test_a_refusal_when_staging_is_a_filesystem_of_its_own(pg_home, own_staging):
    cfg = pg_home
    bad = drop_plain(cfg, people(5))
    bad.write_bytes(bad.read_bytes().decode("gb18030").replace("SWRQ,", "SWRQX,", 1).encode("gb18030"))
    drop_plain(cfg, people(5, start=100), seq=2)
    run = jinbao("run", FEED)
    assert run.returncode == 2, run.stderr[-2000:]
    first, second = assert_accounted(cfg, cfg.inbound("police"))
    assert (first["status"], first["reason_code"], second["status"]) == ("refused", "HEADER_MISMATCH", "published")
