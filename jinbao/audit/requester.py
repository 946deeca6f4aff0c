"""Who asks for a full-ID export, as the hub authenticated them, and why: never a name somebody typed.

Two ways in, each with the identity the hub can vouch for:

- on the hub's own host, `jinbao report deaths --full-ids`: the operating-system user running it
  (jinbao/release.py `os_user`, as for the answers to a held batch);
- through Airflow, the `audit.death_mismatch` DAG triggered with `full_ids`: the user logged in to
  Airflow who triggered the run (`dag_run.triggering_user_name`).  Airflow's auth manager decides at
  trigger time who may trigger that DAG (auditors and admins); a scheduled or asset-triggered run,
  `airflow dags test` (user "dag_test") or a backfill has no person behind it and is refused.

Every export also needs a purpose, recorded with it in the exchange log.
"""
from __future__ import annotations

from dataclasses import dataclass

from jinbao.release import os_user

#: How the hub knows who asked (recorded beside the name in the exchange log).
AIRFLOW_LOGIN = "airflow login"
OS_USER = "os user on hub host"
#: The name Airflow gives the runs of `airflow dags test`: a command on the host, not a login.
DAG_TEST_USER = "dag_test"
#: The only kind of Airflow run a person triggers (the UI, the REST API, `airflow dags trigger`).
MANUAL = "manual"


class ExportRefused(ValueError):
    """A full-ID export nobody authenticated asked for, or asked for without a purpose: nothing is written."""


@dataclass(frozen=True)
class Requester:
    """A person the hub authenticated: their login name and how the hub knows it (`via`)."""
    name: str
    via: str

    def __str__(self) -> str:
        return f"{self.name} ({self.via})"


def on_host() -> Requester:
    """Whoever runs the command on the hub's host: the operating system authenticated them."""
    return Requester(os_user(), OS_USER)


def from_airflow(run_type: str | None, triggering_user_name: str | None) -> Requester:
    """The Airflow user who triggered this run, or ExportRefused when no logged-in person did."""
    kind = getattr(run_type, "value", run_type)          # the SDK's DagRunType enum or its text
    user = (triggering_user_name or "").strip()
    if kind != MANUAL or not user or user == DAG_TEST_USER:
        why = ("`airflow dags test` is a command, not a login" if user == DAG_TEST_USER
               else f"a run of type {kind or 'unknown'} has no person behind it" if kind != MANUAL
               else "the run names no user who triggered it")
        raise ExportRefused(f"full IDs are exported only to an auditor logged in to Airflow who triggers this DAG "
                            f"with full_ids and a purpose ({why}); nothing was written.  Trigger the DAG from the "
                            "Airflow UI as yourself, or ask a hub operator to run `jinbao report deaths --full-ids "
                            "--purpose TEXT` on the hub's host")
    return Requester(user, AIRFLOW_LOGIN)


def purpose_of(text: str | None) -> str:
    """Why unmasked IDs are needed, as given: required, recorded with the export."""
    purpose = (text or "").strip()
    if not purpose:
        raise ExportRefused("a full-ID export needs its purpose (why the unmasked IDs are needed, e.g. "
                            "'stop payments for the November findings'): it is recorded in the exchange log with "
                            "who asked; nothing was written")
    return purpose
