"""The README's pictures: the Airflow UI with a held batch, and that batch's Data Docs page.

Run from the checkout: `.venv/bin/python -m dev.screenshots [--out docs/images]`.

On a private temporary JINBAO_HOME it starts Airflow as `make airflow` does (dev/airflow_up.py,
in its own process group, on a free port, the schedule off as in tests/dags/test_airflow_live.py),
drops a police.death delivery with more than 20 % defective records (so its batch is HELD),
triggers police.death through the REST API and waits for the held batch's Required Action (the
`review` task awaiting input; `finish`'s log says why it is held and how to answer), builds the batch's page with
`jinbao quality docs police.death --batch 1`, then photographs with headless Chromium, driven
through the DevTools protocol (the Airflow UI is a React app: each picture is taken once the
text it must show is on the page, not after a fixed wait):

- airflow-dag-list.png   the DAG list, one DAG per feed plus jinbao.release
- airflow-dag-docs.png   police.death's page with its "Dag Docs" open
- airflow-held-run.png   the run's grid and graph, `finish` named after its delivery file, its log saying held
- airflow-required-action.png  the held batch's Required Action (`review`): counts, reasons, Release/Refuse/Re-judge
- data-docs.png          the batch's quality results (file://, network off)
- airflow-run-note.png   the run after "Release" was answered through the REST API: green, with its note
- airflow-assets.png     the asset `jinbao.store.register`: the feeds that publish into it, the DAGs it starts

Chromium's requests outside localhost go to a dead proxy, so nothing is fetched from the network.
The titles and reasons are Chinese: without a CJK font (Debian's fonts-noto-cjk) Chromium draws boxes,
so the script refuses to start without one.
Everything started here (Airflow's process group, Chromium) is stopped before the script ends.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FEED = "police.death"
DEAD_PROXY = "127.0.0.1:9"            # nothing listens on the discard port: any fetch off localhost fails
WIDTH, HEIGHT = 1400, 900
#: The Airflow UI's localStorage settings (airflow/ui: dags_list_display, default_dag_view, log_wrap).
UI_SETTINGS = {"dags_list_display": "table", "default_dag_view": "grid", "log_wrap": True}

#: One defect per rule (tests/quality/test_data_docs.py's), 8 of 24 records: 33 % rejected > 20 %, held.
DEFECTS = [dict(XB="5"), dict(GMSFHM="110105194001011234"), dict(XM="寮犱笁"), dict(XM="王伟2"),
           dict(SWRQ="20261131"), dict(XM=""), dict(HJDZ_XZQH="999999"), dict(SWRQ="19300101")]
GOOD = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(f"[screenshots] {msg}", flush=True)


def wait_for(what: str, timeout: float, check, interval: float = 1.0, alive=None):
    """`check()`'s first truthy answer within `timeout` seconds (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            found = check()
        except Exception as exc:  # noqa: BLE001 - not up yet
            found, last = None, exc
        if found:
            return found
        time.sleep(interval)
    raise RuntimeError(f"no {what} within {timeout:.0f}s" + (f" (last error: {last!r})" if last else ""))


# ---------------------------------------------------------------------------------------------------
# Processes in their own group, stopped as a group


class Group:
    """A process started in its own session; `stop()` ends it and every child it made."""

    def __init__(self, cmd: list[str], *, env: dict[str, str], console: Path, cwd: Path = REPO):
        self.console = console
        with open(console, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.console.name}: exited ({self.proc.returncode})\n" + self.tail())

    def tail(self, n: int = 4000) -> str:
        try:
            return self.console.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def _alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _signal(self, sig) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 20) -> None:
        if self.proc.poll() is None or self._alive():
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self._alive() and time.monotonic() < deadline:
                self.proc.poll()
                time.sleep(0.3)
            self._signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------------------------------------------
# Airflow, as tests/dags/test_airflow_live.py starts it


class Airflow(Group):
    def __init__(self, home: Path, port: int, console: Path):
        self.url = f"http://localhost:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
        env.update(JINBAO_HOME=str(home), AIRFLOW_HOME=str(home / "airflow"),
                   # only the run triggered here: no scheduled run takes the delivery first
                   AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
                   # log servers off the default ports, so a `make airflow` running alongside is no bother
                   AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                   AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()))
        super().__init__([sys.executable, "-m", "dev.airflow_up", "--port", str(port)], env=env, console=console)

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, {"detail": exc.read().decode(errors="replace")}


