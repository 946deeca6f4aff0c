"""The SFTP connector against a real OpenSSH sshd (tests/sftp_fixtures.py), never a mock."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time

import paramiko
import pytest

from jinbao.connectors.sftp import HostKeyRefused
from tests.sftp_fixtures import clean_zone, drop, sshd_server, transport_for  # noqa: F401 - fixture

BASE = "police.death_20261122_000001"
FILES = (f"{BASE}.csv.p7m", f"{BASE}.manifest.json", f"{BASE}.manifest.json.sig")


def _fingerprint(line: str) -> str:
    keytype, b64 = line.split()[:2]
    import base64
    return paramiko.PKey.from_type_string(keytype, base64.b64decode(b64)).fingerprint


def test_list_fetch_ack_put(sshd_server, tmp_path):
    clean_zone(sshd_server)
    drop(sshd_server, FILES)
    inbound = sshd_server.zones["police"] / "inbound"
    with transport_for(sshd_server) as t:
        found = t.list_deliveries("police.death")
        assert [(d.name, d.sequence, d.business_date) for d in found] == [(FILES[0], 1, "20261122")]
        assert found[0].files == FILES
        assert t.list_deliveries("police.identity") == []
        paths = t.fetch(found[0], tmp_path / "got")
        assert [p.name for p in paths] == list(FILES)
        for p in paths:
            assert p.read_bytes() == (inbound / p.name).read_bytes()
        assert not list((tmp_path / "got").glob("*.part"))
        t.ack(found[0])
        t.ack(found[0])                                  # repeating an ack is harmless
        assert sorted(p.name for p in (inbound / "processed").iterdir()) == sorted(FILES)
        assert t.list_deliveries("police.death") == []   # processed/ is a folder, not a delivery
        receipt = tmp_path / "r.json"
        receipt.write_text("{}")
        t.put(receipt, f"{BASE}.receipt.json")
        assert [p.name for p in (sshd_server.zones["police"] / "outbound").iterdir()] == [f"{BASE}.receipt.json"]


def test_known_hosts_file_pins_the_key(sshd_server, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd_server.port} {sshd_server.host_key_line}\n")
    clean_zone(sshd_server, "health")
    drop(sshd_server, ["health.death_certificate_20261122_000007.csv"], partner="health")
    with transport_for(sshd_server, "health", host_key=None, known_hosts=str(kh), companions=()) as t:
        assert [d.sequence for d in t.list_deliveries("health.death_certificate")] == [7]
    assert kh.read_text() == f"[127.0.0.1]:{sshd_server.port} {sshd_server.host_key_line}\n"   # never written


def test_upload_in_progress_and_unsigned_delivery_are_ignored(sshd_server):
    clean_zone(sshd_server)
    drop(sshd_server, [n + ".part" for n in FILES])                                      # partner still uploading
    drop(sshd_server, ["police.death_20261123_000002.csv.p7m.filepart", ".police.death_20261123_000002.csv.p7m"])
    drop(sshd_server, ["police.death_20261124_000003.csv.p7m", "police.death_20261124_000003.manifest.json"])
    with transport_for(sshd_server) as t:
        assert t.list_deliveries("police.death") == []
        drop(sshd_server, ["police.death_20261124_000003.manifest.json.sig.tmp"])         # signature on its way
        assert t.list_deliveries("police.death") == []
        os.rename(sshd_server.zones["police"] / "inbound" / "police.death_20261124_000003.manifest.json.sig.tmp",
                  sshd_server.zones["police"] / "inbound" / "police.death_20261124_000003.manifest.json.sig")
        assert [d.sequence for d in t.list_deliveries("police.death")] == [3]


def test_companions_named_after_the_data_file_are_recognised(sshd_server):
    clean_zone(sshd_server)
    data = "police.death_20261125_000004.csv.p7m"
    drop(sshd_server, [data, data + ".manifest.json", data + ".manifest.json.sig"])
    with transport_for(sshd_server) as t:
        (d,) = t.list_deliveries("police.death")
    assert d.companions == (data + ".manifest.json", data + ".manifest.json.sig")


def test_connection_dropped_mid_download_then_clean_retry(sshd_server, tmp_path, caplog):
    clean_zone(sshd_server)
    drop(sshd_server, FILES, size=40_000_000)           # big enough to be caught mid-transfer
    t = transport_for(sshd_server, timeout=10.0)
    d = t.list_deliveries("police.death")[0]
    killed = []
    got = tmp_path / "got"

    def kill_session():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not list(got.glob("*.part")):
            time.sleep(0.01)                           # wait until the download has begun
        time.sleep(0.05)
        for pid in sshd_server.session_pids():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    killer = threading.Thread(target=kill_session)
    killer.start()
    with caplog.at_level(logging.WARNING, logger="jinbao.connectors.sftp"):
        paths = t.fetch(d, got)                        # retried on a new connection
    killer.join()
    assert killed and "retry 1" in caplog.text
    for p in paths:
        assert p.read_bytes() == (sshd_server.zones["police"] / "inbound" / p.name).read_bytes()
    assert sorted(p.name for p in got.iterdir()) == sorted(FILES)   # no .part left over
    t.close()


def test_stalled_server_times_out_instead_of_hanging(sshd_server):
    clean_zone(sshd_server)
    drop(sshd_server, FILES)
    t = transport_for(sshd_server, timeout=2.0, retries=2)
    t.list_deliveries("police.death")                  # connected
    pids = [sshd_server.proc.pid, *sshd_server.session_pids()]   # the whole server stalls
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(ConnectionError, match="after 2 attempts"):
            t.list_deliveries("police.death")
        assert time.monotonic() - start < 10           # channel timeout, backoff, then banner timeout
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        t.close()
    with transport_for(sshd_server) as t:              # and the server works again afterwards
        assert len(t.list_deliveries("police.death")) == 1


def test_unknown_host_key_refused(sshd_server, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd_server.port + 1} {sshd_server.host_key_line}\n")   # another host only
    start = time.monotonic()
    with pytest.raises(HostKeyRefused) as exc:
        transport_for(sshd_server, host_key=None, known_hosts=str(kh)).list_deliveries("police.death")
    assert time.monotonic() - start < 3                # not retried
    msg = str(exc.value)
    assert f"[127.0.0.1]:{sshd_server.port}" in msg and _fingerprint(sshd_server.host_key_line) in msg
    assert "unknown" in msg


@pytest.mark.parametrize("keytype", ["ed25519", "rsa"])
def test_changed_host_key_refused(sshd_server, tmp_path, keytype):
    subprocess.run(["ssh-keygen", "-q", "-t", keytype, "-N", "", "-f", str(tmp_path / "k")], check=True)
    wrong = " ".join((tmp_path / "k.pub").read_text().split()[:2])
    with pytest.raises(HostKeyRefused) as exc:
        transport_for(sshd_server, host_key=wrong).list_deliveries("police.death")
    msg = str(exc.value)
    assert "changed" in msg and f"[127.0.0.1]:{sshd_server.port}" in msg
    assert _fingerprint(sshd_server.host_key_line) in msg and _fingerprint(wrong) in msg


def test_wrong_client_key_is_refused_without_retries(sshd_server):
    start = time.monotonic()
    with pytest.raises(paramiko.AuthenticationException, match="refused"):
        transport_for(sshd_server, key_file=str(sshd_server.keys["health"]), retries=3).list_deliveries("x.y")
    assert time.monotonic() - start < 3


def test_password_login_refused(sshd_server):
    sock = paramiko.Transport(("127.0.0.1", sshd_server.port))
    try:
        sock.start_client(timeout=5)
        with pytest.raises(paramiko.AuthenticationException):
            sock.auth_password(sshd_server.user("police"), "anything")
        with pytest.raises(paramiko.BadAuthenticationType) as exc:
            sock.auth_password(sshd_server.user("police"), "anything")
        assert exc.value.allowed_types == ["publickey"]
    finally:
        sock.close()


def test_no_way_out_of_the_chroot(sshd_server):
    with transport_for(sshd_server) as t:
        sftp = t._connect()
        assert sorted(sftp.listdir("/")) == ["inbound", "outbound"]
        assert sorted(sftp.listdir("/../..")) == ["inbound", "outbound"]
        assert sftp.normalize("../../..") == "/"
        with pytest.raises(IOError):
            sftp.open("/etc/passwd")
        with pytest.raises(IOError):
            sftp.mkdir("/escape")                       # the chroot itself is root's
        sftp.symlink("/etc/passwd", "/inbound/link")    # a link resolves inside the chroot too
        with pytest.raises(IOError):
            sftp.open("/inbound/link")
        sftp.remove("/inbound/link")
        with pytest.raises(IOError):
            sftp.listdir("/../" + sshd_server.user("health"))   # nor into another partner's zone


def test_transport_from_airflow_connection_env_var(sshd_server, monkeypatch):
    from jinbao.connectors.airflow_conn import sftp_transport_for
    clean_zone(sshd_server, "health")
    drop(sshd_server, ["health.death_certificate_20261122_000001.csv"], partner="health")   # a bare zone: plain
    conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd_server.port, "login": sshd_server.user("health"),
            "extra": {"key_file": str(sshd_server.keys["health"]), "host_key": sshd_server.host_key_line,
                      "timeout": 5}}
    monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_HEALTH", json.dumps(conn))
    root_handlers = list(logging.getLogger().handlers)
    with sftp_transport_for("health") as t:
        assert [d.sequence for d in t.list_deliveries("health.death_certificate")] == [1]
    assert logging.getLogger().handlers == root_handlers   # the CLI keeps its logging
    monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_HEALTH", json.dumps({**conn, "extra": {
        "key_file": conn["extra"]["key_file"], "no_host_key_check": True}}))
    with pytest.raises(ValueError, match="no_host_key_check"):
        sftp_transport_for("health")


def test_server_stalled_mid_download_times_out_and_leaves_no_part(sshd_server, tmp_path):
    clean_zone(sshd_server)
    drop(sshd_server, FILES, size=40_000_000)
    got = tmp_path / "got"
    (got).mkdir()
    (got / (FILES[0] + ".part")).write_bytes(b"left by a crashed run")
    t = transport_for(sshd_server, timeout=2.0, retries=1)
    d = t.list_deliveries("police.death")[0]
    stopped = []

    def stall():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            part = got / (FILES[0] + ".part")
            if part.exists() and part.stat().st_size > 1_000_000:   # the stale one was replaced
                break
            time.sleep(0.01)
        for pid in [sshd_server.proc.pid, *sshd_server.session_pids()]:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
    staller = threading.Thread(target=stall)
    staller.start()
    try:
        start = time.monotonic()
        with pytest.raises(ConnectionError, match="fetch .* after 1 attempts"):
            t.fetch(d, got)
        assert time.monotonic() - start < 15
    finally:
        staller.join()
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        t.close()
    assert stopped and list(got.iterdir()) == []       # nothing half-downloaded is left to be taken


@pytest.mark.parametrize("raw", [
    '{"conn_type": "sftp", "host": "h.example", "port": 2222, "login": "jb",'
    ' "extra": {"key_file": "/k", "host_key": "ssh-ed25519 AAAA"}}',
    "sftp://jb@h.example:2222/?key_file=%2Fk&host_key=ssh-ed25519+AAAA",
])
def test_env_var_parsed_without_airflow(monkeypatch, raw):
    from jinbao.connectors import airflow_conn
    monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_POLICE", raw)
    c = airflow_conn._from_env("jinbao_sftp_police")
    assert (c.host, c.port, c.login, c.extra) == ("h.example", 2222, "jb", {"key_file": "/k",
                                                                             "host_key": "ssh-ed25519 AAAA"})
    t = airflow_conn.sftp_transport_for("police")
    assert (t.host, t.port, t.username, t.key_file, t.host_key) == ("h.example", 2222, "jb", "/k", "ssh-ed25519 AAAA")
