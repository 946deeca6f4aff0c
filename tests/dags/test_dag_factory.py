"""Every DAG loads quickly and without heavy imports; a real `airflow dags test` publishes."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect as engine
from tests.airflow_env import BIN, REPO, airflow, airflow_env, migrated
from tests.deliveries import death_row, write_delivery

PARSE_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: v for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dags),
    "durations": [s.duration.total_seconds() for s in bag.dagbag_stats],
    "heavy": [m for m in ("great_expectations", "pyarrow", "pandas", "paramiko") if m in sys.modules],
    "tags": {d: sorted(bag.dags[d].tags) for d in bag.dags},
    "retries": {d: bag.dags[d].default_args.get("retries") for d in bag.dags},
    "doc": {d: bag.dags[d].doc_md for d in bag.dags},
    "tz": {d: str(getattr(bag.dags[d].timetable, "timezone", None) or getattr(bag.dags[d].timetable, "_timezone", None))
           for d in bag.dags},
    "name": {d: bag.dags[d].dag_display_name for d in bag.dags},
    "owner": {d: bag.dags[d].owner for d in bag.dags},
    "labels": {d: {t.task_id: t.map_index_template for t in bag.dags[d].tasks} for d in bag.dags},
}))
"""


def test_every_dag_imports_fast_without_heavy_modules(sqlite_home):
    out = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(REPO / "dags")], env=airflow_env(sqlite_home),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["errors"] == {}
    from jinbao.declarations import OutboundFeed, load_feeds
    assert info["dags"] == sorted(list(load_feeds()) + ["jinbao.release", "audit.death_mismatch",
                                                        "keys.certificate_expiry", "jinbao.purge"])
    assert all(d < 3.0 for d in info["durations"]), info["durations"]
    assert info["heavy"] == []                       # GE, pyarrow... only inside tasks
    assert "police" in info["tags"]["police.death"]
    assert info["retries"]["police.death"] == 2 and info["tz"]["police.death"] == "Asia/Shanghai"
    # what a data engineer reads in the DAG list and the docs: no raw Python, bilingual names, owners
    assert info["name"]["police.death"] == "公安死亡人员信息 Police death registrations · police.death"
    assert info["owner"]["police.death"] == "公安 police" and info["owner"]["health.death_certificate"] == "卫健 health"
    assert {"hrss.pension_roll", "hrss.resident_enrollment", "hrss.contribution"} <= set(info["dags"])
    assert info["owner"]["hrss.pension_roll"] == "人社核心业务系统 bureau core systems"
    assert info["name"]["hrss.contribution"] == "人社职工缴费记录 Employee contributions (bureau) · hrss.contribution"
    outbound = {n for n, s in load_feeds().items() if isinstance(s, OutboundFeed)}
    assert outbound == {"police.insured_status", "central_bank.contribution_status", "finance.subsidy_claim"}
    assert all(doc and "{'" not in doc and "jinbao.release" in doc for d, doc in info["doc"].items()
               if d not in ("jinbao.release", "audit.death_mismatch", "keys.certificate_expiry", "jinbao.purge",
                            *outbound))
    # an outbound DAG's docs name its agreement, purpose, legal basis and validity
    police = info["doc"]["police.insured_status"]
    assert "`police.insured_status`" in police and "household-registration services" in police
    assert "社会保险法" in police and "2026-01-01 to 2027-12-31" in police
    assert info["labels"]["police.insured_status"] == {"send": None}
    assert info["owner"]["audit.death_mismatch"] == "审计 auditors" and "audit" in info["tags"]["audit.death_mismatch"]
    by_delivery = "{{ delivery | default('') }}"
    assert info["labels"]["police.death"] == {"expected_delivery": None, "delivered_on_time": None, "receive": None,
                                              "judge": by_delivery, "publish": by_delivery,
                                              "finish": by_delivery, "review": by_delivery}


