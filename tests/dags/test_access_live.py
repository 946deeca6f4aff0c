"""The shipped airflow.cfg for real: a login on every request, and the hub's roles (jinbao/access.yaml)
enforced by Airflow's FAB auth manager, asked through the REST API of a real `airflow api-server`
(tests/dags/shipped.py: made in the deployment's own steps, docs/access.md).  The same in a browser,
through the UI's login form: tests/dags/test_access_ui.py.  The hub's files under /jinbao/ follow the
same roles, DAG by DAG (plugins/jinbao_plugin.py asks the auth manager).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from jinbao.access import roles
from tests.dags.shipped import BIN, FEED, RELEASE, REPORT, USERS, run, shipped_airflow

#: The hub's served files, by whose DAG they are (jinbao/report_links.py DAG_FOLDERS).
RECEIPT = f"receipts/{FEED}/1/{FEED}_20261122_000001.receipt.json"
QUALITY = f"reports/quality/{FEED}/1/index.html"
DEATHS = "reports/deaths/2026-10/deaths-2026-10.html"
STRAY = "reports/stray.html"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    with shipped_airflow(tmp_path_factory.mktemp("shipped-airflow")) as af:
        yield af


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
    run(shipped.env, str(BIN / "airflow"), "roles", "add-perms", "Auditor", "-r", "Connections", "-a", "can_read")
    again = run(shipped.env, str(BIN / "jinbao"), "access", "sync")
    assert "revoked can_read on Connections" in again and "Engineer" in again
    listed = run(shipped.env, str(BIN / "airflow"), "roles", "list", "-p", "-o", "plain")
    auditor = [line for line in listed.splitlines() if line.split() and line.split()[0] == "Auditor"]
    assert auditor and "Connections" not in " ".join(auditor)
    assert set(roles()) == {"Engineer", "Auditor"}


@pytest.fixture(scope="module")
def served(shipped):
    """The files /jinbao/ serves, written into the server's JINBAO_HOME as the hub writes them (readable)."""
    home = Path(shipped.env["JINBAO_HOME"])
    for rel in (RECEIPT, QUALITY, DEATHS, STRAY):
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(f"<p>{rel}</p>", encoding="utf-8")
        (home / rel).chmod(0o644)
    return shipped


def opens(shipped, user: str) -> dict[str, int]:
    return {rel: shipped.get(user, f"/jinbao/{rel}").status_code for rel in (RECEIPT, QUALITY, DEATHS, STRAY)}


def listed(shipped, user: str, path: str) -> list[str]:
    page = shipped.get(user, path)
    assert page.status_code == 200, page.text
    return re.findall(r'href="([^"]+)"', page.text)


def test_the_hubs_files_follow_the_dags_each_role_reads(served):
    assert served.http.get("/jinbao/").status_code == 401
    assert served.http.get(f"/jinbao/{DEATHS}").status_code == 401
    # the auditor: the death reports, and nothing of the partners' (404: as if they were not there)
    assert opens(served, "aud") == {RECEIPT: 404, QUALITY: 404, DEATHS: 200, STRAY: 404}
    assert served.get("aud", f"/jinbao/{DEATHS}").text == f"<p>{DEATHS}</p>"
    assert listed(served, "aud", "/jinbao/") == ["/jinbao/reports/"]
    assert listed(served, "aud", "/jinbao/reports/") == ["/jinbao/reports/deaths/"]
    for folder in ("receipts/", f"receipts/{FEED}/", "reports/quality/"):
        assert served.get("aud", f"/jinbao/{folder}").status_code == 404, folder
    # the engineer reads every feed's DAG and the report's; the viewer every DAG; the admin everything
    for user in ("eng", "view", "admin"):
        assert opens(served, user) == {RECEIPT: 200, QUALITY: 200, DEATHS: 200, STRAY: 404}, user
        assert listed(served, user, "/jinbao/") == ["/jinbao/receipts/", "/jinbao/reports/"], user
        assert listed(served, user, "/jinbao/reports/") == ["/jinbao/reports/deaths/", "/jinbao/reports/quality/"]
        assert listed(served, user, "/jinbao/receipts/") == [f"/jinbao/receipts/{FEED}/"], user
