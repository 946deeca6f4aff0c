"""Certificates' validity (jinbao/keys_expiry.py): a declared warning window, checked daily (`jinbao keys check`,
the keys.certificate_expiry DAG: red naming the party, the certificate, the date and what to do) and at use
(an expired partner's delivery is refused with a receipt saying when its certificate expired; nothing is
sent to it).  Real certificates built relative to the moment the code is told is now (tests/jinbao/certificates.py)."""
from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from jinbao import keys
from jinbao.cli import main
from jinbao.declarations import get_feed
from jinbao.exchange_zone import envelope
from jinbao.keys_expiry import CertificateExpired, PolicyError, check, findings, load_policy
from jinbao.keys_rotation import RotationRefused, install_partner_cert, rotate_hub
from jinbao.outbound.send import send
from jinbao.store.database import connect, upgrade
from tests.deliveries import death_row, write_delivery
from tests.jinbao.certificates import T0, pair, write_pem

DAY = dt.timedelta(days=1)


def _install(home, tmp_path, partner: str, not_before, not_after, installed_on=None):
    """A certificate of `partner` valid from `not_before` to `not_after`, installed as if on `installed_on`
    (default: while valid); returns its key (the partner's side keeps it) and the certificate."""
    key, cert = pair(f"jinbao-{partner}-{not_after:%Y%m%d}", not_before, not_after)
    _, cf = write_pem(tmp_path / f"{partner}-side", f"{partner}-{not_after:%Y%m%d}", key, cert)
    install_partner_cert(home, partner, cf, now=installed_on or not_before + dt.timedelta(hours=1))
    return key, cert


def test_the_declared_policy_is_data_and_checked(tmp_path):
    shipped = load_policy()                                              # schemas/certificates.yaml
    assert (shipped.warn_days, shipped.overlap_days) == (30, 30)
    with pytest.raises(PolicyError, match="no certificate policy"):
        load_policy(tmp_path / "nowhere")
    (tmp_path / "certificates.yaml").write_text("warn_days: 14\noverlap_days: 3\n")
    assert (load_policy(tmp_path).warn_days, load_policy(tmp_path).overlap_days) == (14, 3)
    (tmp_path / "certificates.yaml").write_text("warn_days: soon\noverlap_days: 3\n")
    with pytest.raises(PolicyError, match="warn_days must be a whole number"):
        load_policy(tmp_path)
    (tmp_path / "certificates.yaml").write_text("warn_days: 1\noverlap_days: 3\nwarn_dayz: 2\n")
    with pytest.raises(PolicyError, match="warn_dayz"):
        load_policy(tmp_path)


def test_a_partner_certificate_within_the_window_is_named_with_what_to_do(tmp_path, caplog):
    home = tmp_path / "home"
    keys.init_keys(home, ("police", "health"))
    assert findings(home, now=T0, warn_days=30) == []                   # green: all valid for years
    _, cert = _install(home, tmp_path, "police", T0 - 300 * DAY, T0 + 10 * DAY)
    caplog.set_level(logging.WARNING, logger="jinbao.keys")
    (found,) = check(home, now=T0, warn_days=30)
    assert (found.who, found.expired, found.days_left) == ("police", False, 10)
    line = next(r for r in caplog.records if r.name == "jinbao.keys")
    assert line.levelno == logging.WARNING and line.getMessage() == f"certificate expiry: {found.text()}"
    for part in (f"partner police's certificate", cert.subject.rfc4514_string(), keys.serial_hex(cert),
                 f"expires on {T0 + 10 * DAY:%Y-%m-%d}", "`jinbao keys install police FILE`"):
        assert part in found.text(), part
    assert findings(home, now=T0, warn_days=5) == []                    # outside a shorter window
    (late,) = findings(home, now=T0 + 11 * DAY, warn_days=0)            # and past it: expired, whatever the window
    assert late.expired and f"expired on {T0 + 10 * DAY:%Y-%m-%d}" in late.text()
    assert "its deliveries are refused" in late.text()


def test_the_hubs_own_certificate_is_warned_about_the_same_way(tmp_path):
    home = tmp_path / "home"
    keys.init_keys(home, ())
    key, cert = pair("jinbao-hub-short", T0 - DAY, T0 + 20 * DAY)
    kf, cf = write_pem(tmp_path / "ca", "hub", key, cert)
    rotate_hub(home, 0, now=T0, key_file=kf, cert_file=cf)
    (found,) = findings(home, now=T0, warn_days=30)
    assert found.who == "hub" and keys.serial_hex(cert) in found.text() and "jinbao keys rotate" in found.text()


