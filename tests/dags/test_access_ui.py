"""Who may see what, in the browser: a person signs in through the UI's login form of an `airflow
api-server` run with the shipped airflow.cfg (tests/dags/shipped.py, the deployment's steps of
docs/access.md), and the UI shows their role's part of the hub.

- an anonymous visit lands on the login form (FAB's /auth/login/); a wrong password stays there;
- an auditor's DAG list is the death report alone: no other DAG's name anywhere in the page; under
  /jinbao/ their session opens the death reports and nothing of the partners' (no receipts, no
  quality pages: not found);
- an engineer's DAG list is every DAG, the Browse menu links the hub's reports, and there is no Admin
  menu: the Connections page, opened by its address, is refused and shows none of them;
- an admin's Connections page lists the connection (the same page, so the refusal above is the role's);
- the REST API, called with the signed-in auditor's own session (no token of the test's), triggers
  the death report with full IDs under the auditor's login and refuses them a feed; a scheduler then
  runs it (the one test that starts one, about 15 s): the workbook is in the auditor's own folder and
  the exchange log names them, "aud (airflow login)".

Debian's headless Chromium, driven through the DevTools protocol (dev/screenshots.py's Browser), with
every request off 127.0.0.1 sent to a dead proxy.  Airflow 3's UI is a React app: each check waits for
the text or element it reads (Airflow's own aria-labels and the rows' DAG ids), never a fixed time.
One API server and one browser serve the whole module; each test signs in anew (cookies cleared).
Chromium missing: installed with apt-get when running as root, else skip (fail under CI=true).
"""
from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest

from dev.polling import poll
from dev.screenshots import Browser, wait_for
from tests.airflow_env import REPO
from tests.conftest import unavailable
from tests.dags.processes import start, stop_group
from tests.dags.shipped import BIN, FEED, PASSWORD, REPORT, shipped_airflow
from tests.dags.shipped import run as run_cli

CONNECTION = "police_sftp"
#: The count above the DAG list ("1 Dag", "18 Dags"), on a line of its own.
COUNT = re.compile(r"^(\d+) Dags?$", re.M)


@pytest.fixture(scope="module")
def chromium():
    # another test module's helper (apt-get install when missing); importing it at the top would make
    # this module skip with that one when great_expectations is missing
    from tests.quality.test_data_docs import _ensure_chromium
    return _ensure_chromium()


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    with shipped_airflow(tmp_path_factory.mktemp("shipped-ui")) as af:
        made = af.http.post("/api/v2/connections", headers=af.headers["admin"],
                            json={"connection_id": CONNECTION, "conn_type": "sftp", "host": "127.0.0.1"})
        assert made.status_code == 201, made.text
        yield af


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    try:
        import websockets  # noqa: F401 - Browser talks DevTools over a websocket
    except ImportError as exc:
        unavailable("the DevTools client (websockets)", exc)
    where = tmp_path_factory.mktemp("chromium")
    b = Browser(where / "profile", where / "chromium.log")
    try:
        b.connect()
        yield b
    finally:
        b.stop()


def until(browser: Browser, what: str, check, timeout: float = 60):
    """The first truthy value of `check` (a JS expression, or a function); on a timeout the error shows
    the page."""
    probe = (lambda: browser.js(check)) if isinstance(check, str) else check
    try:
        return wait_for(what, timeout, probe, interval=0.3)
    except RuntimeError as exc:
        raise AssertionError(f"{exc}\nat {browser.js('location.href')}: {browser.text()[:1500]!r}") from None


def has(browser: Browser, selector: str) -> bool:
    return browser.js(f"!!document.querySelector({json.dumps(selector)})")


def on_login_form(browser: Browser) -> bool:
    return until(browser, "login form", "location.pathname == '/auth/login/' && "
                 "!!document.querySelector('form[name=login] #username') && document.readyState == 'complete'")


