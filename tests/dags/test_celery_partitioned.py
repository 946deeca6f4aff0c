"""A partitioned feed on a real distributed deployment: CeleryExecutor, two `airflow celery worker`
processes, Redis as broker and result backend, PostgreSQL for Airflow's metadata and for the store,
the real scheduler, DAG processor and API server (Airflow 3 workers run their tasks through its
execution API).  The store must equal a single-process `Engine.run` of the same delivery with the
feed unpartitioned, row for row, and both workers must have published partitions.

Each worker writes task logs to a folder of its own, so which worker ran a task is read from the
files it left, not from a hostname (both workers are on this machine).  Staging (JINBAO_HOME) is
the one folder both see, as a shared volume would be in production (docs/scale.md).

Spreading the partitions is made deterministic, not left to timing.  Each worker takes one task at a
time and reserves none ahead (concurrency 1, prefetch multiplier 1, late acks), and the run is only
triggered once both workers answer a broadcast and consume the queue.  That alone is not enough: a
warm partition takes about a second, so a worker still finishing `plan` (or starved of CPU on a busy
machine) for a few seconds can let the other run all four in turn (the likely cause of the one CI
flake, where one worker took all four).  So the test holds a SHARE lock on the feed's target table
from before the run (its receive, judge and plan do not write that table) until two partitions are
running at once, each blocked at its first write: with one task per worker those two are on
different workers.  A deployment that cannot run two partitions side by side fails the wait; the
check that both workers ran partitions is unchanged.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from dev.airflow_up import environment
from dev.polling import poll
from jinbao.declarations import get_feed
from jinbao.engine import Engine
from tests.airflow_env import BIN, REPO
from tests.conftest import private_home, server_database, unavailable
from tests.dags.partitioned import partitioned_feeds, snapshot
from tests.dags.processes import free_port, start, stop_group
from tests.dags.test_airflow_live import AUTH_FAILURES

FEED = "hrss.pension_roll"          # monthly roll: several rows per person, and it takes part in the register
PARTS = 4
PEOPLE = 800                        # about 4,100 records
DAY = dt.date(2026, 11, 22)
#: A Redis database of this test's own (flushed before and after); the default 0 is left alone.
REDIS_DB = 13
REDIS = f"redis://127.0.0.1:6379/{REDIS_DB}"
TABLES = ("batch", "rejection", "pension_payment", "register", "register_history", "source_value", "conflict",
          "life_status_history")


@pytest.fixture
def redis_db():
    try:
        import redis
        client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any problem means "not available"
        unavailable("Redis at 127.0.0.1:6379", exc)
    client.flushdb()
    yield REDIS
    client.flushdb()
    client.close()


@pytest.fixture
def pg_database():
    """`pg_database()`: the URL of a fresh PostgreSQL database; every one is dropped after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(server_database("PostgreSQL"))


