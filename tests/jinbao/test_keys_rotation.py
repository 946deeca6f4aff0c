"""The hub's key rotated with an overlap (jinbao/keys_rotation.py): during the overlap a partner may seal to
either certificate, after it the previous one is refused with a receipt-ready reason naming it; what the
hub signs switches at once; nothing is overwritten; an interrupted rotation is finished by running it again.
Real RSA keys and certificates, real CMS envelopes; the clock is handed to the code, never patched."""
from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from jinbao import keys
from jinbao.cli import main
from jinbao.connectors.local import LocalTransport
from jinbao.exchange_zone import envelope
from jinbao.exchange_zone.enveloped import Enveloped
from jinbao.keys_rotation import RotationRefused, rotate_hub
from jinbao.staged.refused import DeliveryRefused
from jinbao.store.database import connect
from tests.deliveries import death_row, write_delivery
from tests.jinbao.certificates import T0, pair, write_pem

DAY = dt.timedelta(days=1)


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "hub home"
    keys.init_keys(h, ("police", "health"))
    return h


def _sealed_to(home, tmp_path, hub_cert, seq: int) -> list:
    """A police delivery encrypted to `hub_cert`, signed by police, as police would upload it."""
    plain = write_delivery(tmp_path / f"police-side-{seq}", "police.death", [death_row(i) for i in range(3)], seq=seq)
    return envelope.seal_delivery(plain, "police.death", seq, 3, "GB18030", hub_cert, keys.partner_key(home, "police"),
                                  tmp_path / f"police-side-{seq}" / "sealed")


def _open(home, tmp_path, files, now):
    """The hub opens a delivery as Enveloped.open does: its keyring, the recipient info picks the key."""
    current, *earlier = keys.hub_keyring(home)
    return envelope.open_delivery(files, keys.partner_cert(home, "police"), current.key(), current.cert,
                                  work_dir=tmp_path / "work", earlier=earlier, now=now)


def _all_key_bytes(home) -> set[bytes]:
    return {p.read_bytes() for p in keys.key_dir(home).rglob("*") if p.is_file() and p.suffix in (".key", ".crt")}


def test_rotation_round_trip_old_during_overlap_new_always_old_after_refused(home, tmp_path):
    before = _all_key_bytes(home)
    old = keys.hub_cert(home)
    done = rotate_hub(home, overlap_days=7, now=T0)
    new = keys.hub_cert(home)
    assert done.previous == old and done.current == new and new != old
    assert done.overlap_ends == T0 + 7 * DAY
    # nothing overwritten: every key and certificate there was is still there, the old pair as hub.previous.*
    assert before <= _all_key_bytes(home)
    assert keys.load_cert(home, keys.PREVIOUS) == old
    assert (keys.key_dir(home) / "hub.previous.key").stat().st_mode & 0o077 == 0
    record = json.loads((keys.key_dir(home) / "hub.previous.json").read_text())
    assert record["serial"] == keys.serial_hex(old) and record["successor_fingerprint"] == keys.fingerprint(new)

    to_old, to_new = _sealed_to(home, tmp_path, old, 1), _sealed_to(home, tmp_path, new, 2)
    body = lambda files: files[0].parent.parent.joinpath(files[0].name.removesuffix(".p7m")).read_bytes()  # noqa: E731
    for files in (to_old, to_new):                          # during the overlap: either certificate
        out, manifest = _open(home, tmp_path, files, T0 + 6 * DAY)
        assert out.read_bytes() == body(files) and manifest.records == 3

    out, _ = _open(home, tmp_path, to_new, T0 + 8 * DAY)    # after it: the new one only
    assert out.read_bytes() == body(to_new)
    with pytest.raises(DeliveryRefused) as refused:
        _open(home, tmp_path, to_old, T0 + 8 * DAY)
    exc = refused.value
    assert exc.reason_code == "HUB_CERTIFICATE_RETIRED" and exc.file == to_old[0].name
    assert keys.serial_hex(old) in exc.detail and keys.fingerprint(old) in exc.detail
    assert keys.fingerprint(new) in exc.detail and f"{(T0 + 7 * DAY):%Y-%m-%d}" in exc.detail
    assert str(home) not in exc.detail and "keys/" not in exc.detail and "jinbao " not in exc.detail


