"""Partner SFTP endpoints from Airflow connections, for DAG tasks and the plain CLI alike.

Connection id `jinbao_sftp_<partner>`; extras follow Airflow's SFTP provider
where they overlap (`key_file`, `host_key`, `conn_timeout`) plus `known_hosts`,
`zone_root`, `timeout` and `retries`:

    AIRFLOW_CONN_JINBAO_SFTP_POLICE='{"conn_type": "sftp", "host": "sftp.police.example",
      "port": 22, "login": "jinbao", "extra": {"key_file": "/etc/jinbao/ssh/police_ed25519",
      "host_key": "ssh-ed25519 AAAAC3Nza..."}}'

Found by experiment (Airflow 3.3): `airflow.sdk.Connection.get` reads such an
environment variable outside any task and without a metadata DB, and inside a
task it also reaches connections stored in Airflow, so it is used first.
Importing it configures Airflow's logging on the root logger, which the plain
CLI must not inherit, so that is undone outside tasks.  If Airflow is not
importable, the environment variable (JSON or URI) is parsed here.

A connection that asks to skip host-key checking (`no_host_key_check`) or
carries a password is refused: the drop zones are key-only with a pinned host key.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from jinbao.connectors.sftp import SftpTransport


def conn_id(partner: str) -> str:
    return f"jinbao_sftp_{partner}"


@dataclass
class ConnInfo:
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    extra: dict = field(default_factory=dict)


def _from_dict(obj: dict) -> ConnInfo:
    extra = obj.get("extra") or {}
    return ConnInfo(obj.get("host"), obj.get("port"), obj.get("login"), obj.get("password"),
                    json.loads(extra) if isinstance(extra, str) else dict(extra))


def _from_env(cid: str) -> ConnInfo:
    """Airflow's AIRFLOW_CONN_<ID> format (JSON or URI), without Airflow."""
    raw = os.environ.get(f"AIRFLOW_CONN_{cid.upper()}")
    if raw is None:
        raise LookupError(f"connection {cid} not found: set AIRFLOW_CONN_{cid.upper()}")
    if raw.lstrip().startswith("{"):
        return _from_dict(json.loads(raw))
    u = urlsplit(raw)
    extra = dict(parse_qsl(u.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return ConnInfo(unquote(u.hostname or "") or None, u.port, unquote(u.username) if u.username else None,
                    unquote(u.password) if u.password else None, extra)


def _from_airflow(cid: str) -> ConnInfo:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from airflow.sdk import Connection  # Airflow only on this path (the CLI without Airflow uses _from_env)
    try:
        c = Connection.get(cid)
    finally:
        if "AIRFLOW_CTX_DAG_ID" not in os.environ:     # not inside a task: give the CLI its logging back
            root.handlers[:] = handlers
            root.setLevel(level)
    return ConnInfo(c.host, c.port, c.login, c.password, dict(c.extra_dejson or {}))


def connection(partner: str) -> ConnInfo:
    cid = conn_id(partner)
    if importlib.util.find_spec("airflow") is None:      # find_spec: importing would configure logging
        return _from_env(cid)
    return _from_airflow(cid)


def sftp_transport_for(partner: str, given: dict | None = None) -> SftpTransport:
    """The partner's drop zone as a Transport: from `given` (an Airflow-style connection dict,
    Settings.sftp_endpoints) or else from connection `jinbao_sftp_<partner>`."""
    c = _from_dict(given) if given is not None else connection(partner)
    x = c.extra
    cid = conn_id(partner)
    if str(x.get("no_host_key_check", "false")).lower() in ("true", "1", "yes"):
        raise ValueError(f"connection {cid}: no_host_key_check is not allowed; pin host_key or known_hosts")
    if c.password:
        raise ValueError(f"connection {cid} carries a password; drop zones are key-only (extra key_file)")
    missing = [k for k, v in (("host", c.host), ("login", c.login), ("extra.key_file", x.get("key_file")),
                              ("extra.host_key or extra.known_hosts", x.get("host_key") or x.get("known_hosts")))
               if not v]
    if missing:
        raise ValueError(f"connection {cid} lacks {', '.join(missing)}")
    return SftpTransport(host=c.host, port=int(c.port or 22), username=c.login, key_file=x["key_file"],
                         known_hosts=x.get("known_hosts"), host_key=x.get("host_key"),
                         partner_zone_root=x.get("zone_root", "/"),
                         timeout=float(x.get("timeout", x.get("conn_timeout", 10))),
                         retries=int(x.get("retries", 3)))
