"""police.insured_status over SFTP to the real sshd, read as the police would: `openssl cms -decrypt` with
their key and `openssl dgst -verify` of the manifest with the hub's public key."""
from __future__ import annotations

import json
import shutil
import subprocess


from jinbao.cli import main
from jinbao.keys import cert_path, init_keys, key_path
from tests.conftest import unavailable
from tests.jinbao.outbound.store_cases import contributions_for_november
from tests.jinbao.outbound.test_send import POLICE_HEADER, _police_rows
from tests.sftp_fixtures import sshd_server  # noqa: F401 - fixture

NAME = "police.insured_status_20261130_000001"


def _openssl(*args) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None:
        unavailable("the openssl command")
    return subprocess.run(["openssl", *args], capture_output=True)


def test_sent_over_sftp_and_opened_with_openssl(sqlite_home, sshd_server, monkeypatch, tmp_path):
    cfg = sqlite_home
    init_keys(cfg.home)
    contributions_for_november(cfg)               # inbound over the local folders
    zone = sshd_server.zones["police"]
    for p in (zone / "outbound").iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd_server.port, "login": sshd_server.user("police"),
            "extra": {"key_file": str(sshd_server.keys["police"]), "host_key": sshd_server.host_key_line,
                      "timeout": 5}}
    monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_POLICE", json.dumps(conn))
    monkeypatch.setenv("JINBAO_TRANSPORT", "sftp+cms")
    assert main(["send", "police.insured_status", "--as-of", "2026-11-30"]) == 0

    names = sorted(p.name for p in (zone / "outbound").iterdir())
    assert names == [f"{NAME}.csv.p7m", f"{NAME}.manifest.json", f"{NAME}.manifest.json.sig"]  # no temporary names
    assert not list(cfg.outbound("police").glob("police.insured_status_*")) if cfg.outbound("police").exists() else True
    dec = _openssl("cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(zone / "outbound" / f"{NAME}.csv.p7m"),
                   "-inkey", str(key_path(cfg.home, "police")), "-recip", str(cert_path(cfg.home, "police")))
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout.decode("gb18030").splitlines() == [POLICE_HEADER, *_police_rows()]
    pub = tmp_path / "hub.pub"
    assert _openssl("x509", "-in", str(cert_path(cfg.home, "hub")), "-pubkey", "-noout", "-out", str(pub)).returncode == 0
    manifest = zone / "outbound" / f"{NAME}.manifest.json"
    ok = _openssl("dgst", "-sha256", "-verify", str(pub), "-signature", f"{manifest}.sig", str(manifest))
    assert ok.returncode == 0 and b"Verified OK" in ok.stdout
    m = json.loads(manifest.read_bytes())
    assert (m["records"], m["sequence"], m["encoding"]) == (7, 1, "GB18030")
    # a manifest that was changed after signing no longer verifies
    manifest.write_bytes(manifest.read_bytes().replace(b'"records": 7', b'"records": 8'))
    assert _openssl("dgst", "-sha256", "-verify", str(pub), "-signature", f"{manifest}.sig", str(manifest)).returncode != 0
