"""Every inbound feed triggered at once in a real Airflow (`make airflow`: scheduler, API server,
LocalExecutor) gives the store `jinbao run all` gives from the same drops.

The issue this guards: all feeds triggered together judged the finance payments seconds before the
day's enrolments were published, and every payment was rejected (SUBSIDY_NO_LINE).  Now
finance.subsidy_payment's `wait_for_after` holds it until hrss.resident_enrollment is finished, as
`jinbao run all` orders them; and each publish records its asset events (the Assets view's graph).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.declarations import InboundFeed, load_feeds
from jinbao.schemas.store_tables import metadata
from jinbao.settings import load_settings
from jinbao.store.database import connect
from tests.airflow_env import REPO
from tests.dags.processes import free_port
from tests.dags.test_airflow_live import Airflow

DAY = "2026-12-02"
#: 12:00 China Standard Time the day after DAY: each run takes what came up to then, and watches the
#: deliveries due that day (docs/expected.md), DAY's for the daily feeds.
LOGICAL = "2026-12-03T04:00:00Z"
#: Feeds whose delivery due on 3 Dec is DAY's: their runs must be green.
ON_TIME = {"police.identity", "police.death", "civil_affairs.cremation", "health.death_certificate",
           "hrss.resident_enrollment"}
#: Columns of a batch that must agree (ids and times differ with the order feeds ran in).
BATCH = ("feed", "file_name", "status", "reason_code", "received", "accepted", "rejected", "published")


#: Tables whose rows record the order feeds were published in (each change of a register field or a life
#: status is a row): feeds running side by side in Airflow publish in another order than `run all`.
ORDER_OF_ARRIVAL = ("register_history", "life_status_history")


def _register(conn) -> list[tuple]:
    """The register as it ends, without when or by which batch each value came."""
    table = metadata.tables["register"]
    cols = [c for c in table.c if not any(k in c.name for k in ("batch", "_at", "time", "seq", "line"))]
    return sorted(tuple(str(v) for v in r) for r in conn.execute(sa.select(*cols)))


def _store(url: str) -> tuple[dict, list]:
    with connect(url).connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                  for t in metadata.sorted_tables if t.name not in ORDER_OF_ARRIVAL}
        # the exchange log less the reminders (催报) Airflow's watches sent for deliveries due on 3 Dec that
        # this test does not deliver: `run all` watches nothing
        counts["exchange_log"] = conn.execute(sa.text(
            "select count(*) from exchange_log where status <> 'reminder'")).scalar()
        counts["register content"] = _register(conn)
        batches = sorted(tuple(r) for r in conn.execute(sa.select(*(sa.column(c) for c in BATCH))
                                                        .select_from(sa.table("batch"))))
    return counts, batches


def _listening(pgid: int) -> set[tuple[str, str, int]]:
    """(process name, address, port) of every socket the launcher's processes listen on."""
    found = set()
    for p in psutil.process_iter(["name"]):
        try:
            if os.getpgid(p.pid) != pgid:
                continue
            found |= {(p.info["name"], c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
        except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
            continue
    return found


def test_every_inbound_feed_triggered_at_once_gives_the_store_run_all_gives(sqlite_home, tmp_path):
    home = sqlite_home.home
    # every feed dated DAY: the monthly and quarterly ones too, though the agreements owe them on other days
    assert main(["generate", "--date", DAY, "--people", "300", "--every-feed"]) == 0
    cli_home = tmp_path / "cli-home"
    shutil.copytree(home, cli_home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
    ran = subprocess.run([str(Path(sys.executable).parent / "jinbao"), "run", "all"],
                         env={**env, "JINBAO_HOME": str(cli_home)}, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    cli_counts, cli_batches = _store(f"sqlite:///{cli_home / 'store.db'}")
    payments = [b for b in cli_batches if b[0] == "finance.subsidy_payment"]
    assert payments and payments[0][2] == "published"           # the CLI's order: enrolments first

    inbound = [n for n, s in load_feeds(load_settings()).items() if isinstance(s, InboundFeed)]
    started = time.monotonic()
    af = Airflow(home, free_port(), tmp_path / "airflow-console.log")
    try:
        af.wait("every feed in the API", started + 150,
                lambda: all(af.http.get(f"/api/v2/dags/{d}").status_code == 200 for d in inbound))
        for dag in reversed(inbound):    # all of them, as fast as the API takes them, the dependent ones first
            run = af.http.post(f"/api/v2/dags/{dag}/dagRuns", json={"dag_run_id": "all-1", "logical_date": LOGICAL})
            assert run.status_code == 200, run.text
        for dag in inbound:
            assert af.http.patch(f"/api/v2/dags/{dag}", json={"is_paused": False}).status_code == 200

        def states():
            got = {d: af.http.get(f"/api/v2/dags/{d}/dagRuns/all-1").json()["state"] for d in inbound}
            return got if all(s in ("success", "failed") for s in got.values()) else None
        finished = af.wait("every run finished", started + 420, states)
        assert {d for d, s in finished.items() if s == "success"} >= ON_TIME, f"{finished}" + af.tail()
        # a run is red only because the delivery it watches is late (a monthly one owed on 3 Dec for
        # November): its watch is the one red task, the note says late, and what did come was taken
        for dag in (d for d, s in finished.items() if s == "failed"):
            tis = af.http.get(f"/api/v2/dags/{dag}/dagRuns/all-1/taskInstances").json()["task_instances"]
            assert {t["task_id"] for t in tis if t["state"] == "failed"} == {"expected_delivery"}, (dag, tis)
            note = af.http.get(f"/api/v2/dags/{dag}/dagRuns/all-1").json()["note"] or ""
            shown = dag.replace("_", "\\_")                       # the note is Markdown: names are escaped
            assert note.startswith(f"**late**: {shown} for business date "), (dag, note)
            assert "hub failure" not in note and "published" in note, (dag, note)
        # the API server, and nothing else, listens, on this machine only (no log server on 0.0.0.0)
        listening = _listening(af.proc.pid)
        assert listening and {ip for _, ip, _ in listening} == {"127.0.0.1"}, listening

        tis = af.http.get("/api/v2/dags/finance.subsidy_payment/dagRuns/all-1/taskInstances").json()["task_instances"]
        waited = [t for t in tis if t["task_id"] == "wait_for_after"]
        assert [t["state"] for t in waited] == ["success"]

        assets = {a["name"]: a for a in af.http.get("/api/v2/assets", params={"limit": 100}).json()["assets"]}
        events = af.http.get("/api/v2/assets/events", params={"limit": 100}).json()["asset_events"]
    finally:
        af.stop()
    counts, batches = _store(sqlite_home.store_url)
    assert batches == cli_batches
    assert counts == cli_counts
    assert [b[2] for b in batches if b[0] == "finance.subsidy_payment"] == ["published"]
    # the Assets view: every store table written today is an asset with the publish tasks that wrote it
    written = {f"jinbao.store.{t}" for t in ("death_record", "person", "resident_enrollment", "subsidy_payment",
                                            "register", "pension_payment", "contribution", "employer_status",
                                            "assistance")}
    assert written <= set(assets)
    assert {(e["extra"] or {}).get("feed") for e in events if e.get("extra")} >= {"finance.subsidy_payment",
                                                                                 "hrss.resident_enrollment"}
    assert time.monotonic() - started < 480
