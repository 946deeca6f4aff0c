"""`make bench`: every benchmark in bench/, one after another, each in its own process.

Each prints its own throughput and peak memory (see BENCHMARKS.md for the
figures and the commands that produced them); a benchmark whose correctness
check fails exits non-zero, and so does this.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: (script, arguments): sizes that finish in minutes on a 2-core machine.
BENCHES = (
    ("translate_codes.py", ["10000000"]),
    ("gate_vs_ge.py", ["1000000"]),
    ("gate_throughput.py", ["200000", "2000000"]),
    ("register_reconcile.py", []),          # PostgreSQL on 127.0.0.1:5432; 1M into 10M, about 2 min
    ("death_match.py", []),                 # 1M deaths against a 10M-person roll, about 40 s
    ("publish_paths.py", []),               # PostgreSQL; 1M police.death records, four ways, about 7 min
)


def main() -> int:
    failed = []
    for script, args in BENCHES:
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