class Cluster:
    """API server, scheduler, DAG processor and two Celery workers, each in its own process group."""

    def __init__(self, home: Path, store_url: str, meta_url: str, broker: str, feeds: Path, logs: Path):
        self.port = free_port()
        self.logs = logs
        self.broker = broker
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
        env = environment(home, store_url=store_url, port=self.port, base=base)
        env.update(
            JINBAO_FEEDS_DIR=str(feeds),
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=meta_url,
            # psycopg 3 serves the async side too (Airflow would otherwise want asyncpg)
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=meta_url.replace("+psycopg:", "+psycopg_async:"),
            AIRFLOW__CELERY__BROKER_URL=broker,
            AIRFLOW__CELERY__RESULT_BACKEND=broker,
            # one task at a time per worker, none reserved ahead (a message is acknowledged when its task
            # ends, so a busy worker holds no second one): queued partitions go to whoever is free
            AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
            AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER="1",
            AIRFLOW__CELERY__TASK_ACKS_LATE="True",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",       # only the run the test triggers
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(logs / "api-scheduler"),
        )
        self.env = env
        self.procs: dict[str, object] = {}
        self.http = httpx.Client(base_url=f"http://localhost:{self.port}", timeout=30)

    def airflow(self, name: str, *args: str, **env) -> None:
        self.procs[name] = start([str(BIN / "airflow"), *args], {**self.env, **env}, self.logs / f"{name}.console",
                                 REPO)

    def worker(self, name: str) -> None:
        self.airflow(name, "celery", "worker", "--concurrency", "1", "--celery-hostname", f"{name}@%h",
                     AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(self.logs / name),
                     AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()))

    def consuming(self) -> set[str]:
        """The workers (by name) that answer a broadcast and consume at least one queue."""
        from celery import Celery

        app = Celery(broker=self.broker)
        try:
            queues = app.control.inspect(timeout=2).active_queues() or {}
        finally:
            app.close()
        return {name.split("@", 1)[0] for name, consumed in queues.items() if consumed}

    def console(self, name: str) -> str:
        path = self.logs / f"{name}.console"
        return path.read_text(errors="replace") if path.exists() else ""

    def tail(self) -> str:
        return "".join(f"\n--- {n} (tail) ---\n{self.console(n)[-2500:]}" for n in self.procs)

    def wait(self, what: str, seconds: float, check):
        def alive():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            assert not dead, f"{dead} exited waiting for {what}" + self.tail()
        return poll(time.monotonic() + seconds, check, alive) or pytest.fail(
            f"no {what} in {seconds:.0f} s" + self.tail())

    def stop(self) -> None:
        self.http.close()
        for proc in self.procs.values():
            stop_group(proc)

    def ran(self, worker: str) -> dict[str, int]:
        """Task id -> how many of its task logs are in the worker's folder (what it ran)."""
        out: dict[str, int] = {}
        for log in (self.logs / worker).rglob("attempt=*.log"):
            task = next(p.split("=", 1)[1] for p in log.parts if p.startswith("task_id="))
            out[task] = out.get(task, 0) + 1
        return out


