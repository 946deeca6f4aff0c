"""`make airflow`: the Airflow UI, scheduler, DAG processor and triggerer, as `airflow standalone`
starts them but without the log servers.

Every Airflow component of one run must see the same environment:

- the virtualenv's `bin/` first on PATH: `airflow standalone` starts its components as
  plain `airflow ...` sub-processes (without it they die with FileNotFoundError and
  standalone waits for them for ever);
- AIRFLOW_HOME, AIRFLOW_CONFIG (the repo's airflow.cfg), JINBAO_HOME and JINBAO_REPO;
- the dev auth manager: Airflow's simple auth manager with every user an admin, instead of the
  shipped FAB auth manager with its logins and roles (airflow.cfg, docs/access.md).  Anyone who
  reaches the port can read the connections and trigger any DAG, so `main` says so when it starts;
  `environment(..., dev_auth=False)` keeps the shipped configuration (tests/dags/test_access_live.py);
- one JWT secret (`[api_auth] jwt_secret`), one API secret key (`[api] secret_key`) and one
  Fernet key (`[core] fernet_key`, so connections are stored encrypted).
  Left unset, Airflow makes a random one in every process, so the API server refuses
  the tokens the scheduler gives the tasks ("Invalid auth token: Signature verification
  failed") and every task fails before its first line.  They are generated once into
  `$JINBAO_HOME/airflow/` (mode 0600, never committed: JINBAO_HOME is git-ignored) and
  handed over as AIRFLOW__API_AUTH__JWT_SECRET / AIRFLOW__API__SECRET_KEY.

The components are started here rather than by `airflow standalone`, which cannot pass them
`--skip-serve-logs`: Airflow 3.3.2's log server (scheduler and triggerer) binds every interface,
with no setting for it, and on one machine the API server reads the task logs from the log folder
anyway.  So nothing listens beyond 127.0.0.1 (`[api] host` in airflow.cfg) unless configured.

Run from the checkout: `python -m dev.airflow_up [--port 8080]` (`airflow db migrate`, then the
four components; Ctrl-C or SIGTERM stops them all, and one that dies stops the others).
tests/dags/test_airflow_live.py starts it the same way.

The repo's plugins/ (airflow.cfg `plugins_folder`, found through JINBAO_REPO) gives every
inbound run its note and serves JINBAO_HOME's receipts and reports read-only at /jinbao/.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parent.parent
#: The virtualenv's scripts: `python -m dev.airflow_up` runs with .venv/bin/python.
BIN = Path(sys.executable).parent
DEFAULT_PORT = 8080
#: What `airflow standalone` runs, each as `airflow <args>`, minus the log servers (above).
COMPONENTS = (("scheduler", "--skip-serve-logs"), ("dag-processor",), ("api-server",),
              ("triggerer", "--skip-serve-logs"))
#: The dev setup's auth: no login, everyone is admin.  Never the shipped one (airflow.cfg).
DEV_AUTH = {"AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
                                           "SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
DEV_WARNING = ("DEV SETUP: no login, everyone who reaches the port is an admin (Airflow's simple auth manager, "
               "all admins), who can read the connections and trigger any DAG.  Never expose it; the shipped "
               "airflow.cfg requires a login with the hub's roles (docs/access.md).")


def secret(path: Path, make=lambda: secrets.token_urlsafe(64)) -> str:
    """The secret stored in `path`, made (random, 0600) the first time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if value:
            return value
        raise SystemExit(f"{path} is empty: delete it and start again") from None
    with os.fdopen(fd, "w") as f:
        f.write(make() + "\n")
    return path.read_text().strip()


def environment(home: Path, *, store_url: str | None = None, port: int = DEFAULT_PORT,
                airflow_home: Path | None = None, base: dict[str, str] | None = None,
                dev_auth: bool = True) -> dict[str, str]:
    """The environment every Airflow process of a run under `home` gets; with `dev_auth` (the
    launcher's and the tests' setup) no login and everyone an admin, else airflow.cfg's auth manager."""
    env = dict(os.environ if base is None else base)
    home = Path(home).resolve()
    secrets_dir = home / "airflow"
    env.update(
        PATH=os.pathsep.join([str(BIN), *[p for p in env.get("PATH", "").split(os.pathsep) if p]]),
        JINBAO_HOME=str(home), JINBAO_REPO=str(REPO),
        AIRFLOW_HOME=str(airflow_home or secrets_dir), AIRFLOW_CONFIG=str(REPO / "airflow.cfg"),
        AIRFLOW__API_AUTH__JWT_SECRET=secret(secrets_dir / "jwt_secret"),
        AIRFLOW__API__SECRET_KEY=secret(secrets_dir / "api_secret_key"),
        # connections (partner SFTP keys' paths, hosts) are stored encrypted in the metadata DB
        AIRFLOW__CORE__FERNET_KEY=secret(secrets_dir / "fernet_key", lambda: Fernet.generate_key().decode()),
        AIRFLOW__API__PORT=str(port),
        # the tasks reach the API server here (default: port 8080 whatever [api] port says)
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{port}/execution/",
    )
    if dev_auth:
        env.update(DEV_AUTH)
    if store_url:
        env["JINBAO_STORE_URL"] = store_url
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dev.airflow_up", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help="API server / UI port (default 8080)")
    args = ap.parse_args(argv)

    from jinbao.settings import load_settings
    cfg = load_settings()
    env = environment(cfg.home, port=args.port,
                      airflow_home=Path(os.environ["AIRFLOW_HOME"]) if os.environ.get("AIRFLOW_HOME") else None)
    airflow = str(BIN / "airflow")
    print(f"Airflow for JINBAO_HOME={env['JINBAO_HOME']}: metadata and logs there, secrets in "
          f"{cfg.home / 'airflow'}; UI at http://127.0.0.1:{args.port}", flush=True)
    print(DEV_WARNING, flush=True)
    migrated = subprocess.run([airflow, "db", "migrate"], env=env)
    if migrated.returncode:
        return migrated.returncode
    return supervise([[airflow, *args] for args in COMPONENTS], env)


def supervise(commands: list[list[str]], env: dict[str, str]) -> int:
    """Run every command until a signal comes or one of them ends; then stop the rest.  The exit
    status is the first one that ended on its own (0 after Ctrl-C or SIGTERM)."""
    procs = [subprocess.Popen(cmd, env=env) for cmd in commands]
    stopping = []

    def stop(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ended = None
    while not stopping and ended is None:
        ended = next((p for p in procs if p.poll() is not None), None)
        time.sleep(0.5)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 30
    for p in procs:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if ended is not None and not stopping:
        print(f"{' '.join(ended.args[1:])} exited ({ended.returncode}); the other components were stopped",
              file=sys.stderr, flush=True)
        return ended.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
