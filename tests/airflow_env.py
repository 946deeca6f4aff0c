"""Environment for running the real `airflow` CLI against a test's JINBAO_HOME.

The same environment `make airflow` gives its components (dev/airflow_up.py): .venv/bin on
PATH, the repo's airflow.cfg, AIRFLOW_HOME under JINBAO_HOME and one JWT secret there.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dev.airflow_up import environment

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def airflow_env(cfg) -> dict[str, str]:
    return environment(cfg.home, store_url=cfg.store_url)


def airflow(cfg, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "airflow"), *args], env=airflow_env(cfg), capture_output=True,
                          text=True, timeout=timeout)