def held_run(af: Airflow) -> str:
    """Trigger police.death, unpause it, wait for the run to end; its run id."""
    wait_for(f"{FEED} in the API", 180, lambda: af.api("GET", f"/api/v2/dags/{FEED}")[0] == 200,
             alive=af.check_alive)
    status, run = af.api("POST", f"/api/v2/dags/{FEED}/dagRuns", {"logical_date": "2026-11-23T04:00:00Z"})
    if status != 200:
        raise RuntimeError(f"trigger: {status} {run}")
    run_id = run["dag_run_id"]
    status, dag = af.api("PATCH", f"/api/v2/dags/{FEED}", {"is_paused": False})
    if status != 200 or dag.get("is_paused"):
        raise RuntimeError(f"unpause: {status} {dag}")
    log(f"triggered {FEED} run {run_id}; waiting for it to end")
    quoted = urllib.parse.quote(run_id, safe="")

    def asking():
        tis = af.api("GET", f"/api/v2/dags/{FEED}/dagRuns/{quoted}/taskInstances")[1]["task_instances"]
        if any(t["task_id"] == "review" and t["state"] == "awaiting_input" for t in tis):
            return "awaiting_input"
        state = af.api("GET", f"/api/v2/dags/{FEED}/dagRuns/{quoted}")[1]["state"]
        return state if state in ("success", "failed") else None
    state = wait_for("the held batch's Required Action", 300, asking, alive=af.check_alive)
    tis = af.api("GET", f"/api/v2/dags/{FEED}/dagRuns/{quoted}/taskInstances")[1]["task_instances"]
    summary = {(t["task_id"], t.get("rendered_map_index") or t["map_index"]): t["state"] for t in tis}
    log(f"run {run_id} {state}: {summary}")
    if state != "awaiting_input":
        raise RuntimeError(f"expected the held batch's review awaiting input, got {state}: {summary}")
    return run_id


# ---------------------------------------------------------------------------------------------------
# Headless Chromium through the DevTools protocol


class Browser(Group):
    def __init__(self, profile: Path, console: Path):
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        profile.mkdir(parents=True, exist_ok=True)
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--proxy-server={DEAD_PROXY}", "--lang=en-US",
               "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
               "about:blank"]
        super().__init__(cmd, env=dict(os.environ), console=console)
        self.profile = profile
        self.ws = None

    def connect(self) -> None:
        active = self.profile / "DevToolsActivePort"
        port = wait_for("Chromium's DevTools port", 60, lambda: active.read_text().split()[0],
                        interval=0.2, alive=self.check_alive)
        targets = wait_for("a page", 30, lambda: [t for t in json.load(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5)) if t["type"] == "page"],
            interval=0.2)
        from websockets.sync.client import connect
        self.ws = connect(targets[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30, legacy=True)
        self._id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                  mobile=False)
        self.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "light"}])
        # the UI shows times in the browser's time zone: the hub's (China Standard Time, as airflow.cfg)
        self.send("Emulation.setTimezoneOverride", timezoneId="Asia/Shanghai")
        # the UI's own settings, as a person would click them once: the DAG list as a table (all feeds on
        # one screen), the grid beside a run, long log lines wrapped (the release instruction in full)
        settings = json.dumps(UI_SETTINGS)
        self.send("Page.addScriptToEvaluateOnNewDocument", source=(
            f"try {{ for (const [k, v] of Object.entries({settings})) localStorage.setItem(k, JSON.stringify(v)); }}"
            " catch (e) {}"))

    def send(self, method: str, **params) -> dict:
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=120))
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str):
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def text(self) -> str:
        return self.js("document.body ? document.body.innerText : ''") or ""

    def goto(self, url: str, *, shows: list[str], timeout: float = 60) -> None:
        """Open `url` and wait until the page's text holds every string of `shows`, then let it settle."""
        self.send("Page.navigate", url=url)
        self.wait_text(shows, timeout, url)

    def wait_text(self, shows: list[str], timeout: float = 60, where: str = "") -> None:
        def ready():
            if self.js("document.readyState") != "complete":
                return False
            body = self.text()
            return all(s in body for s in shows)
        try:
            wait_for(f"{shows} on {where or 'the page'}", timeout, ready, interval=0.5)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\npage text: {self.text()[:1500]!r}") from None
        time.sleep(1.5)                    # charts and icons finish drawing

    def click(self, selector_js: str) -> None:
        """Click the element the JS expression `selector_js` yields (an error when there is none)."""
        if not self.js(f"(() => {{ const e = {selector_js}; if (!e) return false; e.click(); return true; }})()"):
            raise RuntimeError(f"nothing to click: {selector_js}")

    def shot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        log(f"took {path.name} ({path.stat().st_size // 1024} KB)")
        return path

    def stop(self, grace: float = 5) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001
                pass
        super().stop(grace)


