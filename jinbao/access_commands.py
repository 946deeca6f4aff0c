"""`jinbao access sync`: the roles of jinbao/access.yaml made in Airflow's FAB auth manager.

What `airflow sync-perm` does first (Airflow's own roles and resources), then each declared role
created if missing and given exactly its declared Airflow-wide permissions: one added to the file is
granted, one taken out of it is revoked, so the metadata DB cannot drift from the reviewed file.  A
role's per-DAG permissions are left to the DAGs' `access_control`, which are applied last (as
`airflow sync-perm --include-dags` does) so DAGs parsed before the roles existed get theirs now.
Users are Airflow's business: `airflow users create --role Engineer ...` (docs/access.md).

Imports inside functions: Airflow's FAB provider (a Flask app) loads only when the command runs,
never when the parser is built (`jinbao --help`, jinbao/cli.py).
"""
from __future__ import annotations

from jinbao.access import PER_DAG, AccessError, airflow_permissions

FAB = "FabAuthManager"


def sync(sm, declared: dict[str, frozenset[tuple[str, str]]]) -> dict[str, tuple[list, list]]:
    """Give each declared role exactly its permissions through FAB's security manager `sm`;
    role -> (added, revoked), each a sorted list of (action, resource)."""
    unknown = sorted({(a, r) for perms in declared.values() for a, r in perms
                      if sm.get_action(a) is None or sm.get_resource(r) is None})
    if unknown:
        raise AccessError("jinbao/access.yaml names permissions Airflow does not have: "
                          + ", ".join(f"{a} on {r!r}" for a, r in unknown)
                          + " (Admin's permissions list every name: `airflow roles list -p`)")
    changes = {}
    for name, wanted in declared.items():
        role = sm.find_role(name) or sm.add_role(name)
        have = {(p.action.name, p.resource.name): p for p in role.permissions
                if not p.resource.name.startswith(PER_DAG)}
        added = sorted(wanted - set(have))
        revoked = sorted(set(have) - wanted)
        for action, resource in added:
            sm.add_permission_to_role(role, sm.create_permission(action, resource))
        for pair in revoked:
            sm.remove_permission_from_role(role, have[pair])
        changes[name] = (added, revoked)
    return changes


def cmd_sync(args) -> int:
    # Airflow's configuration and its FAB provider: only this command needs them
    from airflow.configuration import AIRFLOW_CONFIG, conf
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    manager = conf.get("core", "auth_manager")
    if FAB not in manager:
        raise SystemExit(f"Airflow's auth manager is {manager}, which has no roles to sync: the shipped airflow.cfg "
                         f"uses the FAB auth manager, and Airflow read {AIRFLOW_CONFIG}.  Set AIRFLOW_CONFIG to the "
                         "checkout's airflow.cfg, and JINBAO_REPO, JINBAO_HOME, AIRFLOW_HOME and the secrets as "
                         "docs/access.md's \"A new deployment\" does; `make airflow` is a dev setup where everyone "
                         "is admin")
    declared = airflow_permissions()
    with get_application_builder() as appbuilder:
        appbuilder.add_permissions(update_perms=True)      # as `airflow sync-perm`: Airflow's own first
        appbuilder.sm.sync_roles()
        changes = sync(appbuilder.sm, declared)
        appbuilder.sm.create_dag_specific_permissions()     # DAGs already parsed: their access_control
    for name, (added, revoked) in changes.items():
        said = ", ".join(filter(None, [f"{len(added)} granted" if added else "",
                                       f"{len(revoked)} revoked" if revoked else ""])) or "unchanged"
        print(f"{name:<10} {len(declared[name])} permissions ({said})")
        for action, resource in revoked:
            print(f"           revoked {action} on {resource}")
    print("users: `airflow users create --role ROLE ...` (roles: Admin, Viewer, " + ", ".join(declared) + ")")
    return 0


def add_commands(sub, kw) -> None:
    a = sub.add_parser("access", help="the hub's Airflow roles (jinbao/access.yaml, docs/access.md)", **kw)
    a.add_argument("action", choices=["sync"], help="sync: make the declared roles in Airflow's FAB auth "
                   "manager with exactly their declared permissions")
    a.set_defaults(func=cmd_sync)