def sign_in(browser: Browser, shipped, user: str, password: str = PASSWORD, path: str = "/dags") -> None:
    """Signed out (no cookies), open `path`, and sign in through the form the UI sends the visitor to."""
    browser.send("Network.clearBrowserCookies")
    browser.send("Page.navigate", url=shipped.url + path)
    on_login_form(browser)
    for field, text in (("username", user), ("password", password)):
        browser.js(f"document.querySelector('form[name=login] #{field}').focus()")
        browser.send("Input.insertText", text=text)                   # typed, as a person does
    browser.click("document.querySelector('form[name=login] [type=submit]')")


def signed_in(browser: Browser, shipped, user: str, path: str = "/dags") -> None:
    sign_in(browser, shipped, user, path=path)
    # the navigation's "Dags" shows once the UI has the user's menus (/ui/auth/menus), "Admin" with them or never
    until(browser, f"navigation for {user} on {path}", f"location.pathname == {json.dumps(path)} && "
          "!!document.querySelector('[aria-label=Dags]')")


def dag_list(browser: Browser) -> tuple[int, str]:
    """The DAG list's count once as many rows are on the page (its first page holds 50, more than the
    hub's DAGs), and the page's whole HTML."""
    def shown():
        count = COUNT.search(browser.text())
        return count and browser.js("document.querySelectorAll('tbody tr').length") == int(count[1]) \
            and int(count[1])
    return until(browser, "DAG list", shown), browser.js("document.documentElement.outerHTML")


def all_dags(shipped) -> set[str]:
    listed = shipped.get("admin", "/api/v2/dags?limit=1000").json()
    assert listed["total_entries"] == len(listed["dags"])
    return {d["dag_id"] for d in listed["dags"]}


def test_an_anonymous_visit_lands_on_the_login_form(browser, shipped):
    browser.send("Network.clearBrowserCookies")
    browser.send("Page.navigate", url=shipped.url + "/")
    on_login_form(browser)
    assert "Sign In" in browser.text()
    page = browser.js("document.documentElement.outerHTML")
    assert not [dag for dag in all_dags(shipped) if dag in page]
    assert browser.js("document.querySelector('form[name=login] #password').type") == "password"

    sign_in(browser, shipped, "aud", password="not the password")
    until(browser, "refusal", "document.body.innerText.includes('Invalid login')")
    assert browser.js("location.pathname") == "/auth/login/"
    assert "_token" not in {c["name"] for c in browser.send("Network.getCookies", urls=[shipped.url])["cookies"]}


def test_an_auditor_sees_the_death_report_alone(browser, shipped):
    signed_in(browser, shipped, "aud")
    count, page = dag_list(browser)
    assert count == 1 and REPORT in browser.text()
    others = all_dags(shipped) - {REPORT}
    assert FEED in others and len(others) > 10
    assert not [dag for dag in others if dag in page], "the auditor's page names another DAG"
    assert not has(browser, "button[aria-label=Admin]")
    # the same session under /jinbao/ (no sign-in of its own: FAB allows five a 40 s, the module needs them)
    reads_the_death_reports_alone(browser, shipped)


def reads_the_death_reports_alone(browser, shipped):
    """The signed-in auditor's /jinbao/: the death reports, nothing of the partners'."""
    home = Path(shipped.env["JINBAO_HOME"])
    receipt, quality = f"receipts/{FEED}/1/{FEED}_20261122_000001.receipt.json", f"reports/quality/{FEED}/1/index.html"
    report = "reports/deaths/2026-09/deaths-2026-09.html"
    for rel in (receipt, quality, report):
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(f"<p>{rel}</p>", encoding="utf-8")
        (home / rel).chmod(0o644)
    # from the UI's page (the served pages' own policy lets them fetch nothing): the session's cookie alone
    status = {rel: browser.js(f"fetch('/jinbao/{rel}', {{credentials: 'same-origin'}}).then(r => r.status)")
              for rel in (receipt, quality, report, "receipts/")}
    assert status == {receipt: 404, quality: 404, report: 200, "receipts/": 404}
    links = "[...document.querySelectorAll('li a')].map(a => a.getAttribute('href'))"
    browser.send("Page.navigate", url=shipped.url + "/jinbao/")
    assert until(browser, "the index", f"document.querySelector('h1') && {links}") == ["/jinbao/reports/"]
    browser.click("document.querySelector('li a')")
    until(browser, "reports/", "location.pathname == '/jinbao/reports/' && !!document.querySelector('li a')")
    assert browser.js(links) == ["/jinbao/reports/deaths/"]


