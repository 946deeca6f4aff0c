"""The `expected_delivery` sensor in a real `airflow dags test`: a missing delivery turns the task red and
reminds the partner, an arrived one is green, a day with nothing due is skipped (docs/expected.md)."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from jinbao.store.database import connect
from tests.airflow_env import airflow, migrated
from tests.dags.test_dag_factory import _notes
from tests.deliveries import death_row, write_delivery


def task_states(log: str) -> dict[str, str]:
    """task id -> the last state Airflow recorded for it in this `dags test` output."""
    ids = dict(re.findall(r"running task <TaskInstance: [\w.]+\.(\w+) .*? ti_id=([0-9a-f-]+)>", log))
    by_ti = {ti: task for task, ti in ids.items()}
    states = {}
    for state, ti in re.findall(r"new_state=(\w+) rows_affected=\d+ ti_id=([0-9a-f-]+)", log):
        if ti in by_ti:
            states[by_ti[ti]] = state
    return states


def test_a_missing_delivery_turns_the_sensor_red_and_reminds_the_partner_once(sqlite_home):
    home = sqlite_home
    migrated(home)
    # 23 Nov's run watches 22 Nov's deaths (due 23 Nov 02:00, late 04:00): only 21 Nov's came.
    write_delivery(home.inbound("police"), "police.death", [death_row(1)], date="20261121")
    run = airflow(home, "dags", "test", "police.death", "2026-11-23")
    log = run.stdout + run.stderr
    states = task_states(log)
    assert states["expected_delivery"] == "failed", (states, log[-3000:])
    assert states["receive"] == "success"                      # what did come is still taken
    assert run.returncode != 0                                  # and the run itself is red ...
    [note] = _notes(home)                                       # ... for lateness, not for the hub
    assert note.startswith("**late**: police.death for business date 2026-11-22 did not arrive"), note
    assert "hub failure" not in note and "(batch 1) · published" in note, note
    assert "delivery for business date 2026-11-22 was due 2026-11-23 02:00" in log
    assert "Next: ask police to deliver it" in log
    assert sorted(p.name for p in home.outbound("police").glob("*.reminder.txt")) == [
        "police.death_20261122.reminder.txt"]
    with connect(home.store_url).connect() as conn:
        assert str(conn.execute(sa.text("select business_date from batch where status = 'published'")).scalar()) \
            == str(dt.date(2026, 11, 21))
        assert conn.execute(sa.text("select count(*) from exchange_log where status = 'reminder'")).scalar() == 1

    # The partner delivers: the same run again is green, and no second reminder went out.
    write_delivery(home.inbound("police"), "police.death", [], date="20261122", seq=2)
    again = airflow(home, "dags", "test", "police.death", "2026-11-23")
    states = task_states(again.stdout + again.stderr)
    assert states["expected_delivery"] == "success" and again.returncode == 0, states
    with connect(home.store_url).connect() as conn:
        assert conn.execute(sa.text("select count(*) from exchange_log where status = 'reminder'")).scalar() == 1


def test_a_day_with_no_delivery_due_skips_the_sensor(sqlite_home):
    migrated(sqlite_home)
    # Saturday 21 Nov 2026: Friday's certificates are due on Monday, nothing is due today.
    run = airflow(sqlite_home, "dags", "test", "health.death_certificate", "2026-11-21")
    log = run.stdout + run.stderr
    assert task_states(log)["expected_delivery"] == "skipped", log[-3000:]
    assert "no delivery is due between 2026-11-21 00:00 and 2026-11-22 00:00" in log
    assert not sqlite_home.outbound("health").exists() or not list(sqlite_home.outbound("health").iterdir())