TASK_PARSE_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({d: {t.task_id: sorted(t.downstream_task_ids) for t in bag.dags[d].tasks} for d in bag.dags}))
"""


def _task_graphs(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", TASK_PARSE_PROBE, str(REPO / "dags" / "jinbao_feeds.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_task_process_builds_only_its_own_dag_the_same_as_the_dag_processor(sqlite_home):
    """Airflow names the task's DAG in the parsing context (the task runner sets these variables)."""
    env = airflow_env(sqlite_home)
    every = _task_graphs(env)
    assert len(every) > 10
    for dag_id in ("police.death", "police.insured_status", "jinbao.purge"):
        only = _task_graphs({**env, "_AIRFLOW_PARSING_CONTEXT_DAG_ID": dag_id,
                             "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "any"})
        assert only == {dag_id: every[dag_id]}


def test_the_fork_servers_preloads_import_and_heartbeats_keep_their_tolerance():
    """airflow.cfg's `[scheduler] mp_forkserver_preload`: a module whose import raised anything but
    ImportError would stop the fork server (and with it every task), one that is gone would silently
    stop saving its import in every task."""
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(REPO / "airflow.cfg")
    assert cfg["scheduler"]["mp_start_method"] == "forkserver"
    modules = [m.strip() for m in cfg["scheduler"]["mp_forkserver_preload"].split(",") if m.strip()]
    assert "jinbao.engine" in modules and "airflow.sdk.execution_time.task_runner" in modules
    # the supervisor wakes every second (docs/airflow.md, "Latency"), and an unreachable API server is
    # still tolerated for 15 s before a task is killed, as with Airflow's defaults (5 s x 3)
    workers = cfg["workers"]
    assert int(workers["min_heartbeat_interval"]) * int(workers["max_failed_heartbeats"]) >= 15
    out = subprocess.run([sys.executable, "-c", "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)",
                          *modules], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def _published(cfg):
    with engine(cfg.store_url).connect() as conn:
        deaths = conn.execute(sa.text(
            "select aac002, aac003, aaa002, aac060, aab301, dereg_date, dereg_reason, id_upgraded, line_no "
            "from death_record order by aac002")).all()
        batch = conn.execute(sa.text(
            "select status, received, accepted, rejected, published, mapping_version from batch")).all()
        rej = conn.execute(sa.text("select line_no, field, reason_code from rejection order by line_no")).all()
    return [_plain(r) for r in deaths], [_plain(b) for b in batch], [_plain(r) for r in rej]


def _plain(row) -> tuple:
    """Backend-neutral values (SQLite gives '2026-11-01' and 0 where PostgreSQL gives date and False)."""
    return tuple(None if v is None else str(int(v)) if isinstance(v, bool) else str(v) for v in row)


def _notes(cfg) -> list[str]:
    """The runs' notes in Airflow's metadata DB (written by plugins/jinbao_plugin.py as each run ends)."""
    meta = sa.create_engine(f"sqlite:///{cfg.home / 'airflow.db'}")
    try:
        with meta.connect() as conn:
            return [r.content for r in conn.execute(sa.text("select content from dag_run_note"))]
    finally:
        meta.dispose()


def test_airflow_dags_test_publishes_like_the_cli(home, tmp_path, monkeypatch):
    rows = [death_row(i) for i in range(15)] + [death_row(99, XB="5")]
    rows[3]["GMSFHM"] = rows[3]["GMSFHM"][:6] + rows[3]["GMSFHM"][8:17]  # a 15-digit first-generation ID
    write_delivery(home.inbound("police"), "police.death", rows)
    migrated(home)
    run = airflow(home, "dags", "test", "police.death", "2026-11-23")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    via_airflow = _published(home)
    assert via_airflow[1] == [("published", "16", "15", "1", "15", via_airflow[1][0][5])]
    assert any(d[7] == "1" for d in via_airflow[0])      # the upgraded 15-digit ID is flagged

    # The same delivery through `jinbao run` in another home gives the same store content.
    other = tmp_path / "cli-home"
    other.mkdir()
    monkeypatch.setenv("JINBAO_HOME", str(other))
    monkeypatch.setenv("JINBAO_STORE_URL", f"sqlite:///{other / 'store.db'}")
    from jinbao.settings import load_settings
    cfg2 = load_settings()
    write_delivery(cfg2.inbound("police"), "police.death", rows)
    assert main(["run", "police.death", "--date", "2026-11-22"]) == 0
    assert _published(cfg2) == via_airflow


def test_task_logs_tell_the_story_of_a_delivery(sqlite_home):
    rows = [death_row(i) for i in range(20)]
    rows[3]["XB"] = "5"
    write_delivery(sqlite_home.inbound("police"), "police.death", rows)
    from jinbao.cli import main
    assert main(["db", "upgrade"]) == 0
    migrated(sqlite_home)
    run = airflow(sqlite_home, "dags", "test", "police.death", "2026-11-23")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    logs = run.stdout + run.stderr                    # `dags test` runs the tasks in-process: their logs are here
    assert "took police.death_20261122_000001.csv as batch 1" in logs
    assert "20 records received, 19 accepted, 1 rejected" in logs and "UNMAPPED_CODE on XB 1" in logs
    assert "19 records into death_record" in logs
    assert "quality results: jinbao quality docs police.death --batch 1" in logs        # the way to the page
    assert "receipt for police.death_20261122_000001.csv (published) sent to police" in logs
    assert "Context impl" not in logs and "Will assume" not in logs   # the store was migrated: no Alembic noise
    # the run's note tells the same story, with the way to the receipt
    assert _notes(sqlite_home) == [
        "**police.death\\_20261122\\_000001.csv** (batch 1) · published · 20 received, 19 accepted, 1 rejected, "
        "19 published · [receipt](/jinbao/receipts/police.death/1/police.death_20261122_000001.receipt.json)"]


def test_a_refused_delivery_fails_the_run_naming_the_delivery_and_reason(sqlite_home):
    from jinbao.cli import main
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(5)], seq=7)
    assert main(["run", "police.death"]) == 0
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(10, 15)], seq=5)
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(20, 23)], seq=8)
    migrated(sqlite_home)
    run = airflow(sqlite_home, "dags", "test", "police.death", "2026-11-23")
    log = run.stdout + run.stderr
    assert run.returncode != 0                                        # red, not green
    assert "SEQUENCE_REPLAYED" in log and "police.death_20261122_000005.csv" in log
    assert "end task task_id=review" in log and "failed" in log.lower()
    assert "batch 2 (police.death_20261122_000005.csv) refused: SEQUENCE_REPLAYED" in log   # what review says
    # not green before finish either: judge and publish skip the refused delivery, saying why
    assert "nothing to judge; finish sends the partner its receipt" in log
    assert "nothing to publish; finish sends the partner its receipt" in log
    # the other delivery of the same run is published and answered all the same
    with engine(sqlite_home.store_url).connect() as conn:
        assert conn.execute(sa.text("select file_name, status, published from batch order by id")).all() == [
            ("police.death_20261122_000007.csv", "published", 5), ("police.death_20261122_000005.csv", "refused", None),
            ("police.death_20261122_000008.csv", "published", 3)]
    assert (sqlite_home.outbound("police") / "police.death_20261122_000008.receipt.json").is_file()
    # the note tells the two apart: the partner's refusal with its reason, not a failure of the hub
    [note] = _notes(sqlite_home)
    refused, published = note.splitlines()
    assert refused.startswith("**police.death\\_20261122\\_000005.csv** (batch 2) · refused: SEQUENCE\\_REPLAYED")
    assert published.startswith("**police.death\\_20261122\\_000008.csv** (batch 3) · published · 3 received")
    assert "hub failure" not in note


