"""A careless or hostile partner's drop zone, on SQLite and PostgreSQL, local folder and real SFTP.

`zone` is parametrised twice: the store (`store_url`: sqlite, postgresql) and the transport
("local": the plain folder zone the declarations name; "sftp": the real OpenSSH sshd of
tests/sftp_fixtures.py with signed, encrypted deliveries, JINBAO_TRANSPORT=sftp+cms).  Under
CI=true a missing PostgreSQL or sshd fails the test instead of skipping it (tests/conftest.py
`unavailable`).  Every test runs the engine in this process (the worktree's code), so that
its log, standard error and standard output are all scanned for unmasked citizen IDs.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.deliveries import death_row, write_delivery
from tests.sftp_fixtures import sshd_server  # noqa: F401 - fixture

FEED = "police.death"
#: An 18-character citizen ID that no mask has touched (tests/conftest.py scans logs for the same).
UNMASKED_ID = re.compile(r"(?<![0-9A-Za-z*])[1-9][0-9]{16}[0-9X](?![0-9A-Za-z])")


@pytest.fixture(scope="session")
def key_template(tmp_path_factory) -> Path:
    """The hub's and the partners' keys, made once (RSA key generation is the slow part) and copied."""
    from jinbao.keys import init_keys
    home = tmp_path_factory.mktemp("keys") / "home"
    init_keys(home)
    return home / "keys"


class Zone:
    """One partner drop zone as the partner sees it, whichever transport the hub reaches it by."""

    def __init__(self, cfg, kind: str, inbound: Path, owner: str | None, sealed: bool):
        self.cfg, self.kind, self.inbound, self.owner, self.sealed = cfg, kind, Path(inbound), owner, sealed
        self.outbound = self.inbound.parent / "outbound"
        self.sources: dict[str, bytes] = {}            # plaintext of sealed deliveries by data file name

    # --------------------------------------------------------------- the partner's side
    def _own(self, path: Path) -> None:
        if self.owner:
            import pwd
            who = pwd.getpwnam(self.owner)
            os.lchown(path, who.pw_uid, who.pw_gid)

    def deliver(self, rows: list[dict], seq: int = 1, date: str = "20261122", feed: str = FEED,
                columns: list[str] | None = None) -> str:
        """A complete, correct delivery (sealed with manifest and signature where the zone is sealed);
        returns its data file's name."""
        side = self.cfg.home / "partner-side" / f"{seq}-{date}"
        kw = {"columns": columns} if columns else {}
        plain = write_delivery(side, feed, rows, date=date, seq=seq, **kw)
        if not self.sealed:
            shutil.copy(plain, self.inbound / plain.name)
            self._own(self.inbound / plain.name)
            return plain.name
        from tests.faults.conftest import seal
        files = seal(self.cfg, plain, self.inbound, owner=self.owner)
        self.sources[files[0].name] = plain.read_bytes()
        return files[0].name

    def drop(self, name: str | bytes, content: bytes = b"GMSFHM,XM\n") -> Path:
        """A file under exactly this name (bytes: a name that need not be UTF-8)."""
        path = os.path.join(os.fsencode(self.inbound), name) if isinstance(name, bytes) else self.inbound / name
        with open(path, "wb") as fh:
            fh.write(content)
        self._own(Path(os.fsdecode(path)))
        return Path(os.fsdecode(path))

    # -------------------------------------------------------------- what comes back
    def receipts(self) -> dict[str, dict]:
        """Every receipt summary in outbound/, by its name there (opened when sealed)."""
        from jinbao.exchange_zone import envelope
        from jinbao.keys import load_cert, load_key

        out = {}
        for p in sorted(self.outbound.iterdir()) if self.outbound.is_dir() else []:
            if p.name.endswith(".receipt.json"):
                out[p.name] = json.loads(p.read_text(encoding="utf-8"))
            elif p.name.endswith(".receipt.json.p7m"):
                raw = envelope.decrypt(p.read_bytes(), load_cert(self.cfg.home, "police"),
                                       load_key(self.cfg.home, "police"))
                out[p.name.removesuffix(".p7m")] = json.loads(raw)
        return out

    def receipt_bytes(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.outbound.iterdir())} if self.outbound.is_dir() else {}

    def left(self) -> list[str]:
        """What is left in inbound/ besides the hub's folders."""
        return sorted(n for n in os.listdir(self.inbound) if n not in ("processed", "rejected"))

    def aside(self) -> list[str]:
        folder = self.inbound / "rejected"
        return sorted(os.listdir(folder)) if folder.is_dir() else []


def _clean(folder: Path) -> None:
    for p in folder.iterdir():
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


@pytest.fixture(params=["local", "sftp"])
def transport(request):
    return request.param


@pytest.fixture
def make_zone(request, transport, tmp_path, monkeypatch, store_url, key_template):
    """make_zone(sealed=None) -> Zone: police's drop zone on this test's store and transport.  The local zone
    is plain unless `sealed` (then JINBAO_TRANSPORT=local+cms); the SFTP zone is always sealed."""
    from tests.conftest import private_home

    cfg = private_home(tmp_path, monkeypatch, store_url)
    shutil.copytree(key_template, cfg.home / "keys")

    def make(sealed: bool | None = None) -> Zone:
        from jinbao.settings import load_settings
        if transport == "local":
            if sealed:
                monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
            inbound = cfg.inbound("police")
            inbound.mkdir(parents=True, exist_ok=True)
            return Zone(load_settings(), "local", inbound, None, bool(sealed))
        server = request.getfixturevalue("sshd_server")
        conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": server.port, "login": server.user("police"),
                "extra": {"key_file": str(server.keys["police"]), "host_key": server.host_key_line, "timeout": 5}}
        monkeypatch.setenv("AIRFLOW_CONN_JINBAO_SFTP_POLICE", json.dumps(conn))
        monkeypatch.setenv("JINBAO_TRANSPORT", "sftp+cms")
        for sub in ("inbound", "outbound"):
            _clean(server.zones["police"] / sub)
        return Zone(load_settings(), "sftp", server.zones["police"] / "inbound", server.user("police"), True)
    return make


@pytest.fixture
def zone(make_zone) -> Zone:
    return make_zone()


# ------------------------------------------------------------------------------------- asserting
def rows(cfg, sql: str, **params) -> list[dict]:
    import sqlalchemy as sa

    from jinbao.store.database import connect
    with connect(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]


def no_unmasked_id(*texts: str) -> None:
    for text in texts:
        found = UNMASKED_ID.search(text or "")
        assert found is None, f"an unmasked citizen ID in: ...{text[max(0, found.start() - 60):found.end() + 20]}..."


def run(feed: str = FEED, capsys=None) -> tuple[int, str]:
    """`jinbao run FEED` in this process; (exit code, standard output), the output checked for IDs."""
    from jinbao.cli import main
    code = main(["run", feed])
    out = capsys.readouterr().out if capsys is not None else ""
    no_unmasked_id(out)
    return code, out


def people(n: int, start: int = 0) -> list[dict]:
    return [death_row(i) for i in range(start, start + n)]
