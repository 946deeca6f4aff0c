"""`make airflow` for real: the launcher starts the scheduler, DAG processor, triggerer and API
server (as `airflow standalone` would, without log servers), a delivery is dropped, `police.death`
is triggered through the REST API and the tasks run on the LocalExecutor, each talking to the API
server with the scheduler's JWT.

`airflow dags test` (test_dag_factory.py) runs the tasks in-process: it never needs `airflow`
on PATH nor a JWT secret shared by the components, so it cannot see either going wrong.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
import sqlalchemy as sa

from dev.airflow_up import DEV_AUTH, DEV_WARNING, environment
from dev.polling import poll
from jinbao.store.database import connect
from tests.airflow_env import REPO
from tests.dags.hitl import answer_open
from tests.dags.processes import free_port as _free_port, start, stop_group
from tests.deliveries import death_row, write_delivery

DAG = "police.death"
DELIVERY = "police.death_20261122_000001.csv"
AUTH_FAILURES = ("Invalid auth token", "Signature verification failed")


def test_secrets_are_made_once_private_and_handed_to_every_component(tmp_path):
    env = environment(tmp_path, port=18123, base={"PATH": "/usr/bin"})
    again = environment(tmp_path, base={})
    for name, var in (("jwt_secret", "AIRFLOW__API_AUTH__JWT_SECRET"), ("api_secret_key", "AIRFLOW__API__SECRET_KEY")):
        path = tmp_path / "airflow" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert env[var] == again[var] == path.read_text().strip() and len(env[var]) >= 64
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] != env["AIRFLOW__API__SECRET_KEY"]
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert (Path(env["PATH"].split(os.pathsep)[0]) / "airflow").exists()
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:18123/execution/"
    assert env["AIRFLOW_CONFIG"] == str(REPO / "airflow.cfg") and env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    # the launcher's dev setup (no login, everyone admin) only where asked for; the shipped cfg's auth otherwise
    assert DEV_AUTH.items() <= env.items()
    assert not set(DEV_AUTH) & set(environment(tmp_path, base={}, dev_auth=False))
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/airflow/jwt_secret"], cwd=REPO)
    assert ignored.returncode == 0                       # the default JINBAO_HOME's secret is never committed


class Airflow:
    """`python -m dev.airflow_up` (what `make airflow` runs) in its own process group."""

    def __init__(self, home: Path, port: int, console: Path):
        self.url = f"http://localhost:{port}"
        self.console = console
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
        env.update(JINBAO_HOME=str(home), AIRFLOW_HOME=str(home / "airflow"),
                   # only the run the test triggers: no scheduled run may take the delivery first
                   AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
                   # log servers off the default ports, so a `make airflow` running alongside is no bother
                   AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(_free_port()),
                   AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(_free_port()))
        self.proc = start([sys.executable, "-m", "dev.airflow_up", "--port", str(port)], env, console, REPO)
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def tail(self) -> str:
        return "\n--- airflow console (tail) ---\n" + self.output()[-6000:]

    def wait(self, what: str, until: float, check):
        def alive():
            assert self.proc.poll() is None, f"airflow exited ({self.proc.returncode}) waiting for {what}" + self.tail()
        return poll(until, check, alive) or pytest.fail(f"no {what} in time" + self.tail())

    def parked(self, question: dict) -> bool:
        """The scheduler has taken the executor event of the run that parked `question`'s task (see
        tests/dags/hitl.py answer_open): its "TaskInstance Finished" line, state awaiting_input, this try."""
        ti = question["task_instance"]
        line = re.compile(rf"TaskInstance Finished: dag_id={re.escape(ti['dag_id'])}, task_id={ti['task_id']}, "
                          rf"run_id={re.escape(ti['dag_run_id'])}, map_index={ti['map_index']},.*"
                          rf"state=awaiting_input,.*try_number={ti['try_number']},")
        return bool(line.search(self.output()))

    def stop(self):
        self.http.close()
        stop_group(self.proc)


def test_make_airflow_runs_a_feed_triggered_through_the_rest_api(sqlite_home, tmp_path):
    home = sqlite_home.home
    rows = [death_row(i) for i in range(20)]
    rows[3]["XB"] = "5"                                   # one record rejected (UNMAPPED_CODE)
    write_delivery(sqlite_home.inbound("police"), DAG, rows)
    started = time.monotonic()
    af = Airflow(home, _free_port(), tmp_path / "airflow-console.log")
    try:
        # the DAG processor has parsed the feeds and the API server answers (no login: all admins)
        af.wait(f"{DAG} in the API", started + 120,
                lambda: af.http.get(f"/api/v2/dags/{DAG}").status_code == 200)
        token = af.http.get("/auth/token").json()["access_token"]
        claims = jwt.decode(token, home.joinpath("airflow", "jwt_secret").read_text().strip(),
                            algorithms=["HS512"], audience="apache-airflow")
        assert claims["role"] == "ADMIN"                 # the API server signs with the secret in JINBAO_HOME
        assert DEV_WARNING in af.output()                # the launcher says everyone is admin

        run = af.http.post(f"/api/v2/dags/{DAG}/dagRuns",
                           json={"dag_run_id": "live-1", "logical_date": "2026-11-23T04:00:00Z"})
        assert run.status_code == 200, run.text
        unpaused = af.http.patch(f"/api/v2/dags/{DAG}", json={"is_paused": False})
        assert unpaused.status_code == 200 and unpaused.json()["is_paused"] is False, unpaused.text

        def finished():
            state = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/live-1").json()["state"]
            return state if state in ("success", "failed") else None
        state = af.wait("finished dag run", started + 240, finished)

        tis = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/live-1/taskInstances").json()["task_instances"]
        logs = {}
        for ti in tis:
            r = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/live-1/taskInstances/{ti['task_id']}/logs/"
                            f"{max(ti['try_number'], 1)}", params={"map_index": ti["map_index"]},
                            headers={"Accept": "application/json"})
            assert r.status_code == 200, r.text
            logs[ti["task_id"]] = "\n".join(str(e.get("event", "")) for e in r.json()["content"])
        summary = {t["task_id"]: t["state"] for t in tis}
        assert state == "success", f"{summary}\n" + "\n".join(f"== {k}\n{v[-3000:]}" for k, v in logs.items()) \
            + af.tail()
        assert summary == {**dict.fromkeys(["expected_delivery", "delivered_on_time", "receive", "judge", "publish",
                                            "finish"], "success"), "review": "skipped"}

        # the store holds what the feed published
        with connect(sqlite_home.store_url).connect() as conn:
            assert conn.execute(sa.text("select count(*) from death_record")).scalar() == 19
            assert conn.execute(sa.text("select status, received, accepted, rejected, published from batch")
                                ).one() == ("published", 20, 19, 1, 19)

        # the run's note, written by the scheduler (plugins/jinbao_plugin.py) from the ledger, tells its story
        note = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/live-1").json()["note"] or ""
        receipt = f"/jinbao/receipts/{DAG}/1/police.death_20261122_000001.receipt.json"
        assert "(batch 1) · published · 20 received, 19 accepted, 1 rejected, 19 published" in note, note
        assert f"[receipt]({receipt})" in note
        # ... and the link opens the receipt, served by the API server to a signed-in user
        opened = af.http.get(receipt, headers={"Authorization": f"Bearer {token}"})
        assert opened.status_code == 200 and opened.headers["content-type"] == "application/json", opened.text
        assert opened.json()["status"] == "published" and opened.json()["published"] == 19
        assert af.http.get(receipt, headers={"Authorization": "Bearer forged"}).status_code in (401, 403)
        assert af.http.get("/jinbao/reports/../airflow/jwt_secret").status_code == 404
        plugins = {p["name"]: p for p in af.http.get("/api/v2/plugins").json()["plugins"]}
        assert [v["href"] for v in plugins["jinbao"]["external_views"]] == ["/jinbao/"]   # in the UI's menu

        # a run that finds nothing, for a day whose delivery never came: receive is skipped, not green, the
        # watch is red (the delivery due on 22 Nov, business date 21 Nov, is late), and the note says both
        run = af.http.post(f"/api/v2/dags/{DAG}/dagRuns",
                           json={"dag_run_id": "live-2", "logical_date": "2026-11-22T04:00:00Z"})
        assert run.status_code == 200, run.text
        af.wait("second dag run", started + 270, lambda: af.http.get(
            f"/api/v2/dags/{DAG}/dagRuns/live-2").json()["state"] in ("success", "failed"))
        second = {t["task_id"]: t["state"] for t in af.http.get(
            f"/api/v2/dags/{DAG}/dagRuns/live-2/taskInstances").json()["task_instances"]}
        assert (second["expected_delivery"], second["receive"]) == ("failed", "skipped"), second
        assert af.http.get(f"/api/v2/dags/{DAG}/dagRuns/live-2").json()["state"] == "failed"
        note = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/live-2").json()["note"] or ""
        assert note.startswith(f"**late**: {DAG} for business date 2026-11-21 did not arrive"), note
        assert note.endswith("nothing delivered") and "hub failure" not in note, note
        reminders = [p.name for p in sqlite_home.outbound("police").glob("*.reminder.txt")]
        assert reminders == ["police.death_20261121.reminder.txt"], reminders

        # each task's log (read back through the API, written under JINBAO_HOME) tells its part
        assert f"took {DELIVERY} as batch 1" in logs["receive"]
        assert "20 records received, 19 accepted, 1 rejected" in logs["judge"]
        assert "19 records into death_record" in logs["publish"]
        assert f"receipt for {DELIVERY} (published) sent to police" in logs["finish"]
        # every task a worker ran (not delivered_on_time, an empty operator, nor the skipped review) logged
        # under JINBAO_HOME
        ran = {t["task_id"] for t in tis if t["state"] == "success" and t["operator"] != "EmptyOperator"}
        assert ran and all(str(home / "airflow-logs") in logs[t] for t in ran), {t: logs[t][-300:] for t in ran}
        everything = "\n".join(logs.values()) + af.output()
        assert not [f for f in AUTH_FAILURES if f in everything]
        assert "FileNotFoundError" not in af.output()
    finally:
        af.stop()
    assert time.monotonic() - started < 330


def _held_run(sqlite_home, tmp_path, run_id: str) -> tuple[Airflow, float]:
    """Airflow up, a police.death delivery 30 % defective (UNMAPPED_CODE: held) and a run of it triggered."""
    rows = [death_row(i) for i in range(10)]
    for r in rows[:3]:
        r["ZXYY"] = "7"
    write_delivery(sqlite_home.inbound("police"), DAG, rows)
    started = time.monotonic()
    af = Airflow(sqlite_home.home, _free_port(), tmp_path / "airflow-console.log")
    af.wait(f"{DAG} in the API", started + 120, lambda: af.http.get(f"/api/v2/dags/{DAG}").status_code == 200)
    run = af.http.post(f"/api/v2/dags/{DAG}/dagRuns",
                       json={"dag_run_id": run_id, "logical_date": "2026-11-23T04:00:00Z"})   # 22 Nov's delivery is due
    assert run.status_code == 200, run.text
    assert af.http.patch(f"/api/v2/dags/{DAG}", json={"is_paused": False}).status_code == 200
    return af, started


def _ended(af: Airflow, run_id: str, until: float) -> tuple[str, dict]:
    def states() -> dict:
        tis = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        return {t["task_id"]: t["state"] for t in tis}

    def finished():
        state = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None
    state = poll(until, finished, lambda: None) or pytest.fail(
        f"run {run_id} not finished: {states()}" + _unfinished_logs(af, run_id) + af.tail())
    return state, states()


def _unfinished_logs(af: Airflow, run_id: str) -> str:
    """Every try's log of the tasks neither green nor skipped: why a run did not end, as the UI shows it."""
    out = []
    for ti in af.http.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances").json()["task_instances"]:
        if ti["state"] in ("success", "skipped"):
            continue
        for attempt in range(1, ti["try_number"] + 1):
            r = af.http.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{attempt}",
                            params={"map_index": ti["map_index"]}, headers={"Accept": "application/json"})
            text = "\n".join(str(e.get("event", "")) for e in r.json().get("content", [])) if r.is_success else r.text
            out.append(f"\n--- {ti['task_id']} try {attempt} ({ti['state']}) ---\n{text[-3000:]}")
    return "".join(out)