def test_a_failure_of_the_hub_is_red_and_named_in_the_note(sqlite_home, tmp_path, monkeypatch):
    feeds = tmp_path / "feeds"
    shutil.copytree(REPO / "dags" / "feeds", feeds)
    declared = feeds / "police.death.yaml"
    declared.write_text(declared.read_text(encoding="utf-8").replace("retries: 2", "retries: 0"), encoding="utf-8")
    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(feeds))
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(5)])
    (tmp_path / "not-a-folder").write_text("", encoding="utf-8")     # the store's folder cannot be made: down
    env = airflow_env(sqlite_home)
    env["JINBAO_STORE_URL"] = f"sqlite:///{tmp_path / 'not-a-folder' / 'store.db'}"
    migrated(sqlite_home)
    run = subprocess.run([str(BIN / "airflow"), "dags", "test", "police.death", "2026-11-22"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0, run.stdout[-3000:] + run.stderr[-3000:]
    [note] = _notes(sqlite_home)
    # the store is down for every task that reads it: the delivery watch first, then receive
    assert note.startswith("**hub failure** at expected_delivery, receive (not the partner's doing)"), note
    assert "nothing delivered" not in note


def test_the_monthly_audit_dag_writes_the_report_and_hands_it_over(sqlite_home):
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(10)])
    from jinbao.cli import main
    assert main(["run", "police.death"]) == 0
    migrated(sqlite_home)
    run = airflow(sqlite_home, "dags", "test", "audit.death_mismatch", "2026-12-02", "--conf", '{"month": "2026-11"}')
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "death mismatch report 2026-11: stop payment      0 people still on the roll, 0.00 yuan a month" in log
    assert "paid after death  0 people, 0.00 yuan overpaid" in log
    assert (sqlite_home.reports / "deaths" / "2026-11" / "deaths-2026-11.html").exists()
    assert (sqlite_home.outbound("audit") / "deaths-2026-11" / "deaths-2026-11.xlsx").exists()
    # the run's note links the report's page first, then its workbook, served at /jinbao/reports/
    [note] = _notes(sqlite_home)
    assert note.startswith("death mismatch report 2026-11 ([every file](/jinbao/reports/deaths/2026-11/)): "
                           "[page](/jinbao/reports/deaths/2026-11/deaths-2026-11.html) · "
                           "[workbook](/jinbao/reports/deaths/2026-11/deaths-2026-11.xlsx) · ")

    # full IDs through `airflow dags test`: a command on the host, not a login; red, nothing written
    refused = airflow(sqlite_home, "dags", "test", "audit.death_mismatch", "2026-12-03", "--conf",
                      '{"month": "2026-11", "full_ids": true, "purpose": "stop payments"}')
    assert refused.returncode != 0
    assert "(`airflow dags test` is a command, not a login); nothing was written" in refused.stdout + refused.stderr
    assert not sqlite_home.exports.exists() and _export_entries(sqlite_home) == []


