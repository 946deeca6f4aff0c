"""Answering a Required Action through Airflow's REST API (/api/v2, the HITL endpoints), as a person's
script or the UI does: find the open question, read it, answer it.

`answer_open` works with any client of an API server: the live test's (a real `airflow api-server`),
or, for `airflow dags test` (which parks a human-in-the-loop task until a response arrives from
outside), the API server's own application in a process of its own on the same metadata database:
`python -m tests.dags.hitl DAG OPTION [REASON] [--console FILE]` with the test's Airflow environment,
FILE being where that `airflow dags test` writes its output (see waiting_in).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

#: Seconds between a question appearing and its answer (see answer_open).
READING = 5


def open_questions(http, dag_id: str) -> list[dict]:
    """Unanswered questions whose task waits for the answer (awaiting input), as a person sees them listed."""
    r = http.get(f"/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails", params={"response_received": False})
    assert r.status_code == 200, r.text
    return [q for q in r.json()["hitl_details"] if q["task_instance"]["state"] == "awaiting_input"]


def answer_open(http, dag_id: str, option: str, reason: str = "", timeout: float = 240,
                parked=None) -> dict:
    """Wait for the first open question of `dag_id`, answer it with `option` (and `reason`); return
    {"question": what was asked, "answer": the API's response}.

    An answer before the scheduler has taken the parking run's executor event ("success") races Airflow
    3.3 itself: the scheduler then reads that event against the task already re-queued by the answer and
    marks it up_for_retry (scheduler_job_runner.process_executor_events).  A person reading the question
    never answers that fast; a script must wait.  `parked(question)`, when given, says the scheduler has
    taken that event (the live test reads the scheduler's "TaskInstance Finished" line; `airflow dags
    test`'s own "Waiting for Human-in-the-loop input" line, waiting_in); without it, a few seconds'
    reading stand in (enough for `airflow dags test`, whose one process takes its own events)."""
    deadline = time.monotonic() + timeout
    while not (found := open_questions(http, dag_id)) or (parked and not parked(found[0])):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no Required Action of {dag_id} within {timeout} s"
                               + (" that the scheduler had seen parked" if found else ""))
        time.sleep(1)
    q = found[0]
    if parked is None:
        time.sleep(READING)
    ti = q["task_instance"]
    r = http.patch(f"/api/v2/dags/{dag_id}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/"
                   f"{ti['map_index']}/hitlDetails",
                   json={"chosen_options": [option], "params_input": {"reason": reason}})
    assert r.status_code == 200, r.text
    return {"question": q, "answer": r.json()}


def waiting_in(console: Path):
    """`parked` for `airflow dags test` writing to `console`: its loop has run the question's task to
    its end and now waits for the answer (its "Waiting for Human-in-the-loop input for tasks: [...]"
    line naming the task, with no later start of that task: a question asked again waits anew)."""
    def parked(question: dict) -> bool:
        ti = question["task_instance"]
        text = console.read_text(errors="replace")
        waiting = [m.end() for m in re.finditer(r"Waiting for Human-in-the-loop input for tasks: \[[^\]]*"
                                                rf"'{re.escape(ti['task_id'])}'", text)]
        started = [m.end() for m in re.finditer(rf"\[DAG TEST\] starting task_id={re.escape(ti['task_id'])} "
                                                rf"map_index={ti['map_index']}\b", text)]
        return bool(waiting) and (not started or waiting[-1] > started[-1])
    return parked


def main(argv: list[str]) -> int:
    # the API server's application, imported here: only this process runs it, under the test's environment
    from fastapi.testclient import TestClient

    from airflow.api_fastapi.app import create_app

    ap = argparse.ArgumentParser(prog="python -m tests.dags.hitl")
    ap.add_argument("dag_id")
    ap.add_argument("option")
    ap.add_argument("reason", nargs="?", default="")
    ap.add_argument("--console", type=Path, help="the output of the `airflow dags test` that asks")
    args = ap.parse_args(argv)
    parked = waiting_in(args.console) if args.console else None
    with TestClient(create_app("core")) as http:
        token = http.get("/auth/token").json()["access_token"]         # simple auth manager, all admins
        http.headers["Authorization"] = f"Bearer {token}"
        print(json.dumps(answer_open(http, args.dag_id, args.option, args.reason, parked=parked), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
