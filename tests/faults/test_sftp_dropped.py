"""The partner's sshd drops or stalls in the middle of the download of a sealed delivery
(`jinbao run police.death` with JINBAO_TRANSPORT=sftp+cms against the real sshd on loopback).

One drop is cured by the transport's own retry; a drop on every attempt, or a server that stops
answering, is a retryable failure: exit 1 naming the feed, the delivery untouched in the partner's
inbound/, nothing taken, nothing half downloaded left in staging; the rerun publishes it once.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from jinbao.keys import init_keys
from tests.deliveries import POLICE_DEATH, write_delivery
from tests.faults.conftest import FEED, jinbao, people, rows_of, seal
from tests.faults.invariants import assert_accounted, published_keys
from tests.sftp_fixtures import clean_zone, sshd_server  # noqa: F401 - fixture

pytestmark = pytest.mark.slow
ROWS = 20_000


@pytest.fixture
def sftp_pg_home(pg_home, sshd_server, monkeypatch):
    cfg = pg_home
    init_keys(cfg.home)
    conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd_server.port, "login": sshd_server.user("police"),
            "extra": {"key_file": str(sshd_server.keys["police"]), "host_key": sshd_server.host_key_line,
                      "timeout": 2, "retries": 2}}
    monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_POLICE", json.dumps(conn))
    monkeypatch.setenv("JINBAO_TRANSPORT", "sftp+cms")
    clean_zone(sshd_server)
    zone = sshd_server.zones["police"]
    # ~20 MB sealed, long enough a download to interrupt: the padding a fixed-width export leaves after a
    # value (trimmed by the gate; a column the agreement does not have would refuse the delivery instead)
    rows = [dict(r, ZXRQ=r["ZXRQ"] + " " * 1000) for r in people(ROWS)]
    plain = write_delivery(cfg.home / "police-side", FEED, rows, columns=POLICE_DEATH)
    files = seal(cfg, plain, zone / "inbound", owner=sshd_server.user("police"))
    yield cfg, zone, sshd_server, plain, files
    for pid in [sshd_server.proc.pid, *sshd_server.session_pids()]:      # never leave the server stopped
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def _downloading(cfg, plain) -> bool:
    part = cfg.staging / FEED / f"incoming-{plain.name}.p7m" / f"{plain.name}.p7m.part"
    try:
        return part.stat().st_size > 1_000_000
    except FileNotFoundError:
        return False


def _run_with(cfg, plain, server, act, until_exit: bool):
    """Run `jinbao run` and, once the data file is being downloaded, `act(pids)` on the sshd processes
    (once, or on every session until the run ends)."""
    proc = jinbao("run", FEED, wait=False)
    hits = []

    def watch():
        while proc.poll() is None:
            if _downloading(cfg, plain) or (hits and until_exit):
                pids = server.session_pids()
                if pids:
                    act(pids)
                    hits.append(pids)
                    if not until_exit:
                        return
            time.sleep(0.005)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        watcher.join()
    assert hits, "the download was never caught in progress"
    return proc.returncode, out, err


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _untouched(cfg, zone, plain, files, code, err):
    assert code == 1, err[-2000:]
    assert f"{FEED}: error:" in err and "retry later" in err, err[-2000:]
    # paramiko logs its own traceback (ERROR paramiko.transport) when a banner never comes; none of the hub's
    assert all(line.startswith("ERROR paramiko.transport") for line in err.splitlines() if "Traceback" in line), err
    assert sorted(p.name for p in (zone / "inbound").iterdir() if p.is_file()) == sorted(f.name for f in files)
    assert rows_of(cfg, "select id from batch") == []
    half = [p.name for p in (cfg.staging / FEED).rglob("*") if p.is_file() and p.name != ".run.lock"]
    assert half == []                                          # nothing half downloaded could be taken


def _rerun_publishes(cfg, zone, plain):
    rerun = jinbao("run", FEED)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    (batch,) = assert_accounted(cfg, zone / "inbound", sources={plain.name + ".p7m": plain.read_bytes()})
    assert batch["published"] == ROWS == published_keys(cfg)
    assert sorted(p.name for p in (zone / "inbound" / "processed" / str(batch["id"])).iterdir()) == sorted(
        [plain.name + ".p7m", plain.name.replace(".csv", ".manifest.json"),
         plain.name.replace(".csv", ".manifest.json.sig")])


def test_one_dropped_connection_is_cured_by_the_transport_retry(sftp_pg_home):
    cfg, zone, server, plain, files = sftp_pg_home
    code, out, err = _run_with(cfg, plain, server, _kill, until_exit=False)
    assert code == 0, err[-2000:]
    assert "retry 1/1" in err                                  # the warning of sftp._retry
    (batch,) = assert_accounted(cfg, zone / "inbound", sources={plain.name + ".p7m": plain.read_bytes()})
    assert batch["published"] == ROWS == published_keys(cfg)


def test_connection_dropped_on_every_attempt(sftp_pg_home):
    cfg, zone, server, plain, files = sftp_pg_home
    code, out, err = _run_with(cfg, plain, server, _kill, until_exit=True)
    _untouched(cfg, zone, plain, files, code, err)
    _rerun_publishes(cfg, zone, plain)


def test_server_stalls_mid_download(sftp_pg_home):
    cfg, zone, server, plain, files = sftp_pg_home
    stopped = []

    def stall(pids):
        for pid in [server.proc.pid, *pids]:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
    start = time.monotonic()
    code, out, err = _run_with(cfg, plain, server, stall, until_exit=False)
    assert time.monotonic() - start < 30                       # timeouts, not a hang
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    _untouched(cfg, zone, plain, files, code, err)
    _rerun_publishes(cfg, zone, plain)
