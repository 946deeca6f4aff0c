"""`jinbao keys init`: private keys 0600, nothing ever overwritten, usable certificates."""
from __future__ import annotations

import os
import stat

from cryptography.hazmat.primitives.asymmetric import rsa

from jinbao import keys


def _mode(p):
    return stat.S_IMODE(p.stat().st_mode)


def test_creates_hub_and_partner_pairs_with_private_keys_0600(tmp_path):
    old = os.umask(0)                              # even a careless umask gives 0600
    try:
        done = keys.init_keys(tmp_path, ("police", "health"))
    finally:
        os.umask(old)
    assert done == {"hub": "created", "police": "created", "health": "created"}
    assert _mode(keys.key_dir(tmp_path)) == 0o700
    for who in done:
        assert _mode(keys.key_path(tmp_path, who)) == 0o600
        assert not _mode(keys.cert_path(tmp_path, who)) & 0o022
    k = keys.hub_key(tmp_path)
    assert isinstance(k, rsa.RSAPrivateKey) and k.key_size == 2048
    assert keys.hub_cert(tmp_path).public_key().public_numbers() == k.public_key().public_numbers()
    assert (keys.partner_cert(tmp_path, "police").public_key().public_numbers()
            == keys.partner_key(tmp_path, "police").public_key().public_numbers())
    assert set(keys.partner_certs(tmp_path)) == {"police", "health"}
    assert not list(keys.key_dir(tmp_path).glob(".*tmp"))


def test_idempotent_never_overwrites(tmp_path):
    keys.init_keys(tmp_path, ("police",))
    files = {p.name: p.read_bytes() for p in keys.key_dir(tmp_path).iterdir()}
    assert keys.init_keys(tmp_path, ("police",)) == {"hub": "kept", "police": "kept"}
    assert {p.name: p.read_bytes() for p in keys.key_dir(tmp_path).iterdir()} == files


def test_installed_partner_certificate_is_not_replaced(tmp_path):
    """A real deployment installs <partner>.crt without its key: keys init must leave it alone."""
    keys.init_keys(tmp_path / "other", ("health",))
    keys.key_dir(tmp_path).mkdir()
    installed = keys.cert_path(tmp_path / "other", "health").read_bytes()
    keys.cert_path(tmp_path, "health").write_bytes(installed)
    done = keys.init_keys(tmp_path, ("health",))
    assert done["health"].startswith("kept certificate")
    assert keys.cert_path(tmp_path, "health").read_bytes() == installed
    assert not keys.key_path(tmp_path, "health").exists()


def test_missing_certificate_is_remade_from_the_kept_key_and_loose_key_mode_tightened(tmp_path):
    keys.init_keys(tmp_path, ())
    key_bytes = keys.key_path(tmp_path, "hub").read_bytes()
    keys.cert_path(tmp_path, "hub").unlink()
    os.chmod(keys.key_path(tmp_path, "hub"), 0o644)
    assert keys.init_keys(tmp_path, ())["hub"] == "kept key, certificate created"
    assert keys.key_path(tmp_path, "hub").read_bytes() == key_bytes
    assert _mode(keys.key_path(tmp_path, "hub")) == 0o600
    assert keys.hub_cert(tmp_path).public_key().public_numbers() == keys.hub_key(tmp_path).public_key().public_numbers()
