"""Environment for running the real `airflow` CLI against a test's JINBAO_HOME.

The same environment `make airflow` gives its components (dev/airflow_up.py): .venv/bin on
PATH, the repo's airflow.cfg, AIRFLOW_HOME under JINBAO_HOME and one JWT secret there.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dev.airflow_up import environment

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Where a home's metadata DB is: airflow.cfg's `[database] sql_alchemy_conn`, sqlite:///${JINBAO_HOME}/airflow.db.
METADATA_DB = "airflow.db"
#: The home `airflow db migrate` runs in once per test session (see migrated); removed when the session ends.
_SESSION = tempfile.TemporaryDirectory(prefix="jinbao-airflow-db-")


def airflow_env(cfg) -> dict[str, str]:
    return environment(cfg.home, store_url=cfg.store_url)


def airflow(cfg, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "airflow"), *args], env=airflow_env(cfg), capture_output=True,
                          text=True, timeout=timeout)


@functools.cache
def _migrated_once() -> Path:
    """A real `airflow db migrate` into a fresh home of the session's own; the SQLite file it made."""
    home = Path(_SESSION.name) / "home"
    home.mkdir()
    env = environment(home, base={k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))})
    done = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home / METADATA_DB


def migrated(cfg) -> None:
    """Airflow's metadata DB in `cfg`'s home as `airflow db migrate` leaves it, for `airflow dags test`.

    Why a copy: every such test migrated a fresh SQLite DB of its own (3 to 8 s each, a dozen and a half
    of them); the session migrates one, for real, and each test gets a copy of the file.  A migrated DB
    holds nothing of its home (no path, secret or Fernet key: the schema, alembic_version, the default
    pool and the log templates), so the copy is what migrating there would make;
    tests/dags/test_metadata_db.py holds that to Airflow's `db migrate` and `db check-migrations`."""
    shutil.copyfile(_migrated_once(), Path(cfg.home) / METADATA_DB)
