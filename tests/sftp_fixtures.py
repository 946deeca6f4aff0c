"""pytest fixtures: a real OpenSSH sshd with one key-only, chrooted account per partner.

    from tests.sftp_fixtures import sshd_server  # noqa: F401 - fixture

The server itself is dev/sshd_zone.py (the demo starts the same one):
`/usr/sbin/sshd -D -e -f <cfg>` on a free 127.0.0.1 port with its own ed25519
host key, accounts `jb_<partner>` (created with useradd if missing), each
chrooted (ChrootDirectory, root-owned zone, `inbound/` and `outbound/` owned by
the account), ForceCommand internal-sftp, no password or keyboard-interactive
login, UsePAM no, AuthorizedKeysFile in the server's root-owned 0755 folder
under /run (StrictModes refuses anything under the world-writable /tmp).
Needs root; sshd is installed with apt-get when missing.  When it cannot run,
conftest.unavailable() skips, or fails under CI=true.

The fixture yields sshd_zone.SshdServer: .port, .host_key_line ("<type> <base64>"),
.keys[partner] (client private key), .zones[partner] (the chroot, as a local
path), .user(partner), .session_pids() (per-connection sshd processes), .proc.
"""
from __future__ import annotations

import shutil

import pytest

from dev import sshd_zone
from jinbao.connectors.sftp import SftpTransport
from jinbao.exchange_zone.envelope import COMPANIONS
from jinbao.partners import partner_ids
from tests.conftest import unavailable


@pytest.fixture(scope="module")
def sshd_server():
    root = None
    try:
        root = sshd_zone.server_root()
        server = sshd_zone.start(root, partner_ids(), install=True)
    except (sshd_zone.Unavailable, PermissionError, OSError) as exc:
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        unavailable("OpenSSH sshd", exc)
    try:
        yield server
    finally:
        sshd_zone.stop(server)
        shutil.rmtree(root, ignore_errors=True)


def transport_for(server, partner: str = "police", companions=COMPANIONS, **kw) -> SftpTransport:
    """An SftpTransport to `partner`'s zone with the server's host key pinned.

    By default a delivery counts only with its manifest and signature, as the
    enveloped feeds see it (exchange_zone/enveloped.py); `companions=()` for bare files.
    """
    settings = {"host": "127.0.0.1", "port": server.port, "username": server.user(partner),
                "key_file": str(server.keys[partner]), "host_key": server.host_key_line, "timeout": 3.0,
                "retries": 3, **kw}
    t = SftpTransport(**settings)
    t.companions = companions
    return t


def clean_zone(server, partner: str = "police") -> None:
    for sub in ("inbound", "outbound"):
        for p in (server.zones[partner] / sub).iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def drop(server, names, partner: str = "police", size: int = 1000, content: bytes | None = None) -> None:
    """Put files into the partner's inbound/ as the partner would (owned by its account)."""
    import os
    inbound = server.zones[partner] / "inbound"
    for name in names:
        (inbound / name).write_bytes(content if content is not None else os.urandom(size))
        shutil.chown(inbound / name, server.user(partner), server.user(partner))
