"""The daily `jinbao.purge` DAG: built by the factory, run for real with `airflow dags test`, it deletes what
outlived its retention, keeps what did not, says so in its task log and records it in the exchange log.

Airflow runs in its own process on the real clock, so the files' mtimes are set from the real clock too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from jinbao import exchange_log
from jinbao.retention import declared
from jinbao.store.database import upgrade
from tests.airflow_env import REPO, airflow, airflow_env, migrated

PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["jinbao.purge"]
print(json.dumps({"tasks": [t.task_id for t in dag.tasks], "summary": dag.timetable.summary,
                  "owner": dag.owner, "tags": sorted(dag.tags), "doc": dag.doc_md}))
"""


def test_the_purge_dag_is_daily_in_china_time(sqlite_home):
    out = subprocess.run([sys.executable, "-c", PROBE, str(REPO / "dags")], env=airflow_env(sqlite_home),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["tasks"] == ["purge"] and info["owner"] == "人社 hub operators" and "privacy" in info["tags"]
    assert info["summary"] == "daily 03:30 China Standard Time"
    assert "schemas/retention.yaml" in info["doc"] and "jinbao purge" in info["doc"]


def _file(path, days_old: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("records")
    when = time.time() - days_old * 86400
    os.utime(path, (when, when))
    return path


def test_airflow_dags_test_purges_and_logs_what_went(sqlite_home):
    days = declared(sqlite_home)["sent"].days
    old = _file(sqlite_home.sent / "police.insured_status" / "police.insured_status_20260101_000001.csv", days + 5)
    fresh = _file(sqlite_home.sent / "police.insured_status" / "police.insured_status_20261201_000002.csv", 1)
    migrated(sqlite_home)
    run = airflow(sqlite_home, "dags", "test", "jinbao.purge")
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert not old.exists() and fresh.exists()
    assert "purge sent: 1 file(s)/folder(s), 7 bytes" in log and f"retention {days} days" in log
    assert "purge rejection_values: 0 stored rejection value(s) cleared" in log
    with upgrade(sqlite_home.store_url).connect() as conn:
        [entry] = exchange_log.entries(conn, direction=exchange_log.PURGE)
    assert (entry["feed"], entry["records"], entry["who"]) == ("sent", 1, "Airflow jinbao.purge")
