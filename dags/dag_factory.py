"""One DAG per declared feed, built from dags/feeds/*.yaml.

Parsing must stay cheap (the DAG processor re-parses every file often): only
the YAML declarations are read here.  pyarrow, SQLAlchemy and the engine are
imported inside the tasks, and only batch ids travel through XCom; the data
itself stays in Parquet files in staging.
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, task
from airflow.sdk.exceptions import AirflowFailException

from jinbao.declarations import FeedSpec, load_feeds
from jinbao.settings import TIMEZONE


def _doc(spec: FeedSpec) -> str:
    return (f"### {spec.title}\n\n{spec.description}\n\n"
            f"| | |\n|---|---|\n| partner | `{spec.partner}` |\n| transport | `{spec.transport}` |\n"
            f"| encoding | {spec.encoding} |\n| schema | `schemas/partners/{spec.schema}.yaml` |\n"
            f"| mapping | `mappings/feeds/{spec.mapping}.yaml` |\n| target | `{spec.target_table}` |\n"
            f"| hold above | {spec.max_reject_share:.0%} rejected |\n| declaration | `{spec.path}` |\n\n"
            "A held batch is released with `jinbao batches release BATCH` after review.")


def _engine(feed: str):
    from jinbao.declarations import get_feed
    from jinbao.engine import Engine
    return Engine(get_feed(feed))


def build_inbound(spec: FeedSpec) -> DAG:
    tz = pendulum.timezone(TIMEZONE)
    with DAG(
        dag_id=spec.name,
        description=spec.title,
        doc_md=_doc(spec),
        schedule=CronTriggerTimetable(spec.schedule, timezone=tz),
        start_date=pendulum.datetime(spec.start_date.year, spec.start_date.month, spec.start_date.day, tz=tz),
        catchup=False,
        max_active_runs=1,
        tags=["jinbao", *spec.tags],
        default_args={"retries": spec.retries, "retry_delay": dt.timedelta(minutes=spec.retry_delay_minutes)},
    ) as dag:
        @task
        def receive(logical_date=None) -> list[int]:
            """Take complete deliveries up to the run's business day (China Standard Time)."""
            up_to = pendulum.instance(logical_date).in_timezone(TIMEZONE).date() if logical_date else None
            return _engine(spec.name).receive(up_to)

        @task
        def judge(batch_id: int) -> int:
            _engine(spec.name).judge(batch_id)
            return batch_id

        @task
        def publish(batch_id: int) -> int:
            _engine(spec.name).publish(batch_id)
            return batch_id

        @task
        def finish(batch_id: int) -> dict:
            from jinbao.engine import BatchHeld
            from jinbao.exchange_zone.errors import DeliveryRefused
            try:
                o = _engine(spec.name).finish(batch_id)
            except (BatchHeld, DeliveryRefused) as exc:  # a person must act: retrying will not help
                raise AirflowFailException(str(exc)) from exc
            return {"batch_id": o.batch_id, "status": o.status, "received": o.received,
                    "accepted": o.accepted, "rejected": o.rejected, "published": o.published}

        finish.expand(batch_id=publish.expand(batch_id=judge.expand(batch_id=receive())))
    return dag


def build_dags() -> dict[str, DAG]:
    return {spec.name: build_inbound(spec) for spec in load_feeds().values() if spec.direction == "inbound"}
