"""Issue 23, class 8: a partner whose certificate was removed, on a hub whose home has spaces in its path.

Removing `keys/<partner>.crt` is the documented way to stop accepting a partner (docs/transport.md).
Its next delivery cannot be verified, and no receipt can be sealed to it: the refusal still ends —
quarantined, acknowledged (out of inbound/), the receipt kept on the hub, and one operator log line
saying why no sealed receipt was sent and what to do — instead of a run that fails on every retry with
the files left in inbound/.  The hub's copies of receipts never show the hub's paths, even when
JINBAO_HOME has spaces in it.  Over the local folder and the real sshd, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
import logging

import pytest

from jinbao.cli import main
from jinbao.exchange_zone import envelope
from jinbao.keys import cert_path, init_keys, load_cert, load_key
from tests.deliveries import POLICE_DEATH, death_row
from tests.hostile.sealed_zone import TRANSPORTS, batches, zone_for

SPACED = "hub home with space"


@pytest.fixture
def spaced_home(tmp_path, monkeypatch, store_url):
    """JINBAO_HOME with spaces in its path (the SQLite store inside it; PostgreSQL as the fixture gives it)."""
    folder = tmp_path / SPACED
    folder.mkdir()
    monkeypatch.setenv("JINBAO_HOME", str(folder))
    if store_url.startswith("sqlite"):
        monkeypatch.delenv("JINBAO_STORE_URL", raising=False)
    else:
        monkeypatch.setenv("JINBAO_STORE_URL", store_url)
    monkeypatch.delenv("JINBAO_TRANSPORT", raising=False)
    from jinbao.settings import load_settings
    cfg = load_settings()
    init_keys(cfg.home)
    return cfg


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def _hub_text_in(text: str, cfg) -> list[str]:
    """Parts of the hub's own paths found in partner-facing text."""
    return [part for part in (str(cfg.home), SPACED, "with space", "staging/", "quarantine/", "keys/", "jinbao ")
            if part in text]


def test_a_removed_partner_gets_a_refusal_that_ends(spaced_home, transport, request, monkeypatch, caplog, capsys):
    cfg = spaced_home
    zone = zone_for(transport, cfg, request, monkeypatch, "police")
    name, _ = zone.deliver("police.death", [death_row(i) for i in range(5)], POLICE_DEATH, "GB18030", "GB18030")
    cert_path(cfg.home, "police").unlink()              # the operator stops accepting police

    caplog.set_level(logging.INFO)
    assert main(["run", "police.death"]) == 2           # a refusal, not an error
    (b,) = batches(cfg)
    assert (b["status"], b["reason_code"]) == ("refused", "NO_CERTIFICATE")
    assert b["receipt_at"] is not None and b["acked_at"] is not None

    # ended: out of inbound/, acknowledged into processed/, kept in quarantine
    base = name.removesuffix(".csv.p7m")
    assert sorted(p.name for p in zone.inbound.iterdir() if p.is_file()) == []
    assert sorted(p.name for p in (zone.inbound / "processed" / str(b["id"])).iterdir()) == sorted(
        [name, base + envelope.MANIFEST, base + envelope.SIGNATURE])
    kept = cfg.quarantine / "police.death" / f"{b['id']}-{name}"
    assert (kept / name).is_file()

    # nothing unsealed went to the partner; the hub keeps the receipt, in the partner's terms
    assert not zone.outbound.is_dir() or [p.name for p in zone.outbound.iterdir()] == []
    copy = cfg.receipts / "police.death" / str(b["id"]) / f"{base}.receipt.json"
    receipt = json.loads(copy.read_text(encoding="utf-8"))
    assert (receipt["status"], receipt["reason_code"]) == ("refused", "NO_CERTIFICATE")
    assert _hub_text_in(copy.read_text(encoding="utf-8"), cfg) == []

    # the operator is told why no sealed receipt went out, and what to do
    line = next(r.getMessage() for r in caplog.records if "no sealed receipt could be sent" in r.getMessage())
    assert "police" in line and name in line and str(kept) in line and str(cert_path(cfg.home, "police")) in line
    assert "resend" in line

    # and it stays ended: the next run has nothing to do
    capsys.readouterr()
    assert main(["run", "police.death"]) == 0
    assert "no delivery waiting" in capsys.readouterr().out and len(batches(cfg)) == 1


def test_hub_paths_with_spaces_never_reach_a_receipt(spaced_home, transport, request, monkeypatch):
    """A processing failure whose message holds hub paths (quoted, as OSError shows them, and bare): the
    receipt, the hub's copy and the partner's sealed one, names the file only."""
    cfg = spaced_home
    zone = zone_for(transport, cfg, request, monkeypatch, "police")
    name, _ = zone.deliver("police.death", [death_row(i) for i in range(5)], POLICE_DEATH, "GB18030", "GB18030")

    from jinbao.quality import judging

    def broken(path, *args, **kwargs):
        raise OSError(13, f"cannot lock {path.parent}/judge.lock for {path}", str(path))
    monkeypatch.setattr(judging, "judge_delivery", broken)
    assert main(["run", "police.death"]) == 2
    (b,) = batches(cfg)
    assert (b["status"], b["reason_code"]) == ("refused", "PROCESSING_FAILED")
    assert str(cfg.home) in b["message"]                   # the operator's ledger keeps the whole path

    base = name.removesuffix(".csv.p7m")
    copy = (cfg.receipts / "police.death" / str(b["id"]) / f"{base}.receipt.json").read_text(encoding="utf-8")
    sent = envelope.decrypt((zone.outbound / f"{base}.receipt.json.p7m").read_bytes(), load_cert(cfg.home, "police"),
                            load_key(cfg.home, "police")).decode("utf-8")
    for text in (copy, sent):
        message = json.loads(text)["message"]
        assert _hub_text_in(text, cfg) == [], message
        assert "judge.lock" in message and f"{base}.csv" in message       # the file's name is still there
