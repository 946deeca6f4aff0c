"""jinbao/access.yaml: what each of the hub's DAGs grants whom, and a malformed declaration refused by name.
The roles in a real Airflow: tests/dags/test_access_live.py (REST API), tests/dags/test_access_ui.py (the UI)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jinbao.access import FILE, AccessError, access_control, airflow_permissions, roles
from jinbao.declarations import declared

REPO = Path(__file__).resolve().parents[2]
OPERATE = {"DAGs": {"can_read", "can_edit"}}
READ = {"DAGs": {"can_read"}}


def test_who_sees_and_operates_each_kind_of_dag():
    assert access_control("feeds") == {"Engineer": OPERATE}
    assert access_control("release") == {"Engineer": OPERATE}
    assert access_control("report") == {"Engineer": READ, "Auditor": OPERATE}


def test_no_declared_role_reaches_secrets_users_or_every_dag():
    admins_only = {"Connections", "Variables", "Configurations", "Users", "Roles", "Passwords", "Providers",
                   "Audit Logs", "Triggers"}
    for name, perms in airflow_permissions().items():
        assert not {r for _, r in perms} & admins_only, name
        assert not {r for a, r in perms if a != "can_read" and r == "Pools"}, name
        # "DAGs" Airflow-wide would open every DAG: only the menu entry is granted, the DAGs come from dags:
        assert {a for a, r in perms if r == "DAGs"} <= {"menu_access"}, name
    # the auditors' permissions open nothing but what the report DAG's access_control lets them see; the
    # UI's DAG list asks for HITL Detail (tests/dags/test_access_ui.py), answering one is the engineers'
    assert ("can_read", "HITL Detail") in airflow_permissions()["Auditor"]
    assert ("can_edit", "HITL Detail") not in airflow_permissions()["Auditor"]
    # the plugins' list (the navigation's link to the hub's reports) is read by engineers; its page
    # (Admin > Plugins, menu_access) stays the admins'
    assert {name for name, perms in airflow_permissions().items() if {r for _, r in perms} & {"Plugins"}} \
        == {"Engineer"}
    assert {a for a, r in airflow_permissions()["Engineer"] if r == "Plugins"} == {"can_read"}


def test_the_dag_factory_puts_the_declaration_on_every_dag():
    sys.path.insert(0, str(REPO / "dags"))
    try:
        import dag_factory                  # dags/ is the DAG folder, not a package: as the DAG processor loads it
    finally:
        sys.path.remove(str(REPO / "dags"))
    dags = dag_factory.build_dags()
    AUDIT_DAG, RELEASE_DAG = dag_factory.AUDIT_DAG, dag_factory.RELEASE_DAG
    assert dags[AUDIT_DAG].access_control == access_control("report")
    assert dags[RELEASE_DAG].access_control == access_control("release")
    for housekeeping in (dag_factory.PURGE_DAG, dag_factory.KEYS_DAG):
        assert dags[housekeeping].access_control == access_control("housekeeping") == {"Engineer": OPERATE}
    feeds = declared().feeds
    assert feeds and all(dags[name].access_control == access_control("feeds") for name in feeds)


@pytest.mark.parametrize("text, said", [
    ("roles: {Admin: {dags: {report: read}}}", "not one of Airflow's own"),
    ("roles: {Clerk: {dags: {report: write}}}", "say read or operate"),
    ("roles: {Clerk: {dags: {reports: read}}}", "roles.Clerk.dags.reports"),
    ("roles: {Clerk: {permission: {}}}", "roles.Clerk.permission"),
    ("roles: {Clerk: {permissions: {Connections: [can_peek]}}}", "roles.Clerk.permissions.Connections"),
    ("roles: {Clerk: {permissions: {'DAG:police.death': [can_read]}}}", "come from dags:"),
    ("roles: {}", "roles must map"),
])
def test_a_malformed_declaration_is_refused_naming_the_key(tmp_path, text, said):
    path = tmp_path / "access.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(AccessError, match=str(path)) as err:
        roles(path)
    assert said in str(err.value)


def test_the_shipped_declaration_loads():
    assert set(roles(FILE)) == {"Engineer", "Auditor"}
    with pytest.raises(ValueError, match="unknown DAG kind"):
        access_control("everything")


def test_sync_without_the_shipped_config_says_how_to_set_it(tmp_path):
    """A newcomer's first try: the venv's `jinbao access sync` without AIRFLOW_CONFIG reads Airflow's
    default config (the simple auth manager) and is told which file was read and what to set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "JINBAO_"))}
    env.update(HOME=str(tmp_path), AIRFLOW_HOME=str(tmp_path / "airflow"), JINBAO_HOME=str(tmp_path / "home"))
    done = subprocess.run([str(Path(sys.executable).parent / "jinbao"), "access", "sync"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    said = done.stderr.strip().splitlines()[-1]
    assert "SimpleAuthManager" in said and str(tmp_path / "airflow" / "airflow.cfg") in said
    assert "AIRFLOW_CONFIG" in said and "JINBAO_REPO" in said and "docs/access.md" in said
