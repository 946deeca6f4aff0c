"""police.death end to end over SFTP with signed, encrypted deliveries, against the real sshd."""
from __future__ import annotations

import json
import shutil

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.exchange_zone import envelope
from jinbao.keys import init_keys, load_cert, load_key
from jinbao.store.database import connect as engine
from tests.deliveries import death_row, write_delivery
from tests.sftp_fixtures import sshd_server  # noqa: F401 - fixture


@pytest.fixture
def sftp_home(sqlite_home, sshd_server, monkeypatch):
    init_keys(sqlite_home.home)
    conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": sshd_server.port, "login": sshd_server.user("police"),
            "extra": {"key_file": str(sshd_server.keys["police"]), "host_key": sshd_server.host_key_line,
                      "timeout": 5}}
    monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_POLICE", json.dumps(conn))
    monkeypatch.setenv("JINBAO_TRANSPORT", "sftp+cms")
    zone = sshd_server.zones["police"]
    for sub in ("inbound", "outbound"):
        for p in (zone / sub).iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    return sqlite_home, zone, sshd_server


def _send(cfg, zone, server, rows, seq=1, date="20261122", signer="police", records=None, tamper=False):
    """Do what the police do: write, encrypt to the hub, sign the manifest, upload."""
    plain = write_delivery(cfg.home / "police-side", "police.death", rows, date=date, seq=seq)
    files = envelope.seal_delivery(plain, "police.death", seq, len(rows) if records is None else records,
                                   "GB18030", load_cert(cfg.home, "hub"), load_key(cfg.home, signer),
                                   cfg.home / "police-side" / "sealed")
    if tamper:
        data = bytearray(files[0].read_bytes())
        data[-40] ^= 0x55
        files[0].write_bytes(bytes(data))
    for f in files:
        shutil.copy(f, zone / "inbound" / f.name)
        shutil.chown(zone / "inbound" / f.name, server.user("police"))
    return files[0].name


def _status(cfg):
    with engine(cfg.store_url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("select sequence, status, reason_code from batch order by id"))]


def _receipt(cfg, zone, name):
    sealed = zone / "outbound" / name.replace(".csv.p7m", ".receipt.json.p7m")
    return json.loads(envelope.decrypt(sealed.read_bytes(), load_cert(cfg.home, "police"),
                                       load_key(cfg.home, "police")))


def test_happy_path_then_every_refusal(sftp_home):
    cfg, zone, server = sftp_home
    name = _send(cfg, zone, server, [death_row(i) for i in range(8)] + [death_row(50, XB="5")])
    assert main(["run", "police.death"]) == 0
    assert _status(cfg) == [(1, "published", None)]
    receipt = _receipt(cfg, zone, name)
    assert (receipt["status"], receipt["received"], receipt["rejected"]) == ("published", 9, 1)
    assert (zone / "outbound" / name.replace(".csv.p7m", ".receipt.json.manifest.json.sig")).exists()
    assert sorted(p.name for p in (zone / "inbound" / "processed" / "1").iterdir()) == sorted(
        [name, name.replace(".csv.p7m", ".manifest.json"), name.replace(".csv.p7m", ".manifest.json.sig")])

    cases = [
        (dict(rows=[death_row(i) for i in range(100, 103)], seq=2, tamper=True), ("DECRYPT_FAILED", "HASH_MISMATCH")),
        (dict(rows=[death_row(i) for i in range(110, 113)], seq=3, signer="health"), ("UNKNOWN_SIGNER",)),
        (dict(rows=[death_row(i) for i in range(8)] + [death_row(50, XB="5")], seq=4), ("DUPLICATE_FILE",)),
        (dict(rows=[death_row(i) for i in range(120, 123)], seq=1, date="20261123"), ("SEQUENCE_REPLAYED",)),
        (dict(rows=[death_row(i) for i in range(130, 133)], seq=5, records=7), ("COUNT_MISMATCH",)),
    ]
    for kwargs, reasons in cases:
        sent = _send(cfg, zone, server, **kwargs)
        assert main(["run", "police.death"]) == 2
        seq, status, reason = _status(cfg)[-1]
        assert status == "refused" and reason in reasons, (kwargs, _status(cfg))
        assert _receipt(cfg, zone, sent)["reason_code"] == reason
        assert list((cfg.quarantine / "police.death").glob(f"*{sent}"))        # kept for a person
    with engine(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from death_record")).scalar() == 8   # nothing more published


def test_upload_in_progress_is_left_alone(sftp_home):
    cfg, zone, server = sftp_home
    name = _send(cfg, zone, server, [death_row(i) for i in range(3)])
    (zone / "inbound" / name).rename(zone / "inbound" / (name + ".part"))
    assert main(["run", "police.death"]) == 0
    assert _status(cfg) == [] and (zone / "inbound" / (name + ".part")).exists()