def test_an_engineer_sees_every_dag_but_no_connections(browser, shipped):
    signed_in(browser, shipped, "eng")
    count, page = dag_list(browser)
    dags = all_dags(shipped)
    assert count == len(dags) and all(dag in page for dag in dags)
    assert not has(browser, "button[aria-label=Admin]"), "no Admin menu"
    browser.click("document.querySelector('button[aria-label=Browse]')")
    until(browser, "link to the hub's reports in the Browse menu",
          "[...document.querySelectorAll('[role=menuitem]')].some(e => e.getAttribute('href') == '/jinbao/')")

    browser.send("Page.navigate", url=shipped.url + "/connections")
    until(browser, "refusal", "document.body.innerText.includes('403 Forbidden')")
    assert CONNECTION not in browser.js("document.documentElement.outerHTML")


def test_an_admin_sees_the_connection(browser, shipped):
    signed_in(browser, shipped, "admin", path="/connections")
    until(browser, "connection listed", f"document.body.innerText.includes({json.dumps(CONNECTION)})")
    assert has(browser, "button[aria-label=Admin]")
    assert "403 Forbidden" not in browser.text()


def test_the_signed_in_auditor_exports_full_ids_under_their_login(browser, shipped, tmp_path):
    """The REST API with the auditor's UI session (no token of the test's): the report triggered with
    full IDs and unpaused by them, a feed refused; then a scheduler runs it, and the workbook is in
    the auditor's own folder and in the exchange log under their login (docs/audit.md)."""
    signed_in(browser, shipped, "aud")
    conf = {"full_ids": True, "purpose": "停发核查 stop payments"}

    def call(method: str, path: str, body: dict) -> tuple[int, dict]:
        # the page's own fetch: the UI session's cookie is the only credential sent
        status, text = browser.js(
            f"fetch({json.dumps(path)}, {{method: {json.dumps(method)}, credentials: 'same-origin', headers: "
            f"{{'Content-Type': 'application/json'}}, body: {json.dumps(json.dumps(body))}}})"
            ".then(async r => [r.status, await r.text()])")
        return status, json.loads(text)
    assert call("POST", f"/api/v2/dags/{FEED}/dagRuns", {"logical_date": None})[0] == 403
    status, run = call("POST", f"/api/v2/dags/{REPORT}/dagRuns", {"logical_date": None, "conf": conf})
    assert status == 200, run
    assert run["triggering_user_name"] == "aud" and run["conf"] == conf
    status, dag = call("PATCH", f"/api/v2/dags/{REPORT}", {"is_paused": False})
    assert status == 200 and dag["is_paused"] is False, dag

    quoted = urllib.parse.quote(run["dag_run_id"], safe="")
    scheduler = start([str(BIN / "airflow"), "scheduler", "--skip-serve-logs"], shipped.env,
                      tmp_path / "scheduler.log", REPO)
    try:
        def ended():
            if scheduler.poll() is not None:
                raise AssertionError("the scheduler exited:\n" + (tmp_path / "scheduler.log").read_text()[-3000:])
            state = shipped.get("admin", f"/api/v2/dags/{REPORT}/dagRuns/{quoted}").json()["state"]
            return state if state in ("success", "failed") else None
        state = poll(time.monotonic() + 240, ended, shipped.alive)
    finally:
        stop_group(scheduler)
    assert state == "success", (tmp_path / "scheduler.log").read_text()[-3000:]
    home = Path(shipped.env["JINBAO_HOME"])
    exported = sorted(home.glob("exports/deaths/*/aud/deaths-*-full-ids.xlsx"))
    assert len(exported) == 1 and exported[0].stat().st_mode & 0o777 == 0o600, exported
    logged = run_cli(shipped.env, str(BIN / "jinbao"), "log", "list", "--direction", "export")
    assert exported[0].name in logged and "aud (airflow login)" in logged and "停发核查" in logged
