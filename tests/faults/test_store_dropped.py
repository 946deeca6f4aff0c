"""The PostgreSQL backend terminated (pg_terminate_backend) while publish is running.

The publish transaction dies with its backend, nothing of it stays; the run reports a retryable
failure (exit 1 naming the feed), the batch stays judged and the delivery in inbound/; the rerun
publishes it once.
"""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from tests.conftest import PG_ADMIN
from tests.faults.conftest import FEED, drop_plain, jinbao, people, rows_of
from tests.faults.invariants import assert_accounted, published_keys


def _terminate(pid: int) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(sa.text("select pg_terminate_backend(:p)"), {"p": pid}).scalar()
            for _ in range(100):                       # gone before the statement is sent
                if not conn.execute(sa.text("select 1 from pg_stat_activity where pid = :p"), {"p": pid}).first():
                    return
                time.sleep(0.02)
    finally:
        admin.dispose()


def _after_run_killed_backend(cfg, path, delivery, out: str):
    assert f"{FEED}: error:" in out and "retry later" in out, out
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), settled=False)
    assert batch["status"] == "judged" and batch["published"] is None
    assert published_keys(cfg) == 0 and rows_of(cfg, "select id from rejection") == []
    assert path.read_bytes() == delivery                 # still waiting in inbound/


def test_backend_terminated_between_publish_chunks(pg_home, monkeypatch, capsys):
    """Deterministic: the publishing connection's own backend is terminated after its chunks are loaded
    (four COPYs into the temporary table), as the one merge statement is sent."""
    from jinbao.store import publish
    from jinbao.store.database import connect

    cfg = pg_home
    path = drop_plain(cfg, people(400))
    delivery = path.read_bytes()
    monkeypatch.setattr(publish, "PUBLISH_CHUNK", 100)     # four chunks ...
    monkeypatch.setattr(publish, "SORTED_IN_MEMORY", 0)    # ... each COPYed, then merged at once
    merges = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("WITH latest") and "INSERT INTO death_record" in statement:
            merges.append(1)
            _terminate(conn.connection.dbapi_connection.info.backend_pid)
    eng = connect(cfg.store_url)
    sa.event.listen(eng, "before_cursor_execute", before)
    try:
        assert main(["run", FEED]) == 1
    finally:
        sa.event.remove(eng, "before_cursor_execute", before)
    assert len(merges) == 1
    _after_run_killed_backend(cfg, path, delivery, capsys.readouterr().err)

    assert main(["run", FEED]) == 0
    (batch,) = assert_accounted(cfg, cfg.inbound("police"))
    assert (batch["status"], batch["published"]) == ("published", 400) and published_keys(cfg) == 400


@pytest.mark.slow
def test_backend_terminated_from_outside_while_a_large_delivery_publishes(pg_home, pg_url):
    """As an operator (or a failover) would: pg_terminate_backend on the hub's COPY or merge into
    death_record, from another session."""
    cfg = pg_home
    path = drop_plain(cfg, people(60_000))
    delivery = path.read_bytes()
    db = pg_url.rsplit("/", 1)[1]
    killed = []

    def watch(proc):
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                while proc.poll() is None and not killed:
                    pid = conn.execute(sa.text(
                        "select pid from pg_stat_activity where datname = :d and state = 'active' and "
                        "(query like 'COPY publish_rows%' or query like '%INSERT INTO death_record%')"),
                        {"d": db}).scalar()
                    if pid is not None:
                        conn.execute(sa.text("select pg_terminate_backend(:p)"), {"p": pid})
                        killed.append(pid)
                    time.sleep(0.005)
        finally:
            admin.dispose()

    proc = jinbao("run", FEED, wait=False)
    watcher = threading.Thread(target=watch, args=(proc,))
    watcher.start()
    out, err = proc.communicate(timeout=120)
    watcher.join()
    assert killed, "publish was never caught running"
    assert proc.returncode == 1, (out, err[-2000:])
    _after_run_killed_backend(cfg, path, delivery, err)

    rerun = jinbao("run", FEED)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
    assert (batch["status"], batch["published"]) == ("published", 60_000) and published_keys(cfg) == 60_000


def test_store_unreachable(pg_home):
    """PostgreSQL not answering at all (nothing listens on the port): exit 1 naming the feed, retryable,
    the delivery untouched; the run against the real store afterwards publishes it."""
    cfg = pg_home
    path = drop_plain(cfg, people(10))
    delivery = path.read_bytes()
    run = jinbao("run", FEED, env={"JINBAO_STORE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/jinbao"})
    assert run.returncode == 1, run.stderr[-2000:]
    assert f"{FEED}: error:" in run.stderr and "retry later" in run.stderr and "Traceback" not in run.stderr
    assert path.read_bytes() == delivery                        # (the store never got as far as a table)
    assert [p for p in cfg.staging.rglob("*") if p.is_file() and p.name != ".run.lock"] == []
    assert main(["run", FEED]) == 0
    (batch,) = assert_accounted(cfg, cfg.inbound("police"), sources={path.name: delivery})
    assert batch["published"] == 10 == published_keys(cfg)
