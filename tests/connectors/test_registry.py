"""connectors/registry.py (and exchange_zone/enveloped.py transport_for): a feed's transport is its declaration's, unless the deployment overrides it."""
from __future__ import annotations

import pytest

from jinbao.connectors.local import LocalTransport
from jinbao.connectors.registry import ENVELOPES, TRANSPORTS, choice
from jinbao.connectors.sftp import SftpTransport
from jinbao.declarations import DeclaredTransport
from jinbao.exchange_zone.envelope import COMPANIONS
from jinbao.exchange_zone.enveloped import Enveloped, transport_for
from jinbao.settings import TRANSPORT_OVERRIDES, Settings, load_settings

ENDPOINT = {"conn_type": "sftp", "host": "sftp.police.example", "port": 2222, "login": "jb_police",
            "extra": {"key_file": "/etc/jinbao/ssh/police_ed25519", "host_key": "ssh-ed25519 AAAAC3Nza"}}


@pytest.mark.parametrize("declared, expected", [
    ({}, ("local", "none")),
    ({"kind": "local"}, ("local", "none")),
    ({"kind": "local", "envelope": "cms"}, ("local", "cms")),
    ({"kind": "sftp", "envelope": "cms"}, ("sftp", "cms")),
    ({"envelope": "none"}, ("local", "none")),
])
def test_choice_follows_the_declaration(tmp_path, declared, expected):
    assert choice(DeclaredTransport(**declared), Settings(home=tmp_path)) == expected


@pytest.mark.parametrize("override, expected", [("local", ("local", "none")), ("local+cms", ("local", "cms")),
                                                ("sftp+cms", ("sftp", "cms"))])
@pytest.mark.parametrize("declared", [{}, {"kind": "sftp", "envelope": "cms"}, {"kind": "local", "envelope": "none"}])
def test_the_override_wins_over_any_declaration(tmp_path, declared, override, expected):
    assert choice(DeclaredTransport(**declared), Settings(home=tmp_path, transport=override)) == expected


def test_the_override_comes_from_jinbao_transport(tmp_path):
    cfg = load_settings({"JINBAO_HOME": str(tmp_path), "JINBAO_TRANSPORT": "local+cms"})
    assert choice(DeclaredTransport(kind="sftp"), cfg) == ("local", "cms")
    unset = load_settings({"JINBAO_HOME": str(tmp_path), "JINBAO_TRANSPORT": ""})
    assert choice(DeclaredTransport(kind="sftp"), unset) == ("sftp", "none")


def test_every_override_names_registered_kinds():
    for override in TRANSPORT_OVERRIDES:
        kind, _, env = override.partition("+")
        assert kind in TRANSPORTS and (env or "none") in ENVELOPES


def test_local_kind_is_the_partners_folder_zone(tmp_path):
    cfg = Settings(home=tmp_path)
    t = transport_for("police", DeclaredTransport(kind="local"), cfg)
    assert type(t) is LocalTransport and t.zone == cfg.drop_zones / "police"
    assert t.inbound == cfg.inbound("police") and t.outbound == cfg.outbound("police")
    assert t.companions == ()


def test_envelope_cms_wraps_the_chosen_transport(tmp_path):
    cfg = Settings(home=tmp_path)
    t = transport_for("health", DeclaredTransport(kind="local", envelope="cms"), cfg)
    assert isinstance(t, Enveloped) and type(t.inner) is LocalTransport
    assert t.inner.zone == cfg.drop_zones / "health" and t.partner == "health" and t.home == cfg.home
    assert t.companions == COMPANIONS                     # a delivery counts only with manifest and signature
    plain = transport_for("health", DeclaredTransport(kind="local", envelope="cms"), cfg.replace(transport="local"))
    assert type(plain) is LocalTransport


def test_sftp_kind_uses_the_given_endpoint_without_connecting(tmp_path):
    cfg = Settings(home=tmp_path, sftp_endpoints={"police": ENDPOINT})
    t = transport_for("police", DeclaredTransport(kind="sftp"), cfg)
    assert type(t) is SftpTransport
    assert (t.host, t.port, t.username, t.host_key) == ("sftp.police.example", 2222, "jb_police",
                                                        "ssh-ed25519 AAAAC3Nza")
    assert t._client is None                              # nothing connects before the first list
    wrapped = transport_for("police", DeclaredTransport(kind="local"), cfg.replace(transport="sftp+cms"))
    assert isinstance(wrapped, Enveloped) and type(wrapped.inner) is SftpTransport


def test_unknown_kind_raises_naming_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown transport kind 'ftp'; known: frontend_db, local, sftp"):
        transport_for("police", DeclaredTransport(kind="ftp"), Settings(home=tmp_path))