def _export_entries(cfg) -> list[dict]:
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "select file_name, sha256, status, records, accepted, who, purpose, business_date from exchange_log "
            "where direction = 'export' order by seq")).mappings()]


#: The report DAG's task called as Airflow calls it, with the run it gets: a real SDK DagRun whose
#: run_type and triggering_user_name are those of each case (in a subprocess with Airflow's environment).
AUDIT_TASK_PROBE = """
import datetime as dt, json, os, sys
sys.path.insert(0, sys.argv[1])
from airflow.sdk.api.datamodels._generated import DagRun, DagRunState, DagRunType
from airflow.sdk.exceptions import AirflowFailException
from dag_factory import build_audit

task = build_audit().get_task("death_mismatch").python_callable
now = dt.datetime(2026, 12, 2, 6, tzinfo=dt.timezone.utc)
out = []
for user, kind, full_ids, purpose in json.loads(sys.argv[2]):
    run = DagRun(dag_id="audit.death_mismatch", run_id=f"{kind}-{user}", logical_date=now, data_interval_start=now,
                 data_interval_end=now, run_after=now, start_date=now, end_date=None, run_type=DagRunType(kind),
                 state=DagRunState.RUNNING, consumed_asset_events=[], partition_key=None, triggering_user_name=user)
    params = {"month": "2026-11", "tolerance_days": 3, "full_ids": full_ids, "purpose": purpose}
    try:
        out.append({"files": task(params=params, logical_date=now, dag_run=run)})
    except AirflowFailException as exc:
        out.append({"failed": str(exc), "exports": os.path.exists(os.path.join(os.environ["JINBAO_HOME"], "exports"))})
print(json.dumps(out))
"""