def test_keys_install_keeps_the_replaced_certificate_and_refuses_an_expired_one(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    keys.init_keys(home, ("police",))
    monkeypatch.setenv("JINBAO_HOME", str(home))
    old = keys.partner_cert(home, "police")
    key, cert = pair("jinbao-police-2027", T0 - DAY, T0 + 365 * DAY)
    _, cf = write_pem(tmp_path / "police-side", "renewed", key, cert)
    assert main(["keys", "install", "police", str(cf)]) == 0
    assert keys.partner_cert(home, "police") == cert
    kept = keys.key_dir(home) / keys.RETIRED / f"police.{keys.serial_hex(old)}.crt"
    assert kept.is_file() and "replaced (kept in" in capsys.readouterr().out
    assert main(["keys", "install", "police", str(cf)]) == 1 and "already installed" in capsys.readouterr().out
    _, stale = pair("jinbao-police-old", T0 - 30 * DAY, T0 - DAY)
    _, sf = write_pem(tmp_path / "police-side", "stale", key, stale)
    assert main(["keys", "install", "police", str(sf)]) == 1 and "expired on" in capsys.readouterr().out
    assert keys.partner_cert(home, "police") == cert
    with pytest.raises(RotationRefused, match="not a PEM certificate"):
        install_partner_cert(home, "police", tmp_path / "police-side" / "renewed.key")


def test_keys_check_exit_code_is_the_sentinels_verdict(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    keys.init_keys(home, ("police",))
    monkeypatch.setenv("JINBAO_HOME", str(home))
    assert main(["keys", "check"]) == 0 and "valid for more than 30 days" in capsys.readouterr().out
    _install(home, tmp_path, "police", T0 - 300 * DAY, T0 + 10 * DAY)
    assert main(["keys", "check"]) == 1 and "1 certificate(s)" in capsys.readouterr().out


def _deliver_signed(cfg, key, seq: int = 1) -> str:
    """police's delivery, encrypted to the hub and signed with `key`, into its local inbound/."""
    plain = write_delivery(cfg.home / "police-side" / str(seq), "police.death", [death_row(i) for i in range(3)],
                           seq=seq)
    files = envelope.seal_delivery(plain, "police.death", seq, 3, "GB18030", keys.hub_cert(cfg.home), key,
                                   cfg.inbound("police"))
    return files[0].name


def test_a_delivery_signed_under_an_expired_certificate_is_refused_with_a_receipt_saying_when(
        sqlite_home, tmp_path, monkeypatch, caplog):
    cfg = sqlite_home
    keys.init_keys(cfg.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    key, cert = _install(cfg.home, tmp_path, "police", T0 - 400 * DAY, T0 - 2 * DAY)
    name = _deliver_signed(cfg, key)
    caplog.set_level(logging.INFO)
    assert main(["run", "police.death"]) == 2
    with connect(cfg.store_url).connect() as conn:
        status, code = conn.execute(sa.text("select status, reason_code from batch")).one()
    assert (status, code) == ("refused", "CERTIFICATE_EXPIRED")
    # the partner's receipt, sealed to it all the same so that it learns why, says when and which certificate
    base = name.removesuffix(".csv.p7m")
    sealed = cfg.outbound("police") / f"{base}.receipt.json.p7m"
    receipt = json.loads(envelope.decrypt(sealed.read_bytes(), cert, key))
    assert (receipt["status"], receipt["reason_code"]) == ("refused", "CERTIFICATE_EXPIRED")
    message = receipt["message"]
    assert f"expired on {T0 - 2 * DAY:%Y-%m-%d}" in message and keys.serial_hex(cert) in message
    assert "renewed certificate" in message and "证书已过期" in message
    assert str(cfg.home) not in message and "keys/" not in message and "jinbao " not in message
    # nothing of it was read or published; the operator is told what to do
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from death_record")).scalar() == 0
    lines = [r.getMessage() for r in caplog.records]
    assert any("CERTIFICATE_EXPIRED" in m and "jinbao keys install police FILE" in m for m in lines), lines
    assert any("receipt" in m and "so that police learns why" in m for m in lines), lines


def test_nothing_is_sent_to_a_partner_whose_certificate_expired(sqlite_home, tmp_path):
    cfg = sqlite_home
    keys.init_keys(cfg.home)
    upgrade(cfg.store_url)
    _, cert = _install(cfg.home, tmp_path, "police", T0 - 400 * DAY, T0 - DAY)
    with pytest.raises(CertificateExpired) as refused:
        send(get_feed("police.insured_status", cfg), cfg, dt.date(2026, 11, 30))
    text = str(refused.value)
    assert f"expired on {T0 - DAY:%Y-%m-%d}" in text and keys.serial_hex(cert) in text
    assert "jinbao keys install police FILE" in text
    assert not cfg.outbound("police").is_dir() or list(cfg.outbound("police").iterdir()) == []
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from exchange_log where direction = 'out'")).scalar() == 0


def test_send_all_skips_only_the_partner_whose_certificate_expired(sqlite_home, tmp_path, capsys):
    cfg = sqlite_home
    keys.init_keys(cfg.home)
    upgrade(cfg.store_url)
    _install(cfg.home, tmp_path, "police", T0 - 400 * DAY, T0 - DAY)
    assert main(["send", "all", "--as-of", "2026-11-30"]) == 1
    err = capsys.readouterr().err
    assert "error: police.insured_status: not sent:" in err and "jinbao keys install police FILE" in err
    assert not cfg.outbound("police").is_dir() or list(cfg.outbound("police").iterdir()) == []
    assert any(p.name.endswith(".csv.p7m") for p in cfg.outbound("central_bank").iterdir())
