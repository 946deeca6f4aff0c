"""A held batch's Required Action under `airflow dags test`: the run parks `review` until a person answers
through the REST API (tests/dags/hitl.py), and each answer is carried out and named in the exchange log.
The release DAG stays for scripts, and takes only a held batch."""
from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect as engine
from tests.airflow_env import BIN, REPO, airflow, airflow_env, migrated
from tests.deliveries import death_row, write_delivery

FEED = "police.death"
FILE = "police.death_20261122_000001.csv"


def _rows(cfg, sql: str):
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _held_delivery(cfg):
    rows = [death_row(i) for i in range(10)]
    for r in rows[:4]:
        r["ZXYY"] = "7"                                  # 40 % rejected: above the 20 % threshold
    write_delivery(cfg.inbound("police"), FEED, rows)
    migrated(cfg)


def _run_answering(cfg, tmp_path, option: str, reason: str = "") -> tuple[subprocess.CompletedProcess, dict, str]:
    """`airflow dags test police.death`, answered through the REST API once its Required Action is open."""
    out = tmp_path / f"dags-test-{option}.log"
    with open(out, "w") as console:
        run = subprocess.Popen([str(BIN / "airflow"), "dags", "test", FEED, "2026-11-23"], env=airflow_env(cfg),
                               stdout=console, stderr=subprocess.STDOUT)
        try:
            answered = subprocess.run([sys.executable, "-m", "tests.dags.hitl", FEED, option, reason,
                                       "--console", str(out)], cwd=REPO,
                                      env=airflow_env(cfg), capture_output=True, text=True, timeout=400)
            run.wait(timeout=400)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    log = out.read_text(errors="replace")
    assert answered.returncode == 0, answered.stderr[-3000:] + log[-3000:]
    return subprocess.CompletedProcess(run.args, run.returncode), json.loads(answered.stdout.splitlines()[-1]), log


def test_release_through_the_required_action_publishes_and_names_the_responder(sqlite_home, tmp_path):
    _held_delivery(sqlite_home)
    run, qa, log = _run_answering(sqlite_home, tmp_path, "Release")
    assert run.returncode == 0, log[-4000:]
    # the question: the delivery, the counts, the most frequent reason, the receipt and the quality page
    q = qa["question"]
    assert q["options"] == ["Release", "Refuse", "Re-judge"] and q["task_instance"]["task_id"] == "review"
    assert FEED in q["subject"] and FILE in q["subject"]
    assert "| 10 | 6 | 4 |" in q["body"] and "4 × `UNMAPPED_CODE` on ZXYY" in q["body"]
    assert "40.0%" in q["body"]
    # links to the hub's read-only pages, the same the run's note uses (finish wrote both files)
    assert f"[receipt](/jinbao/receipts/{FEED}/1/" in q["body"], q["body"]
    assert f"[quality page](/jinbao/reports/quality/{FEED}/1/index.html)" in q["body"], q["body"]
    who = qa["answer"]["responded_by"]["name"]
    assert _rows(sqlite_home, "select status, published from batch") == [{"status": "published", "published": 6}]
    entry = _rows(sqlite_home, "select who, status from exchange_log where direction = 'review'")
    assert entry == [{"who": who, "status": "release"}]
    assert f"{who} released batch 1 ({FILE}): published 6 of 10 records" in log
    receipt = json.loads((sqlite_home.outbound("police") / FILE.replace(".csv", ".receipt.json")).read_text())
    assert receipt["status"] == "published" and receipt["published"] == 6


def test_refuse_through_the_required_action_leaves_the_run_red(sqlite_home, tmp_path):
    _held_delivery(sqlite_home)
    run, qa, log = _run_answering(sqlite_home, tmp_path, "Refuse", "deregistration reason 7 is not agreed")
    assert run.returncode != 0                                       # refused: not green
    assert _rows(sqlite_home, "select status, reason_code from batch") == [
        {"status": "refused", "reason_code": "REFUSED_AFTER_REVIEW"}]
    assert _rows(sqlite_home, "select who, status, purpose from exchange_log where direction = 'review'") == [
        {"who": qa["answer"]["responded_by"]["name"], "status": "refuse",
         "purpose": "deregistration reason 7 is not agreed"}]
    receipt = json.loads((sqlite_home.outbound("police") / FILE.replace(".csv", ".receipt.json")).read_text())
    assert receipt["status"] == "refused" and "reason 7 is not agreed" in receipt["message"]


