"""What an operator meets in the Airflow UI, read from the DAG bag Airflow parses: the hub's assets
(each publish's outlets, the reports' and outbound feeds' inputs), the `after` order, the DAG list's
names and schedule text, the trigger form's optional params, no run on unpause, local-only servers."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from tests.airflow_env import REPO, airflow, airflow_env

PROBE = """
import json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction
from airflow.sdk.definitions.param import ParamValidationError

bag = DagBag(dag_folder=sys.argv[1])

def first_run(dag):
    tt = coerce_to_core_timetable(dag.timetable)
    tt = getattr(tt, "timetable", tt)            # AssetOrTimeSchedule: its calendar half
    info = tt.next_dagrun_info(last_automated_data_interval=None,
                               restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=dag.catchup))
    return info.run_after.isoformat() if info else None

def empty_params_ok(dag):
    try:
        dag.params.validate()
        return True
    except ParamValidationError:
        return False

def condition(dag):
    cond = getattr(dag.timetable, "asset_condition", None)
    # a plain calendar timetable's condition is Airflow's null asset, with no objects
    return sorted(a.name for a in cond.objects) if hasattr(cond, "objects") else None

print(json.dumps({
    "errors": {k: v for k, v in bag.import_errors.items()},
    "now": pendulum.now("UTC").isoformat(),
    "name": {d: bag.dags[d].dag_display_name for d in bag.dags},
    "description": {d: bag.dags[d].description for d in bag.dags},
    "timetable": {d: type(bag.dags[d].timetable).__name__ for d in bag.dags},
    "reads": {d: condition(bag.dags[d]) for d in bag.dags},
    "first_run": {d: first_run(bag.dags[d]) for d in bag.dags if bag.dags[d].timetable.can_be_scheduled},
    "params_optional": {d: empty_params_ok(bag.dags[d]) for d in bag.dags},
    "schema": {d: {k: bag.dags[d].params.get_param(k).schema for k in bag.dags[d].params} for d in bag.dags},
    "outlets": {d: sorted(a.name for a in bag.dags[d].get_task("publish").outlets)
                for d in bag.dags if "publish" in bag.dags[d].task_dict},
    "upstream": {d: {t.task_id: sorted(t.upstream_task_ids) for t in bag.dags[d].tasks} for d in bag.dags},
    "sensor": {d: {"mode": t.mode, "timeout": t.timeout, "poke": t.poke_interval}
               for d in bag.dags for t in bag.dags[d].tasks if t.task_id == "wait_for_after"},
}))
"""


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    from tests.conftest import home_on
    with home_on("sqlite", tmp_path_factory.mktemp("conventions")) as cfg:
        out = subprocess.run([sys.executable, "-c", PROBE, str(REPO / "dags")], env=airflow_env(cfg),
                             capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-3000:]
        info = json.loads(out.stdout.strip().splitlines()[-1])
        assert info["errors"] == {}
        yield info


def _feeds():
    from jinbao.declarations import InboundFeed, load_feeds
    feeds = load_feeds()
    return ({n: s for n, s in feeds.items() if isinstance(s, InboundFeed)},
            {n: s for n, s in feeds.items() if not isinstance(s, InboundFeed)})


def test_each_publish_emits_its_table_and_the_register_when_the_feed_takes_part(bag):
    from jinbao.register.authority import authority
    inbound, _ = _feeds()
    assert set(bag["outlets"]) == set(inbound)
    for name, spec in inbound.items():
        expected = {f"jinbao.store.{spec.target.table}"} | (
            {"jinbao.store.register"} if authority().takes_part(name) else set())
        assert set(bag["outlets"][name]) == expected, name
    assert bag["outlets"]["police.identity"] == ["jinbao.store.person", "jinbao.store.register"]
    assert bag["outlets"]["central_bank.employer_status"] == ["jinbao.store.employer_status"]   # not in the register


def test_reports_and_outbound_feeds_run_when_what_they_read_is_published_or_at_their_slot(bag):
    from jinbao.outbound.catalog import READS
    _, outbound = _feeds()
    written = {a for names in bag["outlets"].values() for a in names}
    assert bag["timetable"]["audit.death_mismatch"] == "AssetOrTimeSchedule"
    assert bag["reads"]["audit.death_mismatch"] == ["jinbao.store.death_record", "jinbao.store.pension_payment",
                                                   "jinbao.store.register"]
    for name, spec in outbound.items():
        assert bag["timetable"][name] == "AssetOrTimeSchedule"
        assert bag["reads"][name] == sorted(f"jinbao.store.{t}" for t in READS[spec.query])
    # every asset a report or an outbound feed waits for is written by some feed: the graph has no dead end
    assert {a for d, names in bag["reads"].items() if names for a in names} <= written


def test_a_feed_declared_after_another_waits_for_it_before_receiving_and_is_scheduled_after_it(bag):
    inbound, _ = _feeds()
    after = {n: s for n, s in inbound.items() if s.after}
    assert "finance.subsidy_payment" in after and after["finance.subsidy_payment"].after == (
        "hrss.resident_enrollment",)
    for name, spec in inbound.items():
        waits = "wait_for_after" in bag["upstream"][name]
        assert waits == bool(spec.after), name
        if waits:
            assert bag["upstream"][name]["receive"] == ["wait_for_after"]
            assert bag["sensor"][name]["mode"] == "reschedule" and bag["sensor"][name]["timeout"] >= 3600
            for before in spec.after:                   # the calendar agrees: the day's slot comes later
                m, h = map(int, spec.schedule.split()[:2])
                bm, bh = map(int, inbound[before].schedule.split()[:2])
                assert (h, m) > (bh, bm), f"{name} {spec.schedule} runs before {before} {inbound[before].schedule}"


def test_the_dag_list_finds_a_feed_by_its_id_and_says_when_it_runs_in_china_standard_time(bag):
    for dag_id, name in bag["name"].items():
        assert dag_id in name
    assert bag["name"]["police.death"] == "公安死亡人员信息 Police death registrations · police.death"
    found = [d for d, n in bag["name"].items() if "death" in n.lower()]
    assert {"police.death", "health.death_certificate", "audit.death_mismatch"} <= set(found)
    assert "daily 02:30 China Standard Time" in bag["description"]["police.death"]
    assert "every Monday 03:00 China Standard Time" in bag["description"]["civil_affairs.assistance"]
    assert "monthly on the 2nd 06:00 China Standard Time" in bag["description"]["audit.death_mismatch"]


def test_params_that_may_be_empty_are_optional_and_a_release_names_its_batch(bag):
    assert bag["params_optional"]["audit.death_mismatch"] is True
    assert bag["schema"]["audit.death_mismatch"]["month"]["type"] == ["null", "string"]
    for name in ("police.insured_status", "finance.subsidy_claim", "central_bank.contribution_status"):
        assert bag["params_optional"][name] is True
        assert bag["schema"][name]["as_of"]["type"] == ["null", "string"]
    assert bag["params_optional"]["jinbao.release"] is False        # no default batch to release by mistake


def test_unpausing_a_dag_waits_for_its_next_slot(bag):
    now = dt.datetime.fromisoformat(bag["now"])
    assert set(bag["first_run"]) >= set(_feeds()[0]) | set(_feeds()[1]) | {"audit.death_mismatch"}
    early = {d: r for d, r in bag["first_run"].items() if dt.datetime.fromisoformat(r) <= now}
    assert early == {}


def test_the_api_server_listens_on_this_machine_only(sqlite_home):
    got = airflow(sqlite_home, "config", "get-value", "api", "host", timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "127.0.0.1"


SUMMARY_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({d: DagSerialization.from_dict(DagSerialization.to_dict(bag.dags[d])).timetable.summary
                  for d in ("police.death", "civil_affairs.assistance", "police.insured_status", "jinbao.release")}))
"""