def test_the_key_is_chosen_by_the_envelopes_recipient_not_by_trying_each(home, tmp_path):
    """The previous pair's key file is never read for an envelope to the current certificate: with it gone
    the new envelope still opens, and one to the previous certificate is the hub's error (retried, no
    receipt: the partner did nothing wrong), naming the key and what to do."""
    old = keys.hub_cert(home)
    rotate_hub(home, overlap_days=7, now=T0)
    current, previous = keys.hub_keyring(home)
    gone = keys.HubPair(previous.role, previous.cert, tmp_path / "no such key", previous.decrypts_until)
    files = _sealed_to(home, tmp_path, current.cert, 1)
    out, _ = envelope.open_delivery(files, keys.partner_cert(home, "police"), current.key(), current.cert,
                                    work_dir=tmp_path / "w", earlier=[gone], now=T0 + DAY)
    assert out.is_file()
    with pytest.raises(envelope.HubKeyUnreadable) as unreadable:
        envelope.open_delivery(_sealed_to(home, tmp_path, old, 2), keys.partner_cert(home, "police"), current.key(),
                               current.cert, work_dir=tmp_path / "w", earlier=[gone], now=T0 + DAY)
    said = str(unreadable.value)
    assert keys.serial_hex(old) in said and "no such key" in said and "run the feed again" in said


def test_what_the_hub_signs_switches_to_the_new_key_at_rotation(home, tmp_path):
    old = keys.hub_cert(home)
    rotate_hub(home, overlap_days=7, now=T0)
    zone = tmp_path / "zone"
    transport = Enveloped(LocalTransport(zone), home, "police",
                          clock=lambda: T0 + DAY)
    receipt = tmp_path / "receipts" / "police.death_20261122_000001.receipt.json"
    receipt.parent.mkdir()
    receipt.write_text('{"status": "published"}')
    sent = transport.send(receipt, "police.death", 1)
    manifest = (zone / "outbound" / next(n for n in sent if n.endswith(".manifest.json"))).read_bytes()
    signature = (zone / "outbound" / next(n for n in sent if n.endswith(".sig"))).read_bytes()
    assert envelope.verify(manifest, signature, keys.hub_cert(home))
    assert not envelope.verify(manifest, signature, old)


def test_one_overlap_at_a_time_then_the_previous_pair_is_retired_and_still_recognised(home, tmp_path):
    first = keys.hub_cert(home)
    rotate_hub(home, overlap_days=7, now=T0)
    with pytest.raises(RotationRefused, match="one overlap at a time"):
        rotate_hub(home, overlap_days=7, now=T0 + 6 * DAY)
    second = keys.hub_cert(home)
    done = rotate_hub(home, overlap_days=7, now=T0 + 8 * DAY)
    assert done.retired == first and done.previous == second and keys.hub_cert(home) == done.current
    retired = keys.key_dir(home) / keys.RETIRED
    assert sorted(p.name for p in retired.iterdir()) == sorted(
        f"hub.{keys.serial_hex(first)}.{s}" for s in ("crt", "json", "key"))
    roles = [p.role for p in keys.hub_keyring(home)]
    assert roles == ["current", "previous", "retired"]
    # a partner still sealing to the first certificate is told which one, though it left keys/ long ago
    with pytest.raises(DeliveryRefused) as refused:
        _open(home, tmp_path, _sealed_to(home, tmp_path, first, 1), T0 + 9 * DAY)
    assert refused.value.reason_code == "HUB_CERTIFICATE_RETIRED" and keys.serial_hex(first) in refused.value.detail
    assert _open(home, tmp_path, _sealed_to(home, tmp_path, second, 2), T0 + 9 * DAY)[0].is_file()


