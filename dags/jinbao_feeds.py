"""Airflow entry point: one DAG per feed declared in dags/feeds/ (see dag_factory)."""
import os
import sys

# Airflow puts the DAG folder on sys.path for its own processes, but not every
# loader (tests, `DagBag(...)` in a notebook) does; make the sibling importable.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.append(_HERE)

from dag_factory import build_dags  # noqa: E402

globals().update(build_dags())
