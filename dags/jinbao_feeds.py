"""Airflow entry point: one DAG per feed declared in dags/feeds/ (see dag_factory)."""
from dag_factory import build_dags

globals().update(build_dags())