def test_a_partitioned_feed_on_two_celery_workers_equals_the_single_process_run(
        tmp_path, monkeypatch, redis_db, pg_database):
    from jinbao.generator import generate
    from jinbao.store.database import connect, upgrade

    pg_url, pg_url_2, pg_meta = pg_database(), pg_database(), pg_database()

    # the single-process run: the shipped declaration (unpartitioned), `Engine.run`, its own store
    (tmp_path / "single").mkdir()
    single = private_home(tmp_path / "single", monkeypatch, pg_url_2)
    file = generate(single, DAY, people=PEOPLE, feeds=[FEED])["feeds"][FEED]["file"]
    delivery = tmp_path / file                         # kept: a published delivery leaves inbound/
    shutil.copy(single.inbound("hrss") / file, delivery)
    records = sum(1 for _ in delivery.open("rb")) - 1
    assert 3000 < records < 6000
    target = get_feed(FEED, single).target.table
    outcomes = Engine(get_feed(FEED, single), single).run(DAY)
    assert [o.status for o in outcomes] == ["published"]
    expected = snapshot(single.store_url, TABLES)

    # the same delivery under Airflow with CeleryExecutor, the feed declared with partitions: 4
    (tmp_path / "celery").mkdir()
    cfg = private_home(tmp_path / "celery", monkeypatch, pg_url)
    feeds = partitioned_feeds(tmp_path, FEED, PARTS)
    cfg.inbound("hrss").mkdir(parents=True, exist_ok=True)
    shutil.copy(delivery, cfg.inbound("hrss") / file)
    logs = tmp_path / "logs"
    logs.mkdir()
    cluster = Cluster(cfg.home, pg_url, pg_meta, redis_db, feeds, logs)
    migrated = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=cluster.env, capture_output=True,
                              text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    started = time.monotonic()
    try:
        cluster.airflow("api-server", "api-server", "--port", str(cluster.port), "--workers", "1")
        cluster.airflow("scheduler", "scheduler")
        cluster.airflow("dag-processor", "dag-processor")
        cluster.worker("worker1")
        cluster.worker("worker2")
        http = cluster.http
        cluster.wait(f"{FEED} in the API", 180, lambda: http.get(f"/api/v2/dags/{FEED}").status_code == 200)
        cluster.wait("both Celery workers consuming", 120, lambda: cluster.consuming() >= {"worker1", "worker2"})
        tasks = {t["task_id"] for t in http.get(f"/api/v2/dags/{FEED}/tasks").json()["tasks"]}
        assert tasks == {"expected_delivery", "delivered_on_time", "receive", "judge", "plan", "publish_partition",
                         "publish", "finish", "review"}

        def task_instances() -> list[dict]:
            return http.get(f"/api/v2/dags/{FEED}/dagRuns/celery-1/taskInstances").json()["task_instances"]

        def two_partitions_running(gate_pid: int) -> bool:
            # what the gate holds up, read before the states (a partition is running before it writes): only
            # partitions, or a step that writes the table (a migration, say) would wait here until the timeout.
            # A transaction of its own: pg_stat_activity is a snapshot taken once per transaction
            with connect(cfg.store_url).connect() as probe:
                held = probe.execute(sa.text("SELECT query FROM pg_stat_activity WHERE :gate = "
                                             "ANY(pg_blocking_pids(pid))"), {"gate": gate_pid}).scalars().all()
            states = [(t["task_id"], t["map_index"], t["state"]) for t in task_instances()]
            failed = [s for s in states if s[2] in ("failed", "upstream_failed", "up_for_retry")]
            assert not failed, f"{states}" + cluster.tail()
            running = sum(task == "publish_partition" and state == "running" for task, _, state in states)
            assert len(held) <= running, f"the lock on {target} holds up more than partitions: {held}, {states}"
            return running >= 2

        # the gate (module docstring): the store migrated here, so the workers' runs find the table to lock
        upgrade(cfg.store_url)
        with connect(cfg.store_url).connect() as gate:
            gate.execute(sa.text(f"LOCK TABLE {target} IN SHARE MODE"))
            gate_pid = gate.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            run = http.post(f"/api/v2/dags/{FEED}/dagRuns",
                            json={"dag_run_id": "celery-1", "logical_date": "2026-11-23T04:00:00Z"})
            assert run.status_code == 200, run.text
            assert http.patch(f"/api/v2/dags/{FEED}", json={"is_paused": False}).status_code == 200
            cluster.wait("two publish_partition tasks running at once", 300, lambda: two_partitions_running(gate_pid))
            gate.rollback()                                 # releases the lock: the partitions write

        def finished():
            state = http.get(f"/api/v2/dags/{FEED}/dagRuns/celery-1").json()["state"]
            return state if state in ("success", "failed") else None
        state = cluster.wait("finished dag run", 300, finished)
        summary = sorted((t["task_id"], t["map_index"], t["state"]) for t in task_instances())
        assert state == "success", f"{summary}" + cluster.tail()
        assert [s for s in summary if s[0] == "publish_partition"] == [
            ("publish_partition", i, "success") for i in range(PARTS)]
    finally:
        cluster.stop()
    elapsed = time.monotonic() - started

    # the store, row for row, equals the single-process run's
    assert snapshot(cfg.store_url, TABLES) == expected
    assert len(list((cfg.staging / FEED).glob("*/partitions/*.done"))) == PARTS

    # both workers ran tasks, and partitions on each: the feed was spread over them
    ran = {w: cluster.ran(w) for w in ("worker1", "worker2")}
    # every task, once (review too: it runs to find the batch published, and skips; delivered_on_time is an
    # EmptyOperator, which the scheduler marks without a worker)
    assert sum(n for r in ran.values() for n in r.values()) == 7 + PARTS, ran
    assert all(r.get("publish_partition") for r in ran.values()), ran
    everything = "".join(cluster.console(n) for n in cluster.procs)
    assert not [f for f in AUTH_FAILURES if f in everything]
    print(f"\ncelery run: {records} records, {PARTS} partitions, tasks per worker {ran}, {elapsed:.0f} s "
          f"from start to stop", file=sys.stderr)
