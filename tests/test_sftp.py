"""The SFTP connector against a real OpenSSH sshd (tests/sshd.py), never a mock."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

import paramiko
import pytest

from jinbao.connectors.sftp import HostKeyRefused, SftpEndpoint, SftpTransport
from tests.sftp_server import sshd_server  # noqa: F401 - fixture

FILES = ("police.death_20261122_000001.csv.p7m", "police.death_20261122_000001.manifest.json",
         "police.death_20261122_000001.manifest.json.sig")


def _endpoint(server, partner="police", **kw) -> SftpEndpoint:
    settings = {"host": "127.0.0.1", "port": server.port, "username": server.user(partner),
                "key_file": str(server.keys[partner]), "host_key": server.host_key_line, "timeout": 3.0,
                "retries": 3, **kw}
    return SftpEndpoint(**settings)


def _drop(server, names=FILES, partner="police", size=1000):
    inbound = server.zones[partner] / "inbound"
    for name in names:
        (inbound / name).write_bytes(os.urandom(size))
        shutil.chown(inbound / name, server.user(partner))


def _clean(server, partner="police"):
    for sub in ("inbound", "outbound"):
        folder = server.zones[partner] / sub
        for p in folder.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def test_list_fetch_ack_put(sshd_server, tmp_path):
    _clean(sshd_server)
    _drop(sshd_server)
    _drop(sshd_server, ("police.death_20261123_000002.csv.p7m.part",))                  # upload in progress
    _drop(sshd_server, ("police.death_20261124_000003.csv.p7m", "police.death_20261124_000003.manifest.json"))
    t = SftpTransport(_endpoint(sshd_server))
    found = t.list_deliveries("police.death")
    assert [d.name for d in found] == [FILES[0]]       # temp name and unsigned delivery are not taken
    paths = t.fetch(found[0], tmp_path / "got")
    for p in paths:
        assert p.read_bytes() == (sshd_server.zones["police"] / "inbound" / p.name).read_bytes()
    t.ack(found[0])
    assert sorted(p.name for p in (sshd_server.zones["police"] / "inbound" / "processed").iterdir()) == sorted(FILES)
    receipt = tmp_path / "r.json"
    receipt.write_text("{}")
    t.put(receipt, "police.death_20261122_000001.receipt.json")
    assert [p.name for p in (sshd_server.zones["police"] / "outbound").iterdir()] == [
        "police.death_20261122_000001.receipt.json"]
    t.close()


def test_unknown_and_changed_host_keys_are_refused(sshd_server, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    wrong = " ".join((tmp_path / "k.pub").read_text().split()[:2])
    with pytest.raises(HostKeyRefused, match="refusing|does not match"):
        SftpTransport(_endpoint(sshd_server, host_key=wrong, retries=1)).list_deliveries("police.death")
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(tmp_path / "r")], check=True)
    other_type = " ".join((tmp_path / "r.pub").read_text().split()[:2])
    with pytest.raises(HostKeyRefused):
        SftpTransport(_endpoint(sshd_server, host_key=other_type, retries=1)).list_deliveries("police.death")


def test_password_login_refused(sshd_server):
    sock = paramiko.Transport(("127.0.0.1", sshd_server.port))
    try:
        sock.start_client(timeout=5)
        with pytest.raises(paramiko.AuthenticationException):
            sock.auth_password(sshd_server.user("police"), "anything")
    finally:
        sock.close()


def test_no_way_out_of_the_chroot(sshd_server):
    t = SftpTransport(_endpoint(sshd_server))
    sftp = t._connect()
    assert sorted(sftp.listdir("/")) == ["inbound", "outbound"]
    assert sorted(sftp.listdir("/../..")) == ["inbound", "outbound"]
    with pytest.raises(IOError):
        sftp.open("/etc/passwd")
    with pytest.raises(IOError):
        sftp.mkdir("/escape")                       # the chroot itself is root's
    t.close()


def test_connection_dropped_mid_download_then_clean_retry(sshd_server, tmp_path):
    _clean(sshd_server)
    _drop(sshd_server, size=40_000_000)             # big enough to be caught mid-transfer
    t = SftpTransport(_endpoint(sshd_server, timeout=10.0))
    d = t.list_deliveries("police.death")[0]
    killed = threading.Event()

    def kill_session():
        time.sleep(0.3)
        for pid in sshd_server.session_pids():
            os.kill(pid, signal.SIGKILL)
        killed.set()
    threading.Thread(target=kill_session).start()
    paths = t.fetch(d, tmp_path / "got")           # retried on a new connection
    assert killed.is_set()
    for p in paths:
        assert p.read_bytes() == (sshd_server.zones["police"] / "inbound" / p.name).read_bytes()
    assert not list((tmp_path / "got").glob("*.part"))
    t.close()


def test_stalled_server_times_out_instead_of_hanging(sshd_server):
    _clean(sshd_server)
    _drop(sshd_server)
    t = SftpTransport(_endpoint(sshd_server, timeout=2.0, retries=2))
    t.list_deliveries("police.death")              # connected
    pids = [sshd_server.proc.pid, *sshd_server.session_pids()]   # the whole server stalls
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(ConnectionError, match="after 2 attempts"):
            t.list_deliveries("police.death")
        assert time.monotonic() - start < 20       # timeouts on the channel, then on the new connect
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        t.close()
