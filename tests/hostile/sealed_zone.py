"""A partner's drop zone for the hostile tests of signed, encrypted deliveries, on either transport.

`zone_for("local" | "local+cms" | "sftp+cms", cfg, request, monkeypatch, partner)` points the hub at the
partner's zone: the local folder under JINBAO_HOME (plain files for "local"), or the real sshd's chroot
(tests/sftp_fixtures.py; under CI=true a missing sshd fails the test).  `Zone.deliver` does what the
partner does: write the CSV in an encoding, encrypt it to the hub, write a manifest that declares an
encoding (not necessarily the same), sign it and upload the three files under their names.
`Zone.put` uploads a plaintext delivery written elsewhere (sealed first where the zone is sealed), for
tests that build their files by hand; `LOCAL_AND_SFTP` parametrises such a test over the plain local
folder and the sealed SFTP zone.  A sealed zone gets the hub's and partners' keys (hostile/conftest.py
`key_template`) unless the home has keys already.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.deliveries import write_delivery

TRANSPORTS = ("local+cms", "sftp+cms")
#: The plain local folder (as the declarations name it) and the sealed zone on the real sshd.
LOCAL_AND_SFTP = ("local", "sftp+cms")


@dataclass
class Zone:
    cfg: object
    partner: str
    root: Path                  # the zone as a local folder (the chroot for SFTP)
    owner: str | None           # the sshd account that owns what the partner uploads
    sealed: bool = True         # deliveries are encrypted, with a signed manifest
    sources: dict = field(default_factory=dict)     # plaintext by data file name (tests.faults assert_accounted)

    @property
    def inbound(self) -> Path:
        return self.root / "inbound"

    @property
    def outbound(self) -> Path:
        return self.root / "outbound"

    def deliver(self, feed: str, rows: list[dict], columns: list[str], encoding: str, declared: str,
                seq: int = 1, date: str = "20261122", signer: str | None = None) -> tuple[str, bytes]:
        """Upload a sealed delivery; returns (data file name, plaintext)."""
        from jinbao.exchange_zone import envelope
        from jinbao.keys import load_cert, load_key

        side = self.cfg.home / f"{self.partner}-side" / str(seq)
        plain = write_delivery(side, feed, rows, date=date, seq=seq, encoding=encoding, columns=columns)
        files = envelope.seal_delivery(plain, feed, seq, len(rows), declared, load_cert(self.cfg.home, "hub"),
                                       load_key(self.cfg.home, signer or self.partner), side / "sealed")
        self._upload(files)
        return files[0].name, plain.read_bytes()

    def put(self, plain: Path, encoding: str = "GB18030") -> str:
        """Upload the plaintext delivery `plain` (a `<feed>_<date>_<seq>.csv` written elsewhere) as the
        partner would: as it is to a plain zone, sealed (its manifest declaring `encoding`) to a sealed one.
        Returns the data file's name in inbound/; its plaintext is kept in `sources`."""
        if not self.sealed:
            self._upload([plain])
            return plain.name
        from jinbao.connectors.base import parse_delivery_name
        from jinbao.exchange_zone import envelope
        from jinbao.keys import load_cert, load_key
        from tests.faults.invariants import data_lines

        named = parse_delivery_name(plain.name)
        raw = plain.read_bytes()
        files = envelope.seal_delivery(plain, named.feed, named.sequence, data_lines(raw), encoding,
                                       load_cert(self.cfg.home, "hub"), load_key(self.cfg.home, self.partner),
                                       plain.parent / "sealed")
        self._upload(files)
        self.sources[files[0].name] = raw
        return files[0].name

    def _upload(self, files) -> None:
        self.inbound.mkdir(parents=True, exist_ok=True)
        for f in files:
            tmp = self.inbound / (f.name + ".part")            # uploaded under a temporary name, then renamed
            shutil.copyfile(f, tmp)
            if self.owner:
                shutil.chown(tmp, self.owner, self.owner)
            tmp.rename(self.inbound / f.name)


def zone_for(transport: str, cfg, request, monkeypatch, partner: str = "police") -> Zone:
    """The partner's zone on `transport`, empty, with JINBAO_TRANSPORT set to it ("local": unset, so the
    hub reaches the zone as the declarations say)."""
    if transport == "local":
        monkeypatch.delenv("JINBAO_TRANSPORT", raising=False)
        return Zone(cfg, partner, cfg.drop_zones / partner, None, sealed=False)
    if not (cfg.home / "keys" / "hub.crt").is_file():
        shutil.copytree(request.getfixturevalue("key_template"), cfg.home / "keys", dirs_exist_ok=True)
    monkeypatch.setenv("JINBAO_TRANSPORT", transport)
    if transport == "local+cms":
        return Zone(cfg, partner, cfg.drop_zones / partner, None)
    server = request.getfixturevalue("sshd_server")
    conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": server.port, "login": server.user(partner),
            "extra": {"key_file": str(server.keys[partner]), "host_key": server.host_key_line, "timeout": 5}}
    monkeypatch.setenv(f"AIRFLOW_CONN_JINBAO_SFTP_{partner.upper()}", json.dumps(conn))
    root = server.zones[partner]
    for sub in ("inbound", "outbound"):
        for p in (root / sub).iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    return Zone(cfg, partner, root, server.user(partner))


def batches(cfg) -> list[dict]:
    import sqlalchemy as sa

    from jinbao.store.database import connect
    with connect(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("select * from batch order by id")).mappings()]
