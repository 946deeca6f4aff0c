"""Airflow entry point that fails to import while a feed declaration is broken, naming each broken
file and key: Airflow shows that as a DAG import error, the one place an operator looks for them.

It builds no DAG: a file with an import error has its DAGs marked stale, so the broken feeds are
reported from here and never from jinbao_feeds.py, whose other DAGs keep loading and running (the
broken feed itself gets a red placeholder DAG there, dag_factory.build_broken).
"""
import os
import sys

# Airflow puts the DAG folder on sys.path for its own processes, but not every loader does (jinbao_feeds.py).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.append(_HERE)

from jinbao.declarations import BrokenDeclarations, declared  # noqa: E402

_found = declared()
if _found.broken:
    raise BrokenDeclarations(_found.broken)
