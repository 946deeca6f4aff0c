"""Fixtures of the fault tests: a private JINBAO_HOME on a fresh PostgreSQL database, and the CLI
as a subprocess (so it can be killed, raced or stalled like a real run)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, private_home, server_database

FEED = "police.death"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database (fails under CI=true when the server is missing)."""
    with server_database("PostgreSQL") as url:
        yield url


@pytest.fixture
def pg_home(tmp_path, monkeypatch, pg_url):
    """JINBAO_HOME under tmp_path, the store on PostgreSQL, local transport."""
    return private_home(tmp_path, monkeypatch, pg_url)


def jinbao(*args: str, fault: str | None = None, timeout: float = 120, env: dict | None = None,
           wait: bool = True):
    """`jinbao ARGS` in a child process with this test's environment; with `fault`, through
    tests/faults/inject.py, which arms that fault first.  Returns the CompletedProcess
    (or the Popen when wait=False)."""
    cmd = [sys.executable, "-m", "tests.faults.inject", fault or "none", "--", *args]
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": REPO, "PYTHONUNBUFFERED": "1"}
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout)


def people(n: int, start: int = 0, **overrides) -> list[dict]:
    """n valid police.death rows with distinct citizen IDs (deliveries.death_row repeats IDs past ~500)."""
    import datetime as dt

    import pyarrow as pa

    from jinbao.formats.citizen_id import with_check_char
    from tests.deliveries import COUNTIES, GIVEN, SURNAMES

    rows, first17 = [], []
    for i in range(start, start + n):
        birth = dt.date(1945, 1, 1) + dt.timedelta(days=i // 500)
        male = i % 2 == 0
        first17.append(COUNTIES[i % len(COUNTIES)] + birth.strftime("%Y%m%d") + f"{(i % 500) * 2 + male:03d}")
        rows.append({"XM": SURNAMES[i % 10] + GIVEN[(i // 10) % 10], "XB": "1" if male else "2",
                     "SWRQ": f"202611{1 + i % 20:02d}", "ZXRQ": "20261121", "ZXYY": "1",
                     "HJDZ_XZQH": COUNTIES[i % len(COUNTIES)]})
    for row, gmsfhm in zip(rows, with_check_char(pa.array(first17)).to_pylist()):
        row["GMSFHM"] = gmsfhm
        row.update(overrides)
    return rows


def drop_plain(cfg, rows: list[dict], seq: int = 1, date: str = "20261122") -> Path:
    """A plain GB18030 delivery of police.death in the local drop zone."""
    from tests.deliveries import write_delivery
    return write_delivery(cfg.inbound("police"), FEED, rows, date=date, seq=seq)


def rows_of(cfg, sql: str, **params) -> list[dict]:
    from jinbao.store.database import connect
    with connect(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a fault test that takes several seconds (large deliveries, timeouts)")


def seal(cfg, plain: Path, dest: Path, owner: str | None = None, created_at: str | None = None,
         records: int | None = None) -> list[Path]:
    """Do what the police do with a plaintext delivery: encrypt to the hub, write the manifest (its
    created_at as given), sign it, and put the three files into `dest` (owned by `owner`, the
    partner's sshd account, when given).  Keys from `jinbao keys init` in cfg.home."""
    import hashlib
    import shutil

    from jinbao.connectors.base import parse_delivery_name
    from jinbao.exchange_zone import envelope
    from jinbao.exchange_zone import manifest as manifests
    from jinbao.keys import load_cert, load_key

    data = plain.read_bytes()
    named = parse_delivery_name(plain.name)
    base = plain.name.removesuffix(".csv")
    n = data_lines(data) if records is None else records
    raw = manifests.build(named.feed, plain.name + ".p7m", hashlib.sha256(data).hexdigest(), n, "GB18030",
                          named.sequence, created_at=created_at).to_bytes()
    files = {plain.name + ".p7m": envelope.encrypt(data, load_cert(cfg.home, "hub")),
             base + envelope.MANIFEST: raw, base + envelope.SIGNATURE: envelope.sign(raw, load_key(cfg.home, "police"))}
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, content in files.items():
        tmp = dest / (name + ".part")                       # uploaded under a temporary name, then renamed
        tmp.write_bytes(content)
        if owner:
            shutil.chown(tmp, owner, owner)
        tmp.rename(dest / name)
        out.append(dest / name)
    return out


from tests.faults.invariants import data_lines  # noqa: E402 - after the helpers that tests import from here
