"""The shipped airflow.cfg for real: a login on every request, and the hub's roles (jinbao/access.yaml)
enforced by Airflow's FAB auth manager, asked through the REST API of a real `airflow api-server`.

The deployment's own steps, in its order (docs/access.md): `airflow db migrate`, `jinbao access sync`,
the first admin by `airflow users create`, the DAGs serialized (`airflow dags reserialize`, which
writes each DAG's access_control into the roles as the DAG processor does), the API server; the
other users are made by that admin through FAB's users API.  Tokens come from POST /auth/token.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dev.airflow_up import DEV_AUTH, environment
from dev.polling import poll
from jinbao.access import roles
from tests.airflow_env import REPO
from tests.dags.processes import free_port, start, stop_group

BIN = Path(sys.executable).parent
FEED = "police.death"
REPORT = "audit.death_mismatch"
RELEASE = "jinbao.release"
PASSWORD = "a long passphrase 7!"
#: user -> role; Admin and Viewer are Airflow's own, the others the declared ones
USERS = {"eng": "Engineer", "aud": "Auditor", "view": "Viewer"}


def _run(env, *args: str) -> str:
    done = subprocess.run(list(args), env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


class Shipped:
    """An API server with airflow.cfg as shipped (FAB auth manager), users of every role, their tokens."""

    def __init__(self, home: Path):
        port = free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
        self.env = environment(home, port=port, base=clean, dev_auth=False)
        assert not set(DEV_AUTH) & set(self.env)
        airflow = str(BIN / "airflow")
        _run(self.env, airflow, "db", "migrate")
        self.synced = _run(self.env, str(BIN / "jinbao"), "access", "sync")
        _run(self.env, airflow, "users", "create", "--username", "admin", "--password", PASSWORD, "--role", "Admin",
             "--email", "admin@example.org", "--firstname", "Hub", "--lastname", "Admin")
        _run(self.env, airflow, "dags", "reserialize")
        self.console = home / "api-server.log"
        self.proc = start([airflow, "api-server"], self.env, self.console, REPO)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

        def alive():
            assert self.proc.poll() is None, "api-server exited:\n" + self.console.read_text()[-4000:]
        up = poll(time.monotonic() + 90, lambda: self.http.get("/api/v2/version").status_code == 200, alive)
        assert up, "api-server did not answer:\n" + self.console.read_text()[-4000:]
        self.headers = {"admin": self.login("admin")}
        for user, role in USERS.items():
            made = self.http.post("/auth/fab/v1/users", headers=self.headers["admin"], json={
                "username": user, "password": PASSWORD, "email": f"{user}@example.org", "first_name": user,
                "last_name": role, "roles": [{"name": role}]})
            assert made.status_code == 200, made.text
            self.headers[user] = self.login(user)

    def login(self, user: str) -> dict[str, str]:
        r = self.http.post("/auth/token", json={"username": user, "password": PASSWORD})
        assert r.status_code in (200, 201), r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def get(self, user: str, path: str) -> httpx.Response:
        return self.http.get(path, headers=self.headers[user])

    def trigger(self, user: str, dag: str, conf: dict | None = None) -> httpx.Response:
        return self.http.post(f"/api/v2/dags/{dag}/dagRuns", headers=self.headers[user],
                              json={"logical_date": None, "conf": conf or {}})

    def stop(self):
        self.http.close()
        stop_group(self.proc)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    af = Shipped(tmp_path_factory.mktemp("shipped-airflow"))
    try:
        yield af
    finally:
        af.stop()


def test_every_request_needs_a_login(shipped):
    for path in ("/api/v2/dags", f"/api/v2/dags/{FEED}/dagRuns", "/api/v2/connections", "/api/v2/variables"):
        assert shipped.http.get(path).status_code == 401, path
    assert shipped.http.post(f"/api/v2/dags/{FEED}/dagRuns", json={"logical_date": None}).status_code == 401
    # a token not signed with the deployment's secret is refused too (Airflow answers 403 to a bad token)
    assert shipped.http.get("/api/v2/dags", headers={"Authorization": "Bearer forged"}).status_code == 403
    page = shipped.http.get("/auth/login/", follow_redirects=True)     # the UI's own login form (FAB)
    assert page.status_code == 200 and 'name="password"' in page.text, page.text[:500]
    wrong = shipped.http.post("/auth/token", json={"username": "admin", "password": "admin"})
    assert wrong.status_code == 401, wrong.text
    assert "Engineer" in shipped.synced and "Auditor" in shipped.synced


def test_an_auditor_runs_the_death_report_and_sees_nothing_else(shipped):
    assert shipped.trigger("aud", FEED).status_code == 403
    assert shipped.trigger("aud", RELEASE, {"batch_id": 1}).status_code == 403
    report = shipped.trigger("aud", REPORT)
    assert report.status_code == 200, report.text
    assert report.json()["triggering_user_name"] == "aud"       # who asked for the report, for its export
    runs = shipped.get("aud", f"/api/v2/dags/{REPORT}/dagRuns")
    assert runs.status_code == 200 and runs.json()["total_entries"] >= 1
    listed = shipped.get("aud", "/api/v2/dags?limit=100").json()
    assert [d["dag_id"] for d in listed["dags"]] == [REPORT]
    assert shipped.get("aud", f"/api/v2/dags/{FEED}").status_code == 403
    assert shipped.get("aud", f"/api/v2/dags/{FEED}/dagRuns").status_code == 403
    assert shipped.http.patch(f"/api/v2/dags/{FEED}", headers=shipped.headers["aud"],
                              json={"is_paused": False}).status_code == 403


def test_a_viewer_sees_runs_but_cannot_trigger_release_or_answer(shipped):
    made = shipped.trigger("eng", FEED)                  # a run for the viewer to look at
    assert made.status_code == 200, made.text
    run_id = made.json()["dag_run_id"]
    runs = shipped.get("view", f"/api/v2/dags/{FEED}/dagRuns")
    assert runs.status_code == 200 and run_id in [r["dag_run_id"] for r in runs.json()["dag_runs"]]
    assert shipped.trigger("view", RELEASE, {"batch_id": 1}).status_code == 403
    assert shipped.trigger("view", FEED).status_code == 403
    assert shipped.trigger("view", REPORT).status_code == 403
    # the held batch's Required Action (dags/review.py): the viewer is refused before anything is looked up;
    # the engineer passes the check and is told there is no such question in this run
    answer = f"/api/v2/dags/{FEED}/dagRuns/{run_id}/taskInstances/review/0/hitlDetails"
    body = {"chosen_options": ["Release"], "params_input": {"reason": ""}}
    assert shipped.http.patch(answer, headers=shipped.headers["view"], json=body).status_code == 403
    assert shipped.http.patch(answer, headers=shipped.headers["eng"], json=body).status_code == 404
    for secret in ("/api/v2/connections", "/api/v2/variables"):
        assert shipped.get("view", secret).status_code == 403


def test_an_engineer_operates_feeds_and_release_but_no_secrets_nor_the_report(shipped):
    feed = shipped.trigger("eng", FEED)
    assert feed.status_code == 200, feed.text
    assert shipped.trigger("eng", RELEASE, {"batch_id": 1}).status_code == 200
    assert shipped.trigger("eng", REPORT).status_code == 403        # the report is the auditors'
    assert shipped.get("eng", f"/api/v2/dags/{REPORT}/dagRuns").status_code == 200   # ... read, not run
    cleared = shipped.http.post(f"/api/v2/dags/{FEED}/clearTaskInstances", headers=shipped.headers["eng"],
                                json={"dry_run": True, "dag_run_id": feed.json()["dag_run_id"]})
    assert cleared.status_code == 200, cleared.text
    for secret in ("/api/v2/connections", "/api/v2/variables", "/api/v2/config", "/auth/fab/v1/users"):
        assert shipped.get("eng", secret).status_code == 403, secret
    created = shipped.http.post("/api/v2/variables", headers=shipped.headers["eng"], json={"key": "k", "value": "v"})
    assert created.status_code == 403


def test_only_an_admin_reads_connections_and_variables(shipped):
    made = shipped.http.post("/api/v2/connections", headers=shipped.headers["admin"],
                             json={"connection_id": "police_sftp", "conn_type": "sftp", "host": "127.0.0.1"})
    assert made.status_code == 201, made.text
    assert shipped.get("admin", "/api/v2/connections/police_sftp").status_code == 200
    assert shipped.get("admin", "/api/v2/variables").status_code == 200
    for user in USERS:
        assert shipped.get(user, "/api/v2/connections/police_sftp").status_code == 403, user


def test_the_roles_in_airflow_are_the_declared_ones(shipped):
    """`jinbao access sync` again: nothing to change, and a permission granted by hand is revoked."""
    _run(shipped.env, str(BIN / "airflow"), "roles", "add-perms", "Auditor", "-r", "Connections", "-a", "can_read")
    again = _run(shipped.env, str(BIN / "jinbao"), "access", "sync")
    assert "revoked can_read on Connections" in again and "Engineer" in again
    listed = _run(shipped.env, str(BIN / "airflow"), "roles", "list", "-p", "-o", "plain")
    auditor = [line for line in listed.splitlines() if line.split() and line.split()[0] == "Auditor"]
    assert auditor and "Connections" not in " ".join(auditor)
    assert set(roles()) == {"Engineer", "Auditor"}
