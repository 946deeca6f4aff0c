"""The `expected_delivery` sensor of every inbound feed's DAG (agreements §5, docs/expected.md).

An Airflow sensor in reschedule mode (it holds no worker slot while it waits): each poke asks
jinbao/expected/watch.py whether the deliveries due within the run's window are in (taken or
waiting in inbound/), and fails the task, red, once one is past due plus grace, after the
partner has its reminder.  A manually triggered run looks once and never waits: what is not due
yet is the scheduled run's to watch, so it is skipped.

Imports inside functions: the engine's side (SQLAlchemy, the store, the transports) loads when the
sensor pokes, never while the DAG file is parsed (dags/dag_factory.py).
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from jinbao.declarations import InboundFeed
from jinbao.settings import TIMEZONE

TASK_ID = "expected_delivery"
#: The leaf behind the watch: upstream_failed when the delivery is late, so the run itself is red.
ON_TIME_ID = "delivered_on_time"
#: The XCom key under which a late watch leaves the business dates it found late (jinbao/run_notes.py LATE_KEY,
#: which the run's note reads; not imported: parsing must not load the ledger).
LATE_KEY = "late"
#: How often a scheduled run looks again while a delivery is not due yet or not in.
POKE = dt.timedelta(minutes=10)
#: Airflow's own limit, beyond the longest wait a window allows (a quarter's 10th working day).
LIMIT = dt.timedelta(days=40)


def window(schedule: str, logical_date) -> tuple[dt.datetime, dt.datetime]:
    """From the start of the run's day to the start of the next scheduled run's day (China Standard Time)."""
    from croniter import croniter  # parsing stays light: croniter only when a run asks

    at = pendulum.instance(logical_date).in_timezone(TIMEZONE)
    start = at.start_of("day")
    following = pendulum.instance(croniter(schedule, at).get_next(dt.datetime)).in_timezone(TIMEZONE)
    end = following.start_of("day")
    return start, end if end > start else start.add(days=1)


ON_TIME_DOC = ("Green when the watched delivery was in on time, skipped when none was due, and not run "
               "(upstream failed) when it was late: then the whole run is red although what did arrive was "
               "taken.  The partner has a reminder (催报); `jinbao deliveries missing` lists every late delivery.")


class ExpectedDelivery(BaseSensorOperator):
    """Green when the run's due delivery is in, skipped when none is due, red when it is late."""

    ui_color = "#fde8c8"

    def __init__(self, *, feed: str, schedule: str, **kwargs):
        super().__init__(task_id=TASK_ID, mode="reschedule", poke_interval=POKE, timeout=LIMIT, **kwargs)
        self.feed, self.schedule = feed, schedule

    def poke(self, context) -> bool:
        from jinbao import privacy
        from jinbao.declarations import declared, get_feed
        from jinbao.expected.watch import ARRIVED, LATE, NONE_DUE, verdict
        from jinbao.settings import load_settings
        from jinbao.store.database import upgrade

        privacy.install()
        cfg = load_settings()
        start, end = window(self.schedule, context["logical_date"])
        found = verdict(cfg, upgrade(cfg.store_url), declared(cfg).feeds, get_feed(self.feed, cfg), start, end)
        self.log.info("%s", found.message)
        if found.state == ARRIVED:
            return True
        if found.state == NONE_DUE:
            raise AirflowSkipException(found.message)
        if found.state == LATE:       # retrying cannot bring the delivery: a person must chase it
            # the run's note tells lateness from a failure of the hub (plugins/jinbao_plugin.py)
            context["ti"].xcom_push(key=LATE_KEY, value=[str(d.business_date) for d in found.dues])
            raise AirflowFailException(found.message)
        if context["dag_run"].run_type != "scheduled":
            raise AirflowSkipException(found.message + "; a manual run does not wait: the scheduled run watches it")
        return False


def expected_delivery(spec: InboundFeed) -> ExpectedDelivery:
    """The sensor for `spec`'s DAG (inside its `with DAG(...)` block), and behind it the leaf that makes a
    late delivery's run red: Airflow judges a run by its last tasks, and `receive`, which follows the watch
    whatever it decided, would otherwise end it green."""
    watched = ExpectedDelivery(feed=spec.name, schedule=spec.schedule, retries=0)
    watched >> EmptyOperator(task_id=ON_TIME_ID, doc_md=ON_TIME_DOC)
    return watched