def test_an_interrupted_rotation_is_refused_at_use_and_finished_by_running_it_again(home, tmp_path):
    old = keys.hub_cert(home)
    key, cert = pair("jinbao-hub-2", T0 - DAY, T0 + 400 * DAY)
    kf, cf = write_pem(tmp_path / "ca", "hub2", key, cert)
    # the crash: the new pair written as hub.next.*, nothing renamed yet
    keys._write_new(keys.key_dir(home) / "hub.next.key", kf.read_bytes(), 0o600)
    keys._write_new(keys.key_dir(home) / "hub.next.crt", cf.read_bytes(), 0o644)
    with pytest.raises(keys.RotationInterrupted, match="jinbao keys rotate"):
        keys.hub_keyring(home)
    done = rotate_hub(home, overlap_days=3, now=T0)
    assert (done.previous, done.current) == (old, cert) and keys.hub_cert(home) == cert
    assert keys.hub_key(home).public_key().public_numbers() == cert.public_key().public_numbers()
    assert not list(keys.key_dir(home).glob("hub.next.*"))


def test_a_ca_issued_pair_is_installed_and_a_wrong_pair_refused(home, tmp_path):
    key, cert = pair("jinbao-hub-ca", T0 - DAY, T0 + 400 * DAY)
    other_key, _ = pair("someone", T0 - DAY, T0 + 400 * DAY)
    kf, cf = write_pem(tmp_path / "ca", "hub", key, cert)
    wrong, _ = write_pem(tmp_path / "wrong", "x", other_key, cert)
    with pytest.raises(RotationRefused, match="is not the certificate of"):
        rotate_hub(home, 7, now=T0, key_file=wrong, cert_file=cf)
    expired_key, expired = pair("old", T0 - 10 * DAY, T0 - DAY)
    ekf, ecf = write_pem(tmp_path / "expired", "hub", expired_key, expired)
    with pytest.raises(RotationRefused, match="expired on"):
        rotate_hub(home, 7, now=T0, key_file=ekf, cert_file=ecf)
    assert not list(keys.key_dir(home).glob("hub.previous.*"))          # refused: nothing changed
    rotate_hub(home, 7, now=T0, key_file=kf, cert_file=cf)
    assert keys.hub_cert(home) == cert


def test_keys_commands_rotate_and_list(home, monkeypatch, capsys):
    monkeypatch.setenv("JINBAO_HOME", str(home))
    old = keys.hub_cert(home)
    assert main(["keys", "rotate", "--overlap-days", "5"]) == 0
    out = capsys.readouterr().out
    assert keys.fingerprint(keys.hub_cert(home)) in out and keys.fingerprint(old) in out
    assert "decrypting until" in out and "HUB_CERTIFICATE_RETIRED" in out
    assert main(["keys", "rotate"]) == 1 and "one overlap at a time" in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert "hub (current: decrypts, signs)" in out and "hub (previous: decrypts until" in out
    assert "partner police (verifies, sealed to)" in out and keys.serial_hex(old) in out
    assert "partner finance: no certificate installed" in out and "days left" in out


