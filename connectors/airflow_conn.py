"""Partner endpoints from Airflow connections, for DAG tasks and the CLI alike.

Connection id `jinbao_sftp_<partner>`, so `AIRFLOW_CONN_JINBAO_SFTP_POLICE` (JSON or
URI) works without the Airflow metadata DB; extras: `key_file` (the hub's
private key for that account) and `host_key` (the pinned "<type> <base64>").
"""
from __future__ import annotations

from jinbao.connectors.sftp import SftpEndpoint, SftpTransport


def conn_id(partner: str) -> str:
    return f"jinbao_sftp_{partner}"


def endpoint_for(partner: str) -> SftpEndpoint:
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from airflow.sdk import Connection   # configures logging for Airflow's own processes ...

    c = Connection.get(conn_id(partner))
    if not _in_airflow_task():           # ... which the plain CLI must not inherit
        root.handlers[:] = handlers
        root.setLevel(level)
    extra = c.extra_dejson
    missing = [k for k in ("key_file", "host_key") if not extra.get(k)]
    if not c.host or not c.login or missing:
        raise ValueError(f"connection {conn_id(partner)} needs host, login and extra "
                         f"key_file and host_key (missing: {', '.join(missing) or 'host/login'})")
    return SftpEndpoint(host=c.host, port=int(c.port or 22), username=c.login, key_file=extra["key_file"],
                        host_key=extra["host_key"], timeout=float(extra.get("timeout", 15)),
                        retries=int(extra.get("retries", 3)))


def _in_airflow_task() -> bool:
    import os
    return "AIRFLOW_CTX_DAG_ID" in os.environ


def sftp_transport_for(partner: str) -> SftpTransport:
    return SftpTransport(endpoint_for(partner))