def _answers(cfg) -> list[tuple]:
    with connect(cfg.store_url).connect() as conn:
        return conn.execute(sa.text("select who, status from exchange_log where direction = 'review' order by seq")
                            ).all()


def test_a_held_batch_is_a_required_action_answered_through_the_rest_api(sqlite_home, tmp_path):
    """More than 20 % defective: the run parks `review`; a person releases it through /api/v2's HITL
    endpoints; the run ends green, the store has the batch published and the exchange log names them."""
    af, started = _held_run(sqlite_home, tmp_path, "held-1")
    try:
        qa = answer_open(af.http, DAG, "Release", timeout=max(10.0, started + 240 - time.monotonic()),
                         parked=af.parked)
        q = qa["question"]
        assert q["task_instance"]["task_id"] == "review" and DELIVERY in q["subject"]
        assert "| 10 | 7 | 3 |" in q["body"] and "UNMAPPED_CODE" in q["body"]
        who = qa["answer"]["responded_by"]["name"]
        state, summary = _ended(af, "held-1", started + 300)
        assert state == "success" and summary["review"] == "success", str(summary) + af.tail()
        with connect(sqlite_home.store_url).connect() as conn:
            assert conn.execute(sa.text("select status, published from batch")).one() == ("published", 7)
            assert conn.execute(sa.text("select count(*) from death_record")).scalar() == 7
        assert _answers(sqlite_home) == [(who, "release")]
        # published by the answer: the assets publish would have updated are updated by review (the report and
        # the outbound feeds that read them run on it)
        events = af.http.get("/api/v2/assets/events", params={"limit": 100}).json()["asset_events"]
        released = [e for e in events if e.get("source_task_id") == "review"]
        assert released and all((e["extra"] or {}).get("published") == 7 for e in released), events
    finally:
        af.stop()


