"""The exchange log's chain: sealed entries, concurrent appenders, and tampering done directly in the
database (edit, delete, insert, cut the tail) caught and named, on SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
import sqlalchemy as sa

from jinbao import exchange_log
from jinbao.cli import main
from jinbao.store.database import upgrade
from tests.conftest import server_database


def _entry(i: int) -> dict:
    return dict(direction=exchange_log.IN if i % 2 else exchange_log.OUT, partner="police",
                feed="police.death" if i % 2 else "police.insured_status", file_name=f"file_{i:03d}.csv",
                sha256=hashlib.sha256(str(i).encode()).hexdigest(), status="published",
                business_date=dt.date(2026, 11, 1 + i % 28), sequence=i, records=100 + i, accepted=90 + i,
                rejected=10, mapping_version="police.death@2024.1", batch_id=i,
                agreement=None if i % 2 else "police.insured_status", purpose=None if i % 2 else "户籍业务 参保核验")


@pytest.fixture
def key(tmp_path):
    return exchange_log.log_key(tmp_path / "home")


def _log(url: str, key: bytes, n: int = 5):
    db = upgrade(url)
    for i in range(1, n + 1):
        with db.begin() as conn:
            exchange_log.append(conn, key, **_entry(i))
    return db


def _verify(db, key) -> list[str]:
    with db.connect() as conn:
        return exchange_log.verify(conn, key).problems


def test_an_untouched_chain_verifies_and_reads_back_the_same_on_every_backend(store_url, mariadb_url, key):
    for url in (store_url, mariadb_url):
        db = _log(url, key)
        assert _verify(db, key) == []
        with db.connect() as conn:
            newest = exchange_log.entries(conn, limit=2)
        assert [e["seq"] for e in newest] == [5, 4] and newest[1]["purpose"] == "户籍业务 参保核验"
        assert newest[0]["prev_hash"] == newest[1]["entry_hash"]


def test_a_key_that_is_not_the_hubs_sees_every_entry_as_forged(store_url, key):
    db = _log(store_url, key, 3)
    problems = _verify(db, b"another key of the same length....")
    assert problems[0].startswith("entry #1 ") and "edited" in problems[0]


@pytest.mark.parametrize("tamper, first", [
    ("UPDATE exchange_log SET records = 999 WHERE seq = 3",
     "entry #3 (in police.death file_003.csv, 2026-11-24T08:00:03Z) was edited: its seal does not match its contents"),
    ("UPDATE exchange_log SET purpose = '走私' WHERE seq = 2", "entry #2 (out police.insured_status file_002.csv"),
    ("DELETE FROM exchange_log WHERE seq = 3", "entry #3 was deleted: #4 (out police.insured_status file_004.csv"),
    ("DELETE FROM exchange_log WHERE seq IN (2, 3)", "entries #2..#3 were deleted: #4 "),
    ("DELETE FROM exchange_log WHERE seq = 5", "entries #5 were deleted from the end: the head says the log ends at #5"),
    ("INSERT INTO exchange_log (seq, at, direction, partner, feed, file_name, sha256, status, prev_hash, entry_hash) "
     "SELECT 6, at, 'out', 'police', 'police.insured_status', 'extra.csv', sha256, 'sent', entry_hash, "
     "md5(entry_hash) || md5(entry_hash) FROM exchange_log WHERE seq = 5",
     "entry #6 (out police.insured_status extra.csv"),
    # inserted in the middle: later entries renumbered to make room (their seals break too)
    ("UPDATE exchange_log SET seq = seq + 1000 WHERE seq >= 3; UPDATE exchange_log SET seq = seq - 999 WHERE seq > 1000; "
     "INSERT INTO exchange_log (seq, at, direction, partner, feed, file_name, sha256, status, prev_hash, entry_hash) "
     "SELECT 3, at, 'out', 'police', 'police.insured_status', 'forged.csv', sha256, 'sent', entry_hash, entry_hash "
     "FROM exchange_log WHERE seq = 2",
     "entry #3 (out police.insured_status forged.csv"),
    ("UPDATE exchange_log_head SET seq = 4", "the log's head (#4) was edited"),
])
def test_tampering_in_postgresql_is_caught_and_the_first_entry_named(key, tamper, first, capsys, tmp_path,
                                                                    monkeypatch):
    with server_database("PostgreSQL") as url:
        db = upgrade(url)
        start = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
        for i in range(1, 6):
            with db.begin() as conn:
                exchange_log.append(conn, key, at=start + dt.timedelta(seconds=i), **_entry(i))
        assert _verify(db, key) == []
        with db.begin() as conn:
            for statement in tamper.split("; "):
                conn.exec_driver_sql(statement)
        problems = _verify(db, key)
        assert problems and problems[0].startswith(first), problems
        if "inserted" in problems[0] or "forged" in first or "extra" in first:
            assert "was inserted" in problems[0]
        # the operator's command says the same and fails
        home = tmp_path / "home"
        monkeypatch.setenv("JINBAO_HOME", str(home))
        monkeypatch.setenv("JINBAO_STORE_URL", url)
        assert main(["audit", "verify"]) == 1
        out = capsys.readouterr().out
        assert "exchange log TAMPERED" in out and first in out


def test_concurrent_appenders_never_fork_the_chain(key):
    with server_database("PostgreSQL") as url:
        db = upgrade(url)
        errors = []

        def writer(k):
            try:
                for i in range(15):
                    with db.begin() as conn:
                        exchange_log.append(conn, key, **_entry(100 * k + i))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=writer, args=(k,)) for k in (1, 2, 3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with db.connect() as conn:
            seqs = [r[0] for r in conn.execute(sa.text("select seq from exchange_log order by seq"))]
        assert seqs == list(range(1, 46)) and _verify(db, key) == []


def test_verify_without_the_key_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JINBAO_STORE_URL", raising=False)
    assert main(["audit", "verify"]) == 1
    assert "no exchange log key" in capsys.readouterr().err and not exchange_log.key_path(tmp_path / "home").exists()


def test_cli_on_an_intact_log(sqlite_home, capsys):
    db = _log(sqlite_home.store_url, exchange_log.log_key(sqlite_home.home), 3)
    assert db is not None
    assert main(["audit", "verify"]) == 0
    assert "exchange log intact: 3 entries" in capsys.readouterr().out
    assert main(["audit", "log", "--direction", "out"]) == 0
    out = capsys.readouterr().out
    assert "file_002.csv" in out and "file_001.csv" not in out and "户籍业务" in out