def test_full_ids_from_the_dag_only_for_the_logged_in_user_who_triggered_it(sqlite_home):
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(10)])
    assert main(["run", "police.death"]) == 0
    cases = [[None, "scheduled", True, "stop payments"], [None, "asset_triggered", True, "stop payments"],
             ["dag_test", "manual", True, "stop payments"], ["alice", "backfill", True, "stop payments"],
             ["alice", "manual", True, None], ["alice", "manual", True, "  "],
             [None, "scheduled", False, None],                     # the monthly run: masked files only
             ["alice", "manual", True, "核查停发 stop payments"]]
    out = subprocess.run([sys.executable, "-c", AUDIT_TASK_PROBE, str(REPO / "dags"), json.dumps(cases)],
                         env=airflow_env(sqlite_home), capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    *refused, monthly, alice = json.loads(out.stdout.strip().splitlines()[-1])
    assert [r["failed"].split(" (")[1].split(")")[0] for r in refused[:4]] == [
        "a run of type scheduled has no person behind it", "a run of type asset_triggered has no person behind it",
        "`airflow dags test` is a command, not a login", "a run of type backfill has no person behind it"]
    assert all("needs its purpose" in r["failed"] for r in refused[4:])
    assert not any(r["exports"] for r in refused)                 # red before anything was written
    assert "full_ids" not in monthly["files"]

    full = Path(alice["files"]["full_ids"])
    assert full == sqlite_home.exports / "deaths" / "2026-11" / "alice" / "deaths-2026-11-full-ids.xlsx"
    assert full.stat().st_mode & 0o777 == 0o600
    [entry] = _export_entries(sqlite_home)
    assert entry["who"] == "alice (airflow login)" and entry["purpose"] == "核查停发 stop payments"
    assert entry["sha256"] == hashlib.sha256(full.read_bytes()).hexdigest() and entry["status"] == "kept on hub"
    assert str(entry["business_date"]) == "2026-11-01" and entry["records"] > 0 and entry["accepted"] > 0
    assert not [p for p in sqlite_home.outbound("audit").rglob("*") if "full-ids" in p.name]


def test_an_outbound_dag_sends_the_month_and_a_rerun_sends_nothing_new(sqlite_home):
    """`airflow dags test` of police.insured_status on the 1st covers the month before: one sealed file in the
    police's outbound/, one exchange-log entry; the same run again sends nothing (same content)."""
    from tests.jinbao.outbound.store_cases import contributions_for_november
    from jinbao.keys import init_keys

    init_keys(sqlite_home.home)
    assert main(["db", "upgrade"]) == 0
    contributions_for_november(sqlite_home)
    migrated(sqlite_home)
    run = airflow(sqlite_home, "dags", "test", "police.insured_status", "2026-12-01")
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "sent police.insured_status_20261130_000001.csv to police" in log
    sent = sorted(p.name for p in sqlite_home.outbound("police").glob("police.insured_status_*"))
    assert sent == ["police.insured_status_20261130_000001.csv.p7m", "police.insured_status_20261130_000001.manifest.json",
                    "police.insured_status_20261130_000001.manifest.json.sig"]
    again = airflow(sqlite_home, "dags", "test", "police.insured_status", "2026-12-01")
    assert again.returncode == 0 and "with the same content: nothing sent" in again.stdout + again.stderr
    with engine(sqlite_home.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from exchange_log where direction = 'out'")).scalar() == 1
    # after the agreement's end the task is skipped, and says why
    late = airflow(sqlite_home, "dags", "test", "police.insured_status", "2028-02-01")
    log = late.stdout + late.stderr
    assert "business date 2028-01-31 is outside it, so nothing is sent" in log and "skipped" in log.lower()
