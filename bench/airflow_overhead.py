"""What Airflow costs: one feed run under Airflow against the same delivery as a plain `jinbao run`,
and how long the DAG folder takes to parse with every feed declared.

    .venv/bin/python bench/airflow_overhead.py [--records 1000000] [--admin postgresql+psycopg://...]

Both runs take the same police.death delivery (bench/synthetic_police.py, 5 % defective) into a
fresh PostgreSQL store each, migrated before the clock starts.  `jinbao run` is timed from process
start to exit.  Airflow is what `make airflow` starts (dev/airflow_up.py: `airflow standalone`,
LocalExecutor, SQLite metadata), already up with the feed parsed; it is timed from the REST call
that triggers the run to the run's success seen through the API (polled every 0.2 s), so it
includes scheduling, a process per task and the API round trips, which are what Airflow adds.
Parse time is DagBag's own figure for dags/jinbao_feeds.py in a fresh process (what the DAG
processor measures), with the process's wall time around it.  Not a test: it prints figures.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from bench.summary import emit  # noqa: E402
from bench.synthetic_police import build  # noqa: E402
from jinbao.ledger import today  # noqa: E402
from jinbao.settings import TIMEZONE  # noqa: E402

BIN = Path(sys.executable).parent
FEED = "police.death"
#: The hub's day (China Standard Time) when the bench runs.  A daily run watches the deliveries due within
#: its day (jinbao/expected/watch.py): yesterday's, due at 02:00 today.  So the bench delivers yesterday's
#: file and triggers today's run, whose watch finds it in inbound/ and is green; a delivery of any other day
#: leaves yesterday's missing, and the run's first task red with a reminder sent.
TODAY = today()
BUSINESS_DAY = TODAY - dt.timedelta(days=1)
DAY = BUSINESS_DAY.isoformat()
FILE = f"police.death_{BUSINESS_DAY:%Y%m%d}_000001.csv"
#: The run's logical date: the start of today in China (16:00 UTC the day before), never in the future.
LOGICAL = dt.datetime.combine(TODAY, dt.time(), ZoneInfo(TIMEZONE)).astimezone(dt.timezone.utc)
PARSE = """
import json, sys, time
t = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": len(bag.dags), "errors": len(bag.import_errors),
                  "file_s": sum(s.duration.total_seconds() for s in bag.dagbag_stats),
                  "with_imports_s": time.perf_counter() - t}))
