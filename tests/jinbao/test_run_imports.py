"""A small daily delivery is quick (issue 26): `jinbao run` loads only what running a feed needs.

Great Expectations (seconds to import) builds quality pages, Airflow runs the DAGs, Alembic migrates
a store that is behind and rich draws bars on a terminal: none of them is needed to run a delivery
into a store already at the newest migration, and each would cost a small run a large share of its
time (bench/small_delivery.py).
"""
from __future__ import annotations

import os
import subprocess
import sys

from jinbao.store.database import upgrade
from tests.deliveries import death_row, write_delivery

NOT_NEEDED = ("great_expectations", "airflow", "alembic", "mako", "rich")
PROBE = f"""
import sys
from jinbao.cli import main
code = main(["run", "police.death"])
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({NOT_NEEDED!r})))
sys.exit(code)
"""


def test_a_small_run_loads_neither_great_expectations_nor_airflow_nor_alembic(home):
    write_delivery(home.inbound("police"), "police.death", [death_row(i) for i in range(20)])
    upgrade(home.store_url)                          # the store at the newest migration, as a running hub's is
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "published: received 20" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
