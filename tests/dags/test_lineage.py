"""OpenLineage: a real `airflow dags test` with the provider's file transport, events read back.

The transport is configured only through the environment (AIRFLOW__OPENLINEAGE__TRANSPORT), as an
operator would point it at Marquez; without it the provider is off and the run is the same as ever.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from jinbao.cli import main
from jinbao.declarations import load_feeds
from jinbao.keys import init_keys
from jinbao.lineage import store_namespace
from tests.airflow_env import BIN, REPO, airflow_env, migrated
from tests.dags.partitioned import partitioned_feeds
from tests.deliveries import death_row, write_delivery
from tests.jinbao.outbound.store_cases import contributions_for_november

#: An unmasked citizen ID anywhere in an event (tests/conftest.py scans logs the same way).
UNMASKED_ID = re.compile(r"(?<![0-9A-Za-z*])[1-9]\d{16}[\dX](?![0-9A-Za-z])")


def _airflow(cfg, *args: str, transport: dict | None = None) -> subprocess.CompletedProcess:
    env = airflow_env(cfg)
    env.pop("AIRFLOW__OPENLINEAGE__TRANSPORT", None)
    if transport is not None:
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
    return subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=300)


def _events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _complete(events: list[dict], job_suffix: str) -> list[dict]:
    return [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(job_suffix)]


def test_an_inbound_run_emits_the_delivery_the_table_and_column_lineage(sqlite_home, tmp_path):
    rows = [death_row(i) for i in range(6)]
    write_delivery(sqlite_home.inbound("police"), "police.death", rows)
    migrated(sqlite_home)
    events_file = tmp_path / "lineage.jsonl"
    # the run of 23 Nov takes 22 Nov's delivery, the one it watches for (docs/expected.md)
    run = _airflow(sqlite_home, "dags", "test", "police.death", "2026-11-23",
                   transport={"type": "file", "log_file_path": str(events_file), "append": True})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    events = _events(events_file)

    [publish] = _complete(events, "police.death.publish")
    assert [(d["namespace"], d["name"]) for d in publish["inputs"]] == [("dropzone://police", "police.death")]
    store = store_namespace(sqlite_home.store_url)
    assert [(d["namespace"], d["name"]) for d in publish["outputs"]] == [(store, "death_record")]
    delivery, table = publish["inputs"][0], publish["outputs"][0]
    # the mapping in force on 2026-11-22 (version 2024.1): no CZBZ yet
    assert [f["name"] for f in delivery["facets"]["schema"]["fields"]] == \
        ["GMSFHM", "XM", "XB", "SWRQ", "ZXRQ", "ZXYY", "HJDZ_XZQH"]
    assert {f["name"] for f in table["facets"]["schema"]["fields"]} >= {"aac002", "aac060", "death_action"}
    columns = table["facets"]["columnLineage"]["fields"]
    aac002 = columns["aac002"]
    assert [(i["namespace"], i["name"], i["field"]) for i in aac002["inputFields"]] == \
        [("dropzone://police", "police.death", "GMSFHM")]
    assert aac002["transformationDescription"].startswith("GMSFHM -> AAC002 -> aac002")
    assert columns["aaa002"]["inputFields"][0]["field"] == "XB"
    assert "code table police.gender@" in columns["aaa002"]["transformationDescription"]
    assert columns["aac060"]["inputFields"][0]["transformations"][0]["description"] == "date %Y%m%d"
    assert columns["id_upgraded"]["inputFields"][0]["field"] == "GMSFHM"
    assert "death_action" not in columns and "source_feed" not in columns   # not from the partner that day

    # the tasks that do not move data across the hub's edge carry no datasets
    for task in ("receive", "judge", "finish"):
        assert all(not e["inputs"] and not e["outputs"] for e in _complete(events, f"police.death.{task}")), task
    # names only: no citizen ID (nor any other value of the delivery) in any event
    assert not UNMASKED_ID.search(events_file.read_text())
    assert not any(r["XM"] in events_file.read_text() for r in rows)


def test_a_late_delivery_has_the_columns_of_its_own_day(sqlite_home, tmp_path):
    """A delivery of 2026-11-30 published by the run of 2026-12-03: translated with mapping version 2024.1
    (no CZBZ), so its lineage has no death_action; one of 2026-12-02 in the same run has it."""
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(3)], date="20261130")
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(3, 6)],
                   date="20261202", seq=2)
    migrated(sqlite_home)
    events_file = tmp_path / "lineage.jsonl"
    run = _airflow(sqlite_home, "dags", "test", "police.death", "2026-12-03",
                   transport={"type": "file", "log_file_path": str(events_file), "append": True})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    published = _complete(_events(events_file), "police.death.publish")
    by_fields = sorted(len(e["inputs"][0]["facets"]["schema"]["fields"]) for e in published)
    assert by_fields == [7, 8]
    for event in published:
        partner = [f["name"] for f in event["inputs"][0]["facets"]["schema"]["fields"]]
        assert ("death_action" in event["outputs"][0]["facets"]["columnLineage"]["fields"]) == ("CZBZ" in partner)


def test_each_partition_of_a_partitioned_feed_carries_the_lineage(sqlite_home, tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(partitioned_feeds(tmp_path, "police.death", 2)))
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(8)])
    migrated(sqlite_home)
    events_file = tmp_path / "lineage.jsonl"
    run = _airflow(sqlite_home, "dags", "test", "police.death", "2026-11-23",
                   transport={"type": "file", "log_file_path": str(events_file), "append": True})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    events = _events(events_file)
    parts = _complete(events, "police.death.publish_partition")
    assert len(parts) == 2
    for event in parts + _complete(events, "police.death.publish"):
        assert [d["name"] for d in event["inputs"]] == ["police.death"]
        assert [d["name"] for d in event["outputs"]] == ["death_record"]


def test_releasing_a_held_batch_emits_its_feeds_lineage(sqlite_home, tmp_path):
    rows = [death_row(i) for i in range(10)]
    for r in rows[:4]:
        r["ZXYY"] = "7"                                  # 40 % rejected: held
    write_delivery(sqlite_home.inbound("police"), "police.death", rows)
    migrated(sqlite_home)
    events_file = tmp_path / "lineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    # held on the command line (under Airflow the run would wait for a person's answer: tests/dags/test_review.py)
    assert main(["run", "police.death"]) == 2
    run = _airflow(sqlite_home, "dags", "test", "jinbao.release", "2026-11-23", "--conf", '{"batch_id": 1}',
                   transport=transport)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [release] = _complete(_events(events_file), "jinbao.release.release")
    assert [(d["namespace"], d["name"]) for d in release["inputs"]] == [("dropzone://police", "police.death")]
    [table] = release["outputs"]
    assert table["name"] == "death_record"
    assert table["facets"]["columnLineage"]["fields"]["aac002"]["inputFields"][0]["field"] == "GMSFHM"


def test_an_outbound_run_emits_the_store_tables_and_only_the_agreed_fields(sqlite_home, tmp_path):
    init_keys(sqlite_home.home)
    assert main(["db", "upgrade"]) == 0
    contributions_for_november(sqlite_home)
    migrated(sqlite_home)
    events_file = tmp_path / "lineage.jsonl"
    run = _airflow(sqlite_home, "dags", "test", "police.insured_status", "2026-12-01",
                   transport={"type": "file", "log_file_path": str(events_file), "append": True})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [send] = _complete(_events(events_file), "police.insured_status.send")
    store = store_namespace(sqlite_home.store_url)
    assert [(d["namespace"], d["name"]) for d in send["inputs"]] == [(store, "contribution"), (store, "register")]
    [sent] = send["outputs"]
    assert (sent["namespace"], sent["name"]) == ("dropzone://police", "police.insured_status")
    columns = sent["facets"]["columnLineage"]["fields"]
    # the police's names for exactly the agreement's fields, nothing else the store holds
    sent_columns = ["GMSFHM", "XM", "XB", "CBBZ", "DWTYSHXYDM", "ZHJFNY"]
    assert sorted(columns) == sorted(sent_columns)
    assert [f["name"] for f in sent["facets"]["schema"]["fields"]] == sent_columns   # the file's order
    assert len(columns) == len(load_feeds()["police.insured_status"].fields)
    assert [(i["name"], i["field"]) for i in columns["XM"]["inputFields"]] == [("register", "aac003")]
    assert {(i["name"], i["field"]) for i in columns["CBBZ"]["inputFields"]} == \
        {("contribution", "month"), ("contribution", "paid_flag")}
    assert "police.yes_no@" in columns["CBBZ"]["transformationDescription"]
    assert not UNMASKED_ID.search(events_file.read_text())


PROBE = """
import json, sys
from airflow import plugins_manager
from airflow.listeners.listener import get_listener_manager
from airflow.providers.openlineage import conf
plugins_manager.integrate_listener_plugins(get_listener_manager())
lineage = [p for p in get_listener_manager().pm.get_plugins() if "openlineage" in type(p).__module__]
print(json.dumps({"disabled": conf.is_disabled(), "listening": bool(lineage),
                  "loaded": [m for m in ("openlineage.client", "jinbao.lineage") if m in sys.modules]}))
"""


@pytest.mark.parametrize("transport, expected", [
    (None, {"disabled": True, "listening": False, "loaded": []}),
    ({"type": "console"}, {"disabled": False, "listening": True, "loaded": ["openlineage.client", "jinbao.lineage"]}),
])
def test_without_a_transport_lineage_is_off_and_loads_nothing(sqlite_home, transport, expected):
    """Off (the default): no OpenLineage listener (the hub's run-notes listener is another), not one module of the client or of jinbao/lineage.py loaded, in any
    Airflow process; a transport alone turns it on, with the hub's extractor from airflow.cfg."""
    env = airflow_env(sqlite_home)
    env.pop("AIRFLOW__OPENLINEAGE__TRANSPORT", None)
    if transport is not None:
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected
