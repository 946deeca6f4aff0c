"""Who may do what in Airflow: the hub's roles, declared in jinbao/access.yaml (docs/access.md).

Airflow's FAB auth manager keeps roles and their permissions in the metadata DB, and each DAG may
name per-role permissions on itself (`access_control`).  Both halves come from the one file here:
`airflow_permissions` is what `jinbao access sync` writes into each role (Airflow-wide permissions),
`access_control` is what the DAG factory puts on each DAG (which DAGs the role sees and operates).
So "auditors trigger the death report and see nothing else" is one YAML entry, not a list of clicks
in the Security menu that nobody can review.  Parsing stays cheap: the DAG processor reads the file
at every parse (a few KB of YAML, cached per process).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from jinbao import strict_yaml

FILE = Path(__file__).with_name("access.yaml")
#: The hub's DAGs by kind, as `dags:` names them (dags/dag_factory.py says which DAG is which).
KINDS = ("feeds", "release", "report", "housekeeping")
#: What a level grants on the DAG itself (FAB's per-DAG resource "DAGs"); the DAG's parts (runs, task
#: instances, logs, Required Actions) follow from the role's Airflow-wide permissions on them.
LEVELS = {"read": frozenset({"can_read"}), "operate": frozenset({"can_read", "can_edit"})}
ACTIONS = ("can_read", "can_create", "can_edit", "can_delete", "menu_access")
#: Airflow's own roles: used as they are, never declared (docs/access.md).
BUILT_IN = ("Admin", "Op", "User", "Viewer", "Public")
#: The prefixes of FAB's per-DAG resources ("DAG:police.death", "DAG Run:police.death"): `access_control`
#: owns those, `jinbao access sync` leaves them alone.
PER_DAG = ("DAG:", "DAG Run:")


class AccessError(ValueError):
    """access.yaml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    #: DAG kind -> "read" | "operate"
    dags: dict[str, str]
    #: (action, resource) pairs, Airflow-wide
    permissions: frozenset[tuple[str, str]]


def _role(path: Path, name, raw) -> Role:
    where = f"roles.{name}"
    if not isinstance(name, str) or not name.strip() or name in BUILT_IN:
        raise AccessError(f"{path}: {where}: a role needs a name that is not one of Airflow's own "
                          f"({', '.join(BUILT_IN)}: use those as they are)")
    if not isinstance(raw, dict):
        raise AccessError(f"{path}: {where} must be a mapping of description, dags, permissions")
    strict_yaml.refuse_unknown(path, raw, ("description", "dags", "permissions"), AccessError, f"{where}.")
    dags = raw.get("dags") or {}
    if not isinstance(dags, dict):
        raise AccessError(f"{path}: {where}.dags must map a DAG kind ({', '.join(KINDS)}) to read or operate")
    strict_yaml.refuse_unknown(path, dags, KINDS, AccessError, f"{where}.dags.")
    for kind, level in dags.items():
        if level not in LEVELS:
            raise AccessError(f"{path}: {where}.dags.{kind} is {level!r}: say read or operate")
    perms = raw.get("permissions") or {}
    if not isinstance(perms, dict):
        raise AccessError(f"{path}: {where}.permissions must map a resource to a list of actions")
    pairs = set()
    for resource, actions in perms.items():
        if not isinstance(actions, list) or not set(actions) <= set(ACTIONS):
            raise AccessError(f"{path}: {where}.permissions.{resource} must be a list of {', '.join(ACTIONS)}, "
                              f"got {actions!r}")
        if str(resource).startswith(PER_DAG):
            raise AccessError(f"{path}: {where}.permissions.{resource}: a single DAG's permissions come from "
                              "dags:, not from here")
        pairs |= {(action, str(resource)) for action in actions}
    return Role(name=name, description=str(raw.get("description") or ""), dags=dict(dags),
                permissions=frozenset(pairs))


@functools.lru_cache(maxsize=4)
def roles(path: Path = FILE) -> dict[str, Role]:
    """The declared roles by name."""
    raw = strict_yaml.load_mapping(path, AccessError, "the roles declaration")
    strict_yaml.refuse_unknown(path, raw, ("roles",), AccessError)
    if not isinstance(raw.get("roles"), dict) or not raw["roles"]:
        raise AccessError(f"{path}: roles must map a role name to its description, dags and permissions")
    return {name: _role(path, name, spec) for name, spec in raw["roles"].items()}


def access_control(kind: str, path: Path = FILE) -> dict[str, dict[str, set[str]]]:
    """A DAG's `access_control` for a DAG of this kind: each role that sees it, with what it may do."""
    if kind not in KINDS:
        raise ValueError(f"unknown DAG kind {kind!r} (one of {', '.join(KINDS)})")
    return {role.name: {"DAGs": set(LEVELS[role.dags[kind]])}
            for role in roles(path).values() if kind in role.dags}


def airflow_permissions(path: Path = FILE) -> dict[str, frozenset[tuple[str, str]]]:
    """Each declared role's Airflow-wide permissions, (action, resource), as `jinbao access sync` sets them."""
    return {role.name: role.permissions for role in roles(path).values()}
