"""The hub inside Airflow: each inbound run's note, and the hub's readable files under `/jinbao`.

Airflow loads this folder (`plugins_folder` in airflow.cfg) in its scheduler, API server and
workers.  Three parts:

- a listener (`RunNotes`): when an inbound feed's run ends, success or failure, the scheduler
  writes the run's note (jinbao/run_notes.py) from the batch ledger.  Tasks cannot write the
  metadata DB in Airflow 3; the scheduler can, and the note goes in with the run's final state.
  The run's batches are the ids its `receive` task returned (its XCom).  The auditors' monthly
  run gets a note too: links to the report it wrote.
- the hub's timetable (jinbao/timetables.py): cron in China Standard Time, its summary in words;
- a FastAPI app (jinbao/report_server.py) mounted on the API server at `/jinbao`, behind
  Airflow's own login (a signed-in user's cookie or a bearer token; anyone else gets 401), with
  a link in the UI's navigation.  Each served file is open to whom Airflow's auth manager lets
  read its DAG (`dag_reader`): an auditor the death reports, not the feeds' receipts.

Imports inside functions: the listener reads the ledger and the feed declarations only when a run
ends, so that loading the plugin (in every Airflow process, the DAG processor included) stays cheap.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends

from jinbao.audit import REPORT_DAG
from jinbao.report_links import URL_PREFIX
from jinbao.report_server import make_app
from jinbao.timetables import ReadableCron

log = logging.getLogger(__name__)
#: The task whose return value is the run's batch ids (dags/dag_factory.py build_inbound).
RECEIVE = "receive"
#: The auditors' monthly DAG and its task, which returns the report's files (dags/dag_factory.py build_audit).
AUDIT_DAG, AUDIT_TASK = REPORT_DAG, "death_mismatch"


def returned(dag_run, session, task_id: str, key: str = "return_value"):
    """What the run's (unmapped) task `task_id` returned (or pushed under `key`), or None (skipped, failed,
    not run)."""
    # the scheduler's models: only when a run ends (module docstring)
    import sqlalchemy as sa
    from airflow.models.xcom import XComModel

    row = session.scalars(sa.select(XComModel).where(
        XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id, XComModel.task_id == task_id,
        XComModel.key == key, XComModel.map_index == -1)).first()
    return XComModel.deserialize_value(row) if row is not None else None


def note_of(dag_run, session) -> str | None:
    """The run's note, or None for a DAG that is not an inbound feed."""
    # the ledger and the declarations load when a run ends (module docstring)
    from airflow.utils.state import TaskInstanceState

    from jinbao import ledger
    from jinbao.declarations import InboundFeed, declared
    from jinbao.run_notes import LATE_KEY, WATCH, report_note, run_note
    from jinbao.settings import load_settings
    from jinbao.store.database import connect

    cfg = load_settings()
    if dag_run.dag_id == AUDIT_DAG:
        files = returned(dag_run, session, AUDIT_TASK)
        return report_note(cfg, files) if files else None
    if not isinstance(declared(cfg).feeds.get(dag_run.dag_id), InboundFeed):
        return None
    ids = [int(i) for i in returned(dag_run, session, RECEIVE) or []]
    rows = []
    if ids:
        with connect(cfg.store_url).connect() as conn:
            rows = [ledger.get(conn, i) for i in ids]
    failed = [ti.task_id for ti in dag_run.get_task_instances(session=session)
              if ti.state == TaskInstanceState.FAILED]
    late = returned(dag_run, session, WATCH, LATE_KEY) or []
    return run_note(cfg, rows, failed, dag_run.dag_id, late)


def _set_note(dag_run, session) -> None:
    note = note_of(dag_run, session)
    written_by_someone = dag_run.dag_run_note is not None and dag_run.dag_run_note.user_id
    if note is not None and not written_by_someone:      # a person's own note is never overwritten
        dag_run.note = note


def write_note(dag_run) -> None:
    """Set the note on the scheduler's own DagRun object, committed with the run's state; a run handed
    over detached (`airflow dags test` runs it in-process) gets it in a session of its own."""
    # the ORM's sessions: only when a run ends (module docstring)
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy.orm import object_session

    try:
        session = object_session(dag_run)
        if session is not None:
            _set_note(dag_run, session)
            return
        with create_session() as session:
            _set_note(session.get(DagRun, dag_run.id), session)
    except Exception:  # noqa: BLE001 - a note must never stop the scheduler; the log says why there is none
        log.exception("no note for %s %s", dag_run.dag_id, dag_run.run_id)


def dag_reader(user: GetUserDep) -> Callable[[str], bool]:
    """For a request to /jinbao: whether its user may read a DAG, asked as Airflow's own DAG endpoints
    ask it (core_api/security.py `requires_access_dag`), so the files follow the roles' DAGs."""
    manager = get_auth_manager()

    def may_read(dag_id: str) -> bool:
        return manager.is_authorized_dag(method="GET", details=DagDetails(id=dag_id), user=user)
    return may_read


class RunNotes:
    """Airflow's dag-run listener hooks: a run's note is written once it has ended, either way."""

    @hookimpl
    def on_dag_run_success(self, dag_run, msg):
        write_note(dag_run)

    @hookimpl
    def on_dag_run_failed(self, dag_run, msg):
        write_note(dag_run)


class JinbaoPlugin(AirflowPlugin):
    name = "jinbao"
    listeners = [RunNotes()]
    # the hub's schedules, said in words: Airflow (de)serializes only the timetables a plugin registers
    timetables = [ReadableCron]
    fastapi_apps = [{"app": make_app(dependencies=[Depends(requires_access_view(AccessView.WEBSITE))],
                                     reader=dag_reader),
                     "url_prefix": URL_PREFIX, "name": "Jinbao reports"}]
    external_views = [{"name": "Jinbao reports 报告与回执", "href": URL_PREFIX + "/", "destination": "nav",
                       "category": "browse"}]
