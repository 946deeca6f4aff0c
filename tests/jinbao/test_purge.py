"""`jinbao purge`: what outlived its declared retention goes, what the hub still needs stays, every purge is
in the exchange log, and the store's rejections lose their personal values once the receipt went out.

The hub's clock (`jinbao.ledger.now`) is injected at a fixed moment and every file's mtime is set from that
same moment explicitly, so nothing here depends on the day the tests run.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from jinbao import exchange_log, ledger
from jinbao import purge as purge_module
from jinbao.cli import main
from jinbao.declarations import get_feed
from jinbao.engine import Engine
from jinbao.feed_lock import feed_lock
from jinbao.purge import purge
from jinbao.retention import FILE, RetentionError, declared, load
from jinbao.store.database import connect
from jinbao.store.rejection_values import REMOVED
from tests.conftest import private_home
from tests.deliveries import death_row, write_delivery

NOW = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
FEED = "police.death"


def _age(path: Path, days: float) -> None:
    """Every file under `path` (or the file) last changed `days` before NOW."""
    when = (NOW - dt.timedelta(days=days)).timestamp()
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        os.utime(f, (when, when))


def _write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _everything(cfg) -> set[str]:
    return {str(p.relative_to(cfg.home)) for p in cfg.home.rglob("*") if p.is_file()
            and p.name not in ("store.db", "store.db-journal")}


def _purge_entries(cfg) -> list[dict]:
    with connect(cfg.store_url).connect() as conn:
        return exchange_log.entries(conn, direction=exchange_log.PURGE)


@pytest.fixture
def hub(home, monkeypatch):
    """A published batch (1, with rejections), a held one (2), a refused one in quarantine (3), and a file of
    every other kind; the hub's clock at NOW."""
    rows = [death_row(i) for i in range(20)]
    rows[4]["XB"] = "5"                       # UNMAPPED_CODE: a code, kept at rest
    rows[7]["SWRQ"] = "20261131"               # DATE_INVALID: a date as sent, cleared after the receipt
    write_delivery(home.inbound("police"), FEED, rows, seq=1)
    assert main(["run", FEED]) == 0
    held = [death_row(100 + i) for i in range(10)]
    for i in (0, 1, 2):
        held[i]["XB"] = "5"
    for i in (3, 4):
        held[i]["SWRQ"] = "20261199"
    write_delivery(home.inbound("police"), FEED, held, seq=2)
    assert main(["run", FEED]) == 2
    write_delivery(home.inbound("police"), FEED, rows, seq=3)          # same content as 1: refused
    assert main(["run", FEED]) == 2
    with connect(home.store_url).connect() as conn:
        assert dict(conn.execute(sa.text("select id, status from batch")).all()) == \
            {1: "published", 2: "held", 3: "refused"}
    _write(home.sent / "police.insured_status" / "police.insured_status_20291001_000001.csv")
    _write(home.sent / "police.insured_status" / "sealed" / "police.insured_status_20291001_000001.csv.p7m")
    _write(home.sent / "police.insured_status" / "police.insured_status_20300110_000002.csv")
    deaths = home.reports / "deaths"
    for month in ("2028-10", "2028-11"):
        _write(deaths / month / "issued-stop-payment.parquet")
        _write(deaths / month / f"deaths-{month}.html")
        _write(home.exports / "deaths" / month / "alice" / f"deaths-{month}-full-ids.xlsx.p7m")
        _write(deaths / month / f"deaths-{month}-full-ids.xlsx")       # written there before exports/ existed
    _write(home.reports / "quality" / FEED / "1" / "index.html")
    _write(home.staging / FEED / "incoming-police.death_20261122_000009.csv" / "police.death_20261122_000009.csv")
    _write(home.home / "airflow-logs" / "dag_id=police.death" / "run_id=old" / "attempt=1.log")
    _write(home.home / "airflow-logs" / "dag_id=police.death" / "run_id=new" / "attempt=1.log")
    # everything old enough to go (the longest retention is 1095 days) ...
    for folder in ("staging", "quarantine", "receipts", "sent", "reports", "exports", "airflow-logs"):
        _age(home.home / folder, 2000)
    # ... but these, changed yesterday
    _age(home.sent / "police.insured_status" / "police.insured_status_20300110_000002.csv", 1)
    _age(home.reports / "deaths" / "2028-11" / "deaths-2028-11.html", 1)
    _age(home.home / "airflow-logs" / "dag_id=police.death" / "run_id=new", 1)
    monkeypatch.setattr(ledger, "now", lambda: NOW)
    return home


def test_a_dry_run_says_what_would_go_and_deletes_nothing(hub, capsys):
    before = _everything(hub)
    assert main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert _everything(hub) == before
    assert _purge_entries(hub) == []
    assert "dry run, nothing changed" in out
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if line.split() and line.split()[0] in declared(hub)}
    assert counts == {"staging": 2, "quarantine": 1, "receipts": 2, "sent": 2, "reports": 2, "issued": 1,
                      "exports": 4, "task_logs": 1}


