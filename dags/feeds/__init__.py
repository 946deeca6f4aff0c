"""The feed declarations (one YAML file per feed) and the data-sharing agreements (agreements/):
data, not code, read through importlib.resources.

Installed as `jinbao.declared_feeds` (setup.py `package_dir`), though the folder lives beside the
DAG files Airflow reads: import it as `jinbao.declared_feeds`, never as `feeds`, so that nothing as
generic as `feeds` lands at the top of site-packages and a checkout and an installed hub import one
and the same module (tests/test_layout.py refuses a bare import).
"""
