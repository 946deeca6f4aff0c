"""Environment for running the real `airflow` CLI against a test's JINBAO_HOME."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def airflow_env(cfg) -> dict[str, str]:
    env = dict(os.environ)
    env.update(JINBAO_HOME=str(cfg.home), JINBAO_STORE_URL=cfg.store_url, JINBAO_REPO=str(REPO),
               AIRFLOW_HOME=str(cfg.home / "airflow"), AIRFLOW_CONFIG=str(REPO / "airflow.cfg"),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def airflow(cfg, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "airflow"), *args], env=airflow_env(cfg), capture_output=True,
                          text=True, timeout=timeout)
