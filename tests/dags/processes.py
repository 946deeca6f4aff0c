"""Real Airflow processes for the live tests: free ports, and each process in its own group, so a stop
ends it and whatever it started (task runners, gunicorn workers), and only those."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signal_group(pgid: int, sig) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_group(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM to the process's group, SIGKILL to what is left after `grace` seconds."""
    if proc.poll() is None or group_alive(proc.pid):
        signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while group_alive(proc.pid) and time.monotonic() < deadline:
            proc.poll()
            time.sleep(0.5)
        signal_group(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def start(args: list[str], env: dict[str, str], console: Path, cwd: Path) -> subprocess.Popen:
    """`args` in a new session (its own process group), output to `console`."""
    with open(console, "wb") as out:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