def test_through_the_engine_an_interrupted_rotation_refuses_nothing_and_the_overlap_takes_the_old_seal(
        sqlite_home, tmp_path, monkeypatch):
    """`jinbao run` over the sealed local zone: while a rotation is half done the delivery waits in inbound/
    (an error of the hub, exit 1, nothing refused to police); once finished, the delivery sealed to the
    previous certificate is published during the overlap, and its receipt is signed with the new key."""
    cfg = sqlite_home
    keys.init_keys(cfg.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    old = keys.hub_cert(cfg.home)
    files = _sealed_to(cfg.home, tmp_path, old, 1)
    cfg.inbound("police").mkdir(parents=True)
    for f in files:
        f.rename(cfg.inbound("police") / f.name)
    key, cert = pair("jinbao-hub-next", T0 - DAY, T0 + 400 * DAY)
    kf, cf = write_pem(tmp_path / "ca", "next", key, cert)
    keys._write_new(keys.key_dir(cfg.home) / "hub.next.key", kf.read_bytes(), 0o600)   # the crash
    keys._write_new(keys.key_dir(cfg.home) / "hub.next.crt", cf.read_bytes(), 0o644)
    assert main(["run", "police.death"]) == 1
    assert sorted(p.name for p in cfg.inbound("police").iterdir() if p.is_file()) == sorted(f.name for f in files)
    rotate_hub(cfg.home, overlap_days=7)
    assert main(["run", "police.death"]) == 0
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select status, published from batch")).one() == ("published", 3)
    base = files[0].name.removesuffix(".csv.p7m")
    manifest = (cfg.outbound("police") / f"{base}.receipt.json.manifest.json").read_bytes()
    signature = (cfg.outbound("police") / f"{base}.receipt.json.manifest.json.sig").read_bytes()
    assert envelope.verify(manifest, signature, cert) and not envelope.verify(manifest, signature, old)


def test_through_the_engine_a_seal_to_the_retired_certificate_is_refused_with_receipt_and_operator_line(
        sqlite_home, tmp_path, monkeypatch, caplog):
    """A rotation whose overlap ended (rotated ten days before the hub's clock, three days' overlap):
    police's delivery still sealed to the old certificate is refused, police's receipt names that
    certificate and the current one, and the operator's line says what to do."""
    cfg = sqlite_home
    keys.init_keys(cfg.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    old = keys.hub_cert(cfg.home)
    rotate_hub(cfg.home, overlap_days=3, now=T0 - 10 * DAY)
    files = _sealed_to(cfg.home, tmp_path, old, 1)
    cfg.inbound("police").mkdir(parents=True)
    for f in files:
        f.rename(cfg.inbound("police") / f.name)
    caplog.set_level(logging.INFO)
    assert main(["run", "police.death"]) == 2
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select status, reason_code from batch")).one() == (
            "refused", "HUB_CERTIFICATE_RETIRED")
    base = files[0].name.removesuffix(".csv.p7m")
    sealed = (cfg.outbound("police") / f"{base}.receipt.json.p7m").read_bytes()
    receipt = json.loads(envelope.decrypt(sealed, keys.partner_cert(cfg.home, "police"),
                                          keys.partner_key(cfg.home, "police")))
    message = receipt["message"]
    assert receipt["reason_code"] == "HUB_CERTIFICATE_RETIRED" and "本中心证书已停用" in message
    assert keys.fingerprint(old) in message and keys.fingerprint(keys.hub_cert(cfg.home)) in message
    assert f"retired on {T0 - 7 * DAY:%Y-%m-%d}" in message
    assert str(cfg.home) not in message and "keys/" not in message and "jinbao " not in message
    line = next(m for m in (r.getMessage() for r in caplog.records) if "HUB_CERTIFICATE_RETIRED" in m and "next:" in m)
    assert "give police the current keys/hub.crt again" in line and "send again" in line


def test_through_the_engine_a_missing_previous_key_is_the_hubs_error_and_the_delivery_waits(
        sqlite_home, tmp_path, monkeypatch):
    """A delivery sealed to the previous certificate during the overlap, with that key's file gone: exit 1, no
    receipt to police (the mistake is the hub's), the delivery still in inbound/; the key back: published."""
    cfg = sqlite_home
    keys.init_keys(cfg.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    old = keys.hub_cert(cfg.home)
    rotate_hub(cfg.home, overlap_days=7)
    files = _sealed_to(cfg.home, tmp_path, old, 1)
    cfg.inbound("police").mkdir(parents=True)
    for f in files:
        f.rename(cfg.inbound("police") / f.name)
    previous = keys.key_dir(cfg.home) / "hub.previous.key"
    aside = tmp_path / "previous.key"
    previous.rename(aside)
    assert main(["run", "police.death"]) == 1
    assert sorted(p.name for p in cfg.inbound("police").iterdir() if p.is_file()) == sorted(f.name for f in files)
    assert not list(cfg.outbound("police").glob("*receipt*"))          # nothing told to police
    aside.rename(previous)
    assert main(["run", "police.death"]) == 0
    with connect(cfg.store_url).connect() as conn:
        assert conn.execute(sa.text("select status, published from batch")).one() == ("published", 3)
