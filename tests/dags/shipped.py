"""A real `airflow api-server` with the shipped airflow.cfg (FAB auth manager, a login on every request)
and a user of every role, for the tests that check who may see what: through the REST API
(tests/dags/test_access_live.py) and through the UI in a browser (tests/dags/test_access_ui.py).

The deployment's own steps, in its order (docs/access.md): `airflow db migrate`, `jinbao access sync`,
the first admin by `airflow users create`, the DAGs serialized (`airflow dags reserialize`, which
writes each DAG's access_control into the roles as the DAG processor does), the API server; the
other users are made by that admin through FAB's users API.  Tokens come from POST /auth/token.
No scheduler: a triggered run stays queued, which is enough to see who may trigger what (a test that
needs one run starts `airflow scheduler` with `env` itself, as test_access_ui.py does).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from dev.airflow_up import DEV_AUTH, environment
from dev.polling import poll
from tests.airflow_env import REPO
from tests.dags.processes import free_port, start, stop_group

BIN = Path(sys.executable).parent
FEED = "police.death"
REPORT = "audit.death_mismatch"
RELEASE = "jinbao.release"
PASSWORD = "a long passphrase 7!"
#: user -> role; Admin and Viewer are Airflow's own, the others the declared ones
USERS = {"eng": "Engineer", "aud": "Auditor", "view": "Viewer"}


def run(env, *args: str) -> str:
    done = subprocess.run(list(args), env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


class Shipped:
    """An API server with airflow.cfg as shipped (FAB auth manager), users of every role, their tokens."""

    def __init__(self, home: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
        self.env = environment(home, port=port, base=clean, dev_auth=False)
        assert not set(DEV_AUTH) & set(self.env)
        airflow = str(BIN / "airflow")
        run(self.env, airflow, "db", "migrate")
        self.synced = run(self.env, str(BIN / "jinbao"), "access", "sync")
        run(self.env, airflow, "users", "create", "--username", "admin", "--password", PASSWORD, "--role", "Admin",
            "--email", "admin@example.org", "--firstname", "Hub", "--lastname", "Admin")
        run(self.env, airflow, "dags", "reserialize")
        self.console = home / "api-server.log"
        self.proc = start([airflow, "api-server"], self.env, self.console, REPO)
        self.http = httpx.Client(base_url=self.url, timeout=30)
        try:
            up = poll(time.monotonic() + 90, lambda: self.http.get("/api/v2/version").status_code == 200, self.alive)
            assert up, "api-server did not answer:\n" + self.tail()
            self.headers = {"admin": self.login("admin")}
            for user, role in USERS.items():
                made = self.http.post("/auth/fab/v1/users", headers=self.headers["admin"], json={
                    "username": user, "password": PASSWORD, "email": f"{user}@example.org", "first_name": user,
                    "last_name": role, "roles": [{"name": role}]})
                assert made.status_code == 200, made.text
                self.headers[user] = self.login(user)
        except BaseException:
            self.stop()
            raise

    def alive(self) -> None:
        assert self.proc.poll() is None, "api-server exited:\n" + self.tail()

    def tail(self, n: int = 4000) -> str:
        return self.console.read_text(errors="replace")[-n:]

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


@contextlib.contextmanager
def shipped_airflow(home: Path) -> Iterator[Shipped]:
    """The API server for one test module (its fixture), stopped with everything it started."""
    af = Shipped(home)
    try:
        yield af
    finally:
        af.stop()