#: JS: the "Dag Docs" dialog widened and made as tall as its text (its corner is a resize handle).
GROW_DOCS = """(() => {
  const d = [...document.querySelectorAll('[role=dialog]')].find(d => d.innerText.includes('held when'));
  const box = [...d.querySelectorAll('div')].find(e => getComputedStyle(e).resize === 'both');
  const head = d.querySelector('.chakra-dialog__header'), body = d.querySelector('.chakra-dialog__body');
  d.style.width = d.style.maxWidth = box.style.width = '960px';
  box.style.height = (head.offsetHeight + body.scrollHeight + 4) + 'px';
  return true;
})()"""
#: JS: every scrolled panel back to its top (the task log opens scrolled to its last line).
SCROLL_TOP = """[...document.querySelectorAll('div')].filter(e => e.scrollHeight > e.clientHeight
  && ['auto', 'scroll'].includes(getComputedStyle(e).overflowY)).forEach(e => { e.scrollTop = 0; }) || true"""


# ---------------------------------------------------------------------------------------------------


def delivery(home: Path) -> Path:
    """police.death's delivery in its partner's inbound/, 8 of 24 records defective (held)."""
    from jinbao.settings import load_settings
    from tests.deliveries import death_row, write_delivery
    rows = [death_row(i) for i in range(GOOD)] + [death_row(GOOD + k, **d) for k, d in enumerate(DEFECTS)]
    return write_delivery(load_settings({"JINBAO_HOME": str(home)}).inbound("police"), FEED, rows)