"""


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}


def _home(work: Path, name: str, store: str, delivery: Path) -> tuple[Path, dict[str, str]]:
    home = work / name
    inbound = home / "exchange_zone" / "police" / "inbound"
    inbound.mkdir(parents=True)
    shutil.copy(delivery, inbound / FILE)
    env = {**_clean_env(), "JINBAO_HOME": str(home), "JINBAO_STORE_URL": store}
    subprocess.run([str(BIN / "jinbao"), "db", "upgrade"], env=env, check=True, capture_output=True)
    return home, env


def plain(work: Path, store: str, delivery: Path) -> float:
    _, env = _home(work, "plain", store, delivery)
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "jinbao"), "run", FEED, "--date", DAY], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"jinbao run failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def under_airflow(work: Path, store: str, delivery: Path, port: int, records: int) -> dict:
    import httpx

    from dev.airflow_up import environment
    from dev.polling import poll

    home, _ = _home(work, "airflow", store, delivery)
    env = environment(home, store_url=store, port=port, base=_clean_env())
    env.update(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False")
    console = open(work / "airflow-console.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "dev.airflow_up", "--port", str(port)], cwd=REPO, env=env,
                            stdout=console, stderr=subprocess.STDOUT, start_new_session=True)
    http = httpx.Client(base_url=f"http://localhost:{port}", timeout=30)

    def until(what, check, seconds=240, every=1.0):
        def alive():
            if proc.poll() is not None:
                raise SystemExit(f"airflow exited waiting for {what}; see {work / 'airflow-console.log'}")
        found = poll(time.monotonic() + seconds, check, alive, every)
        if not found:
            raise SystemExit(f"no {what} in {seconds} s; see {work / 'airflow-console.log'}")
        return found

    try:
        until("the feed in the API", lambda: http.get(f"/api/v2/dags/{FEED}").status_code == 200)
        time.sleep(5)                                         # scheduler and triggerer settle
        runs = [one_run(http, until, "bench-1", LOGICAL)]
        # the day's next file (other people, same size), run on an Airflow that has already run tasks: the
        # first task after a scheduler start also pays for starting the executor's workers
        build(home / "exchange_zone" / "police" / "inbound" / FILE.replace("000001", "000002"),
              records, defect_share=0.05, seed=8)
        runs.append(one_run(http, until, "bench-2", LOGICAL + dt.timedelta(minutes=1)))
        return {**runs[0], "second": runs[1]}
    finally:
        http.close()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        console.close()


def one_run(http, until, run_id: str, logical: dt.datetime) -> dict:
    """Trigger `run_id` and wait for its end: its wall time, task durations, states and time split."""
    started = time.perf_counter()
    triggered = dt.datetime.now(dt.timezone.utc)
    run = http.post(f"/api/v2/dags/{FEED}/dagRuns", json={"dag_run_id": run_id, "logical_date": logical.isoformat()})
    assert run.status_code == 200, run.text
    http.patch(f"/api/v2/dags/{FEED}", json={"is_paused": False})

    def finished():
        state = http.get(f"/api/v2/dags/{FEED}/dagRuns/{run_id}").json()["state"]
        return state if state in ("success", "failed") else None
    state = until("a finished run", finished, seconds=1800, every=0.2)
    elapsed = time.perf_counter() - started
    tis = http.get(f"/api/v2/dags/{FEED}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    tasks = {t["task_id"]: round(t["duration"] or 0, 2) for t in tis}
    states = {t["task_id"]: t["state"] for t in tis}
    split = timeline(tis, triggered)
    if state != "success":                   # say why: the failed tasks' logs, not a bare "failed"
        for t in tis:
            if t["state"] in ("failed", "upstream_failed"):
                got = http.get(f"/api/v2/dags/{FEED}/dagRuns/{run_id}/taskInstances/{t['task_id']}/logs/"
                               f"{max(t['try_number'], 1)}", params={"map_index": t["map_index"]},
                               headers={"Accept": "application/json"})
                lines = [e.get("event", "") if isinstance(e, dict) else str(e)
                         for e in (got.json().get("content") or [])] if got.status_code == 200 else [got.text]
                print(f"--- {t['task_id']} {t['state']}:\n" + "\n".join(lines[-30:]), file=sys.stderr)
    return {"state": state, "trigger_to_success_s": elapsed, "tasks_s": tasks, "states": states, "split": split}


def timeline(tis: list[dict], triggered: dt.datetime) -> list[dict]:
    """Each task's time split from its instance's own stamps, in the order they ran: `wait` from the
    previous task's end (or the trigger) to queued is the scheduler's; `start` from queued to running is
    the executor's pick-up and the supervisor's fork; `run` from running to success is the task process
    (parsing the DAG file, the task's work, reporting back)."""
    def at(value):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    rows, previous = [], triggered
    for t in sorted(tis, key=lambda t: t["start_date"] or "~"):
        queued, start, end = at(t["queued_when"]), at(t["start_date"]), at(t["end_date"])
        if not (queued and start and end):
            rows.append({"task": t["task_id"], "state": t["state"]})
            continue
        rows.append({"task": t["task_id"], "wait": (queued - previous).total_seconds(),
                     "start": (start - queued).total_seconds(), "run": (end - start).total_seconds()})
        previous = end
    return rows


def parse_time() -> dict:
    from dev.airflow_up import environment

    with tempfile.TemporaryDirectory() as home:
        env = environment(Path(home), base=_clean_env())
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", PARSE, str(REPO / "dags")], env=env, capture_output=True,
                                 text=True)
            if out.returncode:
                raise SystemExit(f"parsing failed:\n{out.stderr[-3000:]}")
            info = json.loads(out.stdout.strip().splitlines()[-1])
            info["process_s"] = time.perf_counter() - started
            runs.append(info)
    return min(runs, key=lambda r: r["file_s"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--port", type=int, default=18093)
    ap.add_argument("--db-prefix", default="jinbao_bench", help="the two stores are PREFIX_plain and PREFIX_airflow")
    args = ap.parse_args(argv)

    from bench.fresh_db import fresh_database

    work = Path(tempfile.mkdtemp(prefix="jinbao-airflow-overhead-"))
    try:
        delivery = build(work / FILE, args.records, defect_share=0.05)
        p = plain(work, fresh_database(args.admin, f"{args.db_prefix}_plain"), delivery)
        a = under_airflow(work, fresh_database(args.admin, f"{args.db_prefix}_airflow"), delivery, args.port, args.records)
        parsed = parse_time()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        admin = sa.create_engine(args.admin, isolation_level="AUTOCOMMIT")     # the two stores, not left behind
        with admin.connect() as conn:
            for name in ("plain", "airflow"):
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {args.db_prefix}_{name} WITH (FORCE)")
        admin.dispose()
    print(f"police.death, {args.records:,} records, PostgreSQL store, business day {DAY}")
    print("| run | seconds | ratio |\n|---|---:|---:|")
    print(f"| `jinbao run` (process start to exit) | {p:.1f} | 1.00 |")
    for label, r in (("first run after start", a), ("second run", a["second"])):
        print(f"| Airflow, LocalExecutor, {label} (trigger to success, {r['state']}) | "
              f"{r['trigger_to_success_s']:.1f} | {r['trigger_to_success_s'] / p:.2f} |")
    for label, r in (("first run", a), ("second run", a["second"])):
        print(f"\n{label}: task durations (s): " + ", ".join(f"{k} {v}" for k, v in r["tasks_s"].items()))
        print("| task | scheduler wait (previous end or trigger to queued) | queued to running | running to end |\n"
              "|---|---:|---:|---:|")
        for t in r["split"]:
            if "run" in t:
                print(f"| {t['task']} | {t['wait']:.2f} | {t['start']:.2f} | {t['run']:.2f} |")
        sums = {k: sum(t.get(k, 0) for t in r["split"]) for k in ("wait", "start", "run")}
        print(f"| total | {sums['wait']:.2f} | {sums['start']:.2f} | {sums['run']:.2f} |")
        print("task states: " + ", ".join(f"{k} {v}" for k, v in r["states"].items()))
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"DAG folder: {parsed['dags']} DAGs, {parsed['errors']} import errors, dags/jinbao_feeds.py parsed in "
          f"{parsed['file_s']:.2f} s (DagBag), {parsed['with_imports_s']:.2f} s with Airflow's imports, "
          f"{parsed['process_s']:.2f} s for the whole process (best of 3)")
    ok = a["state"] == "success" and a["second"]["state"] == "success"
    emit("airflow_overhead", ok, records=args.records, plain_s=p, airflow_s=a["trigger_to_success_s"],
         ratio=a["trigger_to_success_s"] / p, tasks_s=a["tasks_s"], states=a["states"], split=a["split"],
         second={k: a["second"][k] for k in ("state", "trigger_to_success_s", "split")}, parse=parsed,
         load=[round(x, 2) for x in os.getloadavg()])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