def test_the_schedule_column_reads_in_words_after_airflow_stored_the_dag(sqlite_home):
    """What the UI shows is the serialized DAG's timetable summary: the hub's timetable survives Airflow's
    round trip (registered by the plugin) and says the schedule in words, in China Standard Time."""
    out = subprocess.run([sys.executable, "-c", SUMMARY_PROBE, str(REPO / "dags")], env=airflow_env(sqlite_home),
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "police.death": "daily 02:30 China Standard Time",
        "civil_affairs.assistance": "every Monday 03:00 China Standard Time",
        "police.insured_status": "Asset or monthly on the 1st 03:00 China Standard Time",
        "jinbao.release": "None"}


def test_schedules_read_as_words():
    sys.path.insert(0, str(REPO / "dags"))
    from schedules import described
    assert described("30 2 * * *") == "daily 02:30 China Standard Time"
    assert described("0 3 * * 1") == "every Monday 03:00 China Standard Time"
    assert described("0 8 2 * *") == "monthly on the 2nd 08:00 China Standard Time"
    assert described("0 5 5 1,4,7,10 *") == \
        "on the 5th of January, April, July and October 05:00 China Standard Time"
    assert described("*/5 * * * *") == "cron */5 * * * * (China Standard Time)"
    assert described("0 6 11 * *").startswith("monthly on the 11th ")
