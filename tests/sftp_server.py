"""pytest fixture: the real sshd of jinbao.sshd_zone, failing under CI=true when it cannot run."""
from __future__ import annotations

import shutil

import pytest

from jinbao import sshd_zone
from tests.conftest import unavailable


@pytest.fixture(scope="module")
def sshd_server():
    try:
        root = sshd_zone.server_root()
        server = sshd_zone.start(root, ("police", "health"))
    except (sshd_zone.Unavailable, PermissionError) as exc:
        unavailable("OpenSSH sshd", exc)
    yield server
    sshd_zone.stop(server)
    shutil.rmtree(root, ignore_errors=True)