def test_rejudge_that_holds_again_ends_red_and_keeps_the_batch_held(sqlite_home, tmp_path):
    _held_delivery(sqlite_home)
    run, qa, log = _run_answering(sqlite_home, tmp_path, "Re-judge")
    assert run.returncode != 0                                       # still held: not green
    assert "now held; it waits for another answer: clear `review` to answer again" in log
    assert _rows(sqlite_home, "select status from batch") == [{"status": "held"}]
    assert [(r["direction"], r["status"]) for r in _rows(
        sqlite_home, "select direction, status from exchange_log order by seq")] == [
        ("in", "held"), ("review", "rejudge"), ("in", "held")]


def test_the_release_dag_takes_only_a_held_batch(sqlite_home):
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(i) for i in range(5)])
    assert main(["run", FEED]) == 0
    migrated(sqlite_home)
    bare = airflow(sqlite_home, "dags", "test", "jinbao.release", "2026-11-23")    # no prefilled batch
    assert bare.returncode != 0 and "batch_id" in bare.stdout + bare.stderr, bare.stdout[-2000:] + bare.stderr[-2000:]
    published = airflow(sqlite_home, "dags", "test", "jinbao.release", "2026-11-24", "--conf", '{"batch_id": 1}')
    assert published.returncode != 0
    assert f"batch 1 ({FILE}) is published, not held; nothing to release" in published.stdout + published.stderr

    rows = [death_row(i) for i in range(10, 20)]
    for r in rows[:4]:
        r["ZXYY"] = "7"
    write_delivery(sqlite_home.inbound("police"), FEED, rows, seq=2)
    assert main(["run", FEED]) == 2                                   # batch 2 held
    run = airflow(sqlite_home, "dags", "test", "jinbao.release", "2026-11-25", "--conf", '{"batch_id": 2}')
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert _rows(sqlite_home, "select status from batch order by id") == [{"status": "published"}] * 2
    assert _rows(sqlite_home, "select status from exchange_log where direction = 'review'") == [{"status": "release"}]


def test_the_options_shown_are_the_answers_carried_out():
    """dags/review.py lists the options without importing the engine side (parse time); the two agree."""
    from jinbao.held_question import OPTIONS as ANSWERS
    from jinbao.release import ANSWERS as CARRIED_OUT

    sys.path.insert(0, str(REPO / "dags"))
    try:
        from review import OPTIONS
    finally:
        sys.path.remove(str(REPO / "dags"))
    assert list(ANSWERS) == OPTIONS and set(ANSWERS.values()) == set(CARRIED_OUT)


def test_a_refused_delivery_beside_a_held_one_keeps_the_run_red_and_the_question_asked(sqlite_home, tmp_path):
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(i) for i in range(5)], seq=7)
    assert main(["run", FEED]) == 0                                            # batch 1, sequence 7
    rows = [death_row(i) for i in range(20, 30)]
    for r in rows[:4]:
        r["ZXYY"] = "7"
    write_delivery(sqlite_home.inbound("police"), FEED, rows, seq=8)           # held
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(i) for i in range(10, 15)], seq=5)  # replayed
    migrated(sqlite_home)
    run, qa, log = _run_answering(sqlite_home, tmp_path, "Release")
    assert "police.death_20261122_000008.csv" in qa["question"]["subject"]
    assert run.returncode != 0                                                 # the refusal keeps it red
    assert "refused: SEQUENCE_REPLAYED" in log
    assert {(r["sequence"], r["status"]) for r in _rows(sqlite_home, "select sequence, status from batch")} == {
        (7, "published"), (8, "published"), (5, "refused")}
