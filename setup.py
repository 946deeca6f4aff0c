"""Jinbao Exchange: cross-department data exchange and code-translation hub.

The user's top-level folders (connectors/, mappings/, schemas/, quality/,
exchange_zone/) are installed as sub-packages of `jinbao` so that nothing
generic like `schemas` lands at the top of site-packages; the feed
declarations in dags/feeds/ ship as `jinbao.declared_feeds`.
"""
from setuptools import find_packages, setup

CELERY = ["apache-airflow-providers-celery>=3.20,<4", "celery[redis]>=5.5,<6", "redis>=5"]
SUBPACKAGES = ["connectors", "mappings", "schemas", "quality", "exchange_zone"]

setup(
    name="jinbao-exchange",
    version="0.1.0",
    description="Cross-department data exchange and code-translation hub for social security",
    python_requires=">=3.11,<3.12",
    # Found, not listed: a sub-package added later ships without anyone editing this file.
    packages=["jinbao.declared_feeds"]
    + find_packages(include=["jinbao", "jinbao.*"])
    + [f"jinbao.{p}" for top in SUBPACKAGES for p in find_packages(include=[top, f"{top}.*"])],
    package_dir={"jinbao": "jinbao", "jinbao.declared_feeds": "dags/feeds",
                 **{f"jinbao.{p}": p for p in SUBPACKAGES}},
    # Data files are read through importlib.resources, so an installed hub finds them.
    package_data={
        "jinbao.mappings": ["feeds/*.yaml", "codes/*.yaml", "reference/*.csv", "reference/*.yaml"],
        "jinbao.schemas": ["partners/*.yaml", "tables/*.yaml", "*.yaml"],
        "jinbao.schemas.migrations": ["*.mako"],
        "jinbao.declared_feeds": ["*.yaml", "agreements/*.yaml"],
        "jinbao": ["access.yaml"],
    },
    # Loose ranges here; exact pins live in constraints.txt (Airflow's style).
    install_requires=[
        "apache-airflow>=3.3,<3.4",
        "pyarrow>=20",
        "pandas>=2.2",
        "numpy>=2",
        "SQLAlchemy>=2.0,<2.2",
        "alembic>=1.13",
        "psycopg[binary]>=3.2",
        "PyMySQL>=1.1",
        "paramiko>=3.4",
        "cryptography>=42",
        "PyYAML>=6",
        "openpyxl>=3.1",               # the auditors' Excel workbooks (jinbao/audit)
        # lineage of every feed (docs/lineage.md): inert until a transport is configured, so every hub has it
        "apache-airflow-providers-openlineage>=2.20,<3",
        # the shipped auth manager (airflow.cfg, docs/access.md): users and roles in the metadata DB, per-DAG
        # permissions; it needs python-dateutil<3, hence 2.9 in constraints.txt
        "apache-airflow-providers-fab>=3.10,<4",
        # China's official working days incl. adjusted ones (jinbao/expected/calendar.py); upgrade each December
        "chinesecalendar>=1.11,<2",
    ],
    extras_require={
        "quality": ["great-expectations>=1.3,<2"],
        # CeleryExecutor deployments (docs/scale.md): the provider, and Redis as the broker's client
        "celery": CELERY,
        # the test suite runs a partitioned feed on two real Celery workers
        "test": ["pytest>=8", "hypothesis>=6", "python-stdnum>=1.20", *CELERY],
        # `make bench` only: the peers the benchmarks measure the hub against: dlt beside every inbound feed
        # (bench/feeds.py), DuckDB beside the death report (bench/report_scale.py)
        "bench": ["dlt[postgres]>=1.31,<2", "duckdb>=1.1"],
    },
    entry_points={"console_scripts": ["jinbao=jinbao.cli:main"]},
)