def test_expired_files_go_fresh_and_needed_ones_stay(hub):
    done = purge(hub, who="test")
    assert not done.failed and not done.busy
    staged = hub.staging / FEED
    assert not (staged / "1").exists()                  # published, answered, expired
    assert not list(staged.glob("incoming-*"))           # a download a killed run left half-way
    assert (staged / "2" / "rejected.parquet").exists()  # held: waits for a person, whatever its age
    assert (staged / "2").is_dir() and any((staged / "2").iterdir())
    assert not (hub.quarantine / FEED).exists()         # refused and answered (emptied folders go too)
    assert not (hub.receipts / FEED / "1").exists() and not (hub.receipts / FEED / "3").exists()
    assert (hub.receipts / FEED / "2").is_dir()          # the held batch's receipt: the review links it
    sent = hub.sent / "police.insured_status"
    assert sorted(p.name for p in sent.rglob("*") if p.is_file()) == ["police.insured_status_20300110_000002.csv"]
    assert not (sent / "sealed").exists()               # emptied folders go too
    deaths = hub.reports / "deaths"
    assert not (deaths / "2028-10").exists()             # every file of the older month went
    assert sorted(p.name for p in (deaths / "2028-11").iterdir()) == \
        ["deaths-2028-11.html", "issued-stop-payment.parquet"]    # fresh page; the newest issued list
    assert not (hub.reports / "quality").exists()
    logs = hub.home / "airflow-logs" / "dag_id=police.death"
    assert sorted(p.name for p in logs.iterdir()) == ["run_id=new"]
    assert done.kinds["staging"].count == 2 and done.kinds["issued"].count == 1
    # a second purge finds nothing more, and logs nothing
    again = purge(hub, who="test")
    assert sum(k.count for k in again.kinds.values()) == 0 and again.masked == 0
    assert len(_purge_entries(hub)) == len([k for k in done.kinds.values() if k.count])


def test_every_purge_is_in_the_exchange_log_without_names_or_ids(hub):
    done = purge(hub, who="test operator")
    entries = {e["feed"]: e for e in _purge_entries(hub)}
    assert set(entries) == {k for k, r in done.kinds.items() if r.count}
    staging = entries["staging"]
    assert staging["direction"] == "purge" and staging["partner"] == "hub" and staging["status"] == "purged"
    assert staging["records"] == 2 and staging["who"] == "test operator" and staging["sha256"] == ""
    assert staging["business_date"] == dt.date(2030, 1, 15)
    bytes_ = done.kinds["staging"].bytes
    assert bytes_ > 0 and staging["purpose"] == (f"staging: 2 file(s)/folder(s), {bytes_} bytes, oldest "
                                                 f"{(NOW - dt.timedelta(days=2000)):%Y-%m-%d}; retention 30 days")
    assert entries["exports"]["purpose"].endswith("retention 30 days")
    for e in entries.values():               # kinds and counts; never a file's name, never an ID
        assert "police.death_2026" not in (e["file_name"] + e["purpose"]) and "1105" not in e["purpose"]
    with connect(hub.store_url).connect() as conn:
        assert exchange_log.verify(conn, exchange_log.log_key(hub.home)).ok


def test_a_running_feed_keeps_its_staging_until_the_next_purge(hub, capsys, monkeypatch):
    """The purge deletes a batch's staging under the feed's run lock: while a run holds it, the folder stays,
    the rest goes, and the command says so (exit 2); the next purge takes it."""
    monkeypatch.setattr(purge_module, "LOCK_WAIT", 0.2)
    with feed_lock(hub.staging, FEED):
        assert main(["purge"]) == 2
    assert "left for the next purge (a run held its lock): staging of police.death" in capsys.readouterr().out
    assert (hub.staging / FEED / "1").is_dir() and not (hub.receipts / FEED / "1").exists()
    assert main(["purge"]) == 0
    assert not (hub.staging / FEED / "1").exists()


def test_masking_on_mariadb(tmp_path, monkeypatch, mariadb_url):
    """MariaDB evaluates an UPDATE's assignments in order: the message must be rewritten from the value
    before the value is cleared, and a Chinese value counts characters, not bytes."""
    cfg = private_home(tmp_path, monkeypatch, mariadb_url)
    rows = [death_row(i) for i in range(20)]
    rows[4]["XB"] = "5"
    rows[7]["SWRQ"] = "二〇二六年十一月" * 9      # 72 characters, 216 bytes
    write_delivery(cfg.inbound("police"), FEED, rows)
    assert main(["run", FEED]) == 0
    got = _rejections(cfg, 1)
    assert got["DATE_INVALID"][1] is None and "二〇二六年十一月" not in got["DATE_INVALID"][2]
    assert f"SWRQ={REMOVED}" in got["DATE_INVALID"][2] and got["UNMAPPED_CODE"][:2] == ("XB", "5")


def _rejections(cfg, batch_id: int) -> dict[str, tuple]:
    with connect(cfg.store_url).connect() as conn:
        return {r.reason_code: (r.field, r.value, r.message, r.masked_id) for r in conn.execute(sa.text(
            "select reason_code, field, value, message, masked_id from rejection where batch_id = :b"),
            {"b": batch_id})}