def data_docs(home: Path) -> Path:
    """`jinbao quality docs police.death --batch 1`: the held batch's page."""
    from jinbao.quality.data_docs import data_docs_path
    from jinbao.settings import load_settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
    env["JINBAO_HOME"] = str(home)
    done = subprocess.run([str(BIN / "jinbao"), "quality", "docs", FEED, "--batch", "1"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"jinbao quality docs: {done.returncode}\n{done.stdout}{done.stderr}")
    page = data_docs_path(load_settings({"JINBAO_HOME": str(home)}), FEED, 1)
    if not page.is_file():
        raise RuntimeError(f"no page at {page}: {done.stdout}")
    return page


def answer_release(af: Airflow, run_id: str) -> None:
    """Answer the held batch's Required Action "Release" through the REST API, as a person's script would,
    and wait for the run to end green (its note is then written)."""
    quoted = urllib.parse.quote(run_id, safe="")
    status, body = af.api("PATCH", f"/api/v2/dags/{FEED}/dagRuns/{quoted}/taskInstances/review/0/hitlDetails",
                          {"chosen_options": ["Release"], "params_input": {"reason": ""}})
    if status != 200:
        raise RuntimeError(f"answer: {status} {body}")

    def ended():
        state = af.api("GET", f"/api/v2/dags/{FEED}/dagRuns/{quoted}")[1]["state"]
        return state if state in ("success", "failed") else None
    state = wait_for("the released run's end", 300, ended, alive=af.check_alive)
    if state != "success":
        raise RuntimeError(f"the released run ended {state}")
    log(f"released batch 1 through the Required Action; run {run_id} {state}")


def asset_id(af: Airflow, name: str) -> int:
    status, body = af.api("GET", "/api/v2/assets?" + urllib.parse.urlencode({"name_pattern": name}))
    found = [a["id"] for a in body.get("assets", []) if a["name"] == name]
    if status != 200 or not found:
        raise RuntimeError(f"no asset {name}: {status} {body}")
    return found[0]


def take(browser: Browser, af: Airflow, run_id: str, page: Path, out: Path, delivery_file: str) -> list[Path]:
    made = []
    browser.goto(f"{af.url}/dags", shows=["公安死亡人员信息", "放行暂停批次"])
    made.append(browser.shot(out / "airflow-dag-list.png"))

    browser.goto(f"{af.url}/dags/{FEED}", shows=["公安死亡人员信息", "Overview"])
    browser.click("document.querySelector('button[aria-label=\"Dag Docs\"]')")
    browser.wait_text(["Dag Documentation", "held when", "Required Action"], where="the Dag Docs")
    browser.js(GROW_DOCS)
    time.sleep(1)
    made.append(browser.shot(out / "airflow-dag-docs.png"))

    # the mapped `finish`: the grid of the run beside it, its log saying the batch is held and how to answer
    run = urllib.parse.quote(run_id, safe="")
    browser.goto(f"{af.url}/dags/{FEED}/runs/{run}/tasks/finish/mapped/0",
                 shows=[f"finish [{delivery_file}]", "held"])
    browser.js(SCROLL_TOP)
    time.sleep(1)
    made.append(browser.shot(out / "airflow-held-run.png"))

    # the held batch's Required Action: counts, reasons, links, and the three answers
    browser.goto(f"{af.url}/dags/{FEED}/runs/{run}/tasks/review/mapped/0/required_actions",
                 shows=[delivery_file, "Release", "Refuse", "Re-judge"])
    made.append(browser.shot(out / "airflow-required-action.png"))

    browser.goto(page.as_uri(), shows=["Quality results", delivery_file])
    made.append(browser.shot(out / "data-docs.png"))

    # answered: the run ends green and its note tells what became of the delivery
    answer_release(af, run_id)
    browser.goto(f"{af.url}/dags/{FEED}/runs/{run}", shows=["published", "24 received"])
    made.append(browser.shot(out / "airflow-run-note.png"))

    # the hub's data-aware graph: every feed that writes the register, and what runs when it changes
    browser.goto(f"{af.url}/assets/{asset_id(af, 'jinbao.store.register')}", shows=["jinbao.store.register"])
    made.append(browser.shot(out / "airflow-assets.png"))
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dev.screenshots", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images", help="where the PNGs go (docs/images)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary JINBAO_HOME (Airflow's console, logs)")
    args = ap.parse_args(argv)
    out = args.out.resolve()

    if shutil.which("fc-list") and not subprocess.run(["fc-list", ":lang=zh"], capture_output=True,
                                                      text=True).stdout.strip():
        sys.exit("no Chinese font: the pictures would show boxes for the feeds' titles; "
                 "install one first (apt-get install fonts-noto-cjk)")
    # `kill` (SIGTERM) too goes through the finally below, which stops Airflow and Chromium
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="jinbao-screenshots-"))
    home = tmp / "home"
    home.mkdir()
    af = browser = None
    try:
        dropped = delivery(home)
        log(f"JINBAO_HOME={home}; dropped {dropped.name}")
        port = free_port()
        af = Airflow(home, port, tmp / "airflow-console.log")
        log(f"Airflow starting at {af.url} (console: {af.console})")
        run_id = held_run(af)
        page = data_docs(home)
        log(f"Data Docs: {page}")
        browser = Browser(tmp / "chromium-profile", tmp / "chromium-console.log")
        browser.connect()
        # into docs/ only once all four are taken: a failure leaves the committed pictures as they were
        shots = take(browser, af, run_id, page, tmp / "shots", dropped.name)
        out.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            path = out / shot.name
            shutil.copyfile(shot, path)
            print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    except Exception:
        if af is not None:
            print("--- airflow console (tail) ---\n" + af.tail(), file=sys.stderr)
        raise
    finally:
        if browser is not None:
            browser.stop()
        if af is not None:
            af.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
