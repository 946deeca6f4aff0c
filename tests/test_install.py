"""`pip install .` outside the checkout: the installed package finds its data and runs the demo.

The wheel is built from the checkout and installed with the pinned
constraints into a fresh virtual environment; the demo then runs from an
unrelated directory, so nothing can be found through the checkout
(migrations, partner schemas, mappings, reference lists and feed
declarations all come through importlib.resources).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_wheel_installs_into_a_fresh_venv_and_runs_the_demo_elsewhere(tmp_path):
    wheels = tmp_path / "wheels"
    had_build = (REPO / "build").exists()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, REPO])
    if not had_build:                          # setuptools builds in the checkout; leave it as it was
        shutil.rmtree(REPO / "build", ignore_errors=True)
    (wheel,) = wheels.glob("jinbao_exchange-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    # --no-compile: no byte-code for every module of every dependency (Airflow's thousands) up front, about
    # 20 s; Python compiles what the demo imports as it imports it.  pip's compiling fails no install anyway.
    _run([venv / "bin" / "pip", "install", "-q", "--no-compile", "-c", REPO / "constraints.txt", wheel])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JINBAO_", "PYTHON"))}
    env["JINBAO_HOME"] = str(elsewhere / "home")
    out = _run([venv / "bin" / "jinbao", "demo", "--people", "2000", "--date", "2026-11-22"], cwd=elsewhere,
               env=env).stdout
    assert "police.death" in out and "refused" not in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] and "." in line.split()[0]
            and len(line.split()) == 7]
    assert len(rows) == 10 and all(r[1] == "published" and int(r[2]) > 0 for r in rows), out   # hrss.* too
    found = _run([venv / "bin" / "python", "-c", "import jinbao, jinbao.settings as s; "
                  "print(jinbao.__file__); print(s.shipped_feeds_dir())"], cwd=elsewhere, env=env).stdout
    assert str(REPO) not in found and str(venv) in found