def test_rejection_values_are_cleared_when_the_receipt_goes_out_and_not_before(home, capsys):
    rows = [death_row(i) for i in range(20)]
    rows[4]["XB"] = "5"
    rows[7]["SWRQ"] = "20261131"
    write_delivery(home.inbound("police"), FEED, rows)
    eng = Engine(get_feed(FEED, home), home)
    try:
        [batch_id] = eng.receive()
        eng.judge(batch_id)
        eng.publish(batch_id)
        before = _rejections(home, batch_id)        # published, no receipt yet: the receipt is written from them
        assert before["DATE_INVALID"][1] == "20261131" and "20261131" in before["DATE_INVALID"][2]
        eng.finish(batch_id)
    finally:
        eng.close()
    after = _rejections(home, batch_id)
    field, value, message, masked = after["DATE_INVALID"]
    assert (field, value) == ("SWRQ", None) and "20261131" not in message and f"SWRQ={REMOVED}" in message
    assert masked == before["DATE_INVALID"][3]      # the line is still told apart, as in the receipt
    assert after["UNMAPPED_CODE"][:2] == ("XB", "5")   # a code names no one: `mappings coverage` counts it
    # the partner's receipt and the hub's copy still say what was sent
    copy = next((home.receipts / FEED / str(batch_id)).glob("*.receipt.csv")).read_bytes().decode("gb18030")
    assert "20261131" in copy
    # coverage still counts the unmapped code (exit 1: there are unmapped values)
    capsys.readouterr()
    assert main(["mappings", "coverage", FEED]) == 1
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["XB", "5", "1"]


def test_the_purge_clears_values_stored_before_and_spares_held_batches(hub):
    """Rows stored before masking at the receipt existed (put back here by hand) are cleared by the purge;
    a held batch has none in the store, and re-judging it works from its staged files after a purge."""
    with connect(hub.store_url).begin() as conn:
        conn.execute(sa.text("update rejection set value = '20261131', message = 'SWRQ=20261131 bad' "
                             "where batch_id = 1 and reason_code = 'DATE_INVALID'"))
        assert conn.execute(sa.text("select count(*) from rejection where batch_id = 2")).scalar() == 0
    dry = purge(hub, dry_run=True)
    assert dry.masked == 1 and _rejections(hub, 1)["DATE_INVALID"][1] == "20261131"
    done = purge(hub, who="test")
    assert done.masked == 1
    assert _rejections(hub, 1)["DATE_INVALID"][1:3] == (None, f"SWRQ={REMOVED} bad")
    assert any(e["feed"] == "rejection_values" and e["records"] == 1 for e in _purge_entries(hub))
    assert main(["batches", "rejudge", "2"]) == 2          # judged again from staging: held again
    with connect(hub.store_url).connect() as conn:
        assert conn.execute(sa.text("select status from batch where id = 2")).scalar() == "held"


def _declaration(tmp_path, text: str) -> Path:
    path = tmp_path / FILE
    path.write_text(text)
    return path


def _valid() -> str:
    from jinbao.retention import KINDS
    return "".join(f"{k}:\n  days: 10\n  reason: because\n" for k in KINDS)


def test_the_declaration_is_strict_naming_file_and_key(tmp_path):
    assert load(_declaration(tmp_path, _valid()))["staging"].days == 10
    cases = {
        _valid() + "stagin:\n  days: 1\n  reason: r\n": "unknown key(s) stagin",
        _valid().replace("staging:\n  days: 10\n  reason: because\n", ""): "no retention declared for staging",
        _valid().replace("days: 10", "dayz: 10", 1): "unknown key(s) staging.dayz",
        _valid().replace("days: 10", "days: 0", 1): "staging.days: a whole number of days, at least 1",
        _valid().replace("days: 10", "days: '30'", 1): "staging.days",
        _valid().replace("reason: because", "reason: ''", 1): "staging.reason",
        _valid() + "staging:\n  days: 1\n  reason: r\n": "appears twice",
    }
    for text, said in cases.items():
        with pytest.raises(RetentionError) as err:
            load(_declaration(tmp_path, text))
        assert said in str(err.value) and str(tmp_path / FILE) in str(err.value), str(err.value)
    assert "did you mean staging.days" in str(pytest.raises(RetentionError, load, _declaration(
        tmp_path, _valid().replace("days: 10", "dayz: 10", 1))).value)


def test_a_malformed_declaration_stops_the_purge_before_anything_goes(sqlite_home, tmp_path, monkeypatch, capsys):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / FILE).write_text(_valid().replace("days: 10", "days: -1", 1))
    monkeypatch.setenv("JINBAO_SCHEMAS_DIR", str(schemas))
    kept = _write(sqlite_home.sent / "x" / "old.csv")
    _age(kept, 5000)
    monkeypatch.setattr(ledger, "now", lambda: NOW)
    assert main(["purge"]) == 1
    assert "staging.days" in capsys.readouterr().err and kept.exists()