def test_a_rejudge_that_holds_again_is_red_and_clearing_review_asks_again(sqlite_home, tmp_path):
    af, started = _held_run(sqlite_home, tmp_path, "held-2")
    try:
        first = answer_open(af.http, DAG, "Re-judge", timeout=max(10.0, started + 240 - time.monotonic()),
                            parked=af.parked)
        state, summary = _ended(af, "held-2", started + 300)
        assert state == "failed" and summary["review"] == "failed", str(summary) + af.tail()   # still held
        cleared = af.http.post(f"/api/v2/dags/{DAG}/clearTaskInstances", json={
            "dry_run": False, "dag_run_id": "held-2", "task_ids": ["review"], "only_failed": True})
        assert cleared.status_code == 200, cleared.text
        second = answer_open(af.http, DAG, "Release", timeout=max(10.0, started + 360 - time.monotonic()),
                             parked=af.parked)
        assert "| 10 | 7 | 3 |" in second["question"]["body"]          # asked again, with the counts now
        state, summary = _ended(af, "held-2", started + 420)
        assert state == "success" and summary["review"] == "success", str(summary) + af.tail()
        who = first["answer"]["responded_by"]["name"]
        assert _answers(sqlite_home) == [(who, "rejudge"), (who, "release")]
    finally:
        af.stop()
