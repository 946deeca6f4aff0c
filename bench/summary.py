"""The one machine-readable line each benchmark prints last, which `make bench` (bench/run_all.py) gathers."""
from __future__ import annotations

import json

PREFIX = "BENCH-JSON "


def emit(bench: str, ok: bool, **figures) -> None:
    print(PREFIX + json.dumps({"bench": bench, "ok": bool(ok), **figures}, default=str), flush=True)


def parse(text: str) -> dict | None:
    """The last summary line in a benchmark's output, or None."""
    lines = [ln for ln in text.splitlines() if ln.startswith(PREFIX)]
    return json.loads(lines[-1][len(PREFIX):]) if lines else None
