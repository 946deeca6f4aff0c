"""Which transport a feed uses: its declaration, or the deployment's override.

A transport kind is registered here by name, so a new one (a partner's
front-end database, say) is one entry and never an engine change.  The
envelope is not a kind: `envelope: cms` wraps whichever transport was chosen
(exchange_zone/enveloped.py, the partner protocol around the transport).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from jinbao.connectors.base import Transport
from jinbao.settings import Settings

if TYPE_CHECKING:       # for annotations only: the declarations check their kinds against TRANSPORTS here
    from jinbao.declarations import DeclaredTransport

# Each kind's module is imported when it is chosen (the imports below are inside the factories on
# purpose): SFTP brings paramiko and Airflow's connection code, and frontend_db reads TRANSPORTS back.
def _local(partner: str, cfg: Settings, declared: DeclaredTransport | None = None) -> Transport:
    from jinbao.connectors.local import LocalTransport  # when chosen: local.py loads pyarrow (DAG parsing)
    return LocalTransport(cfg.drop_zones / partner)


def _sftp(partner: str, cfg: Settings, declared: DeclaredTransport | None = None) -> Transport:
    from jinbao.connectors.airflow_conn import sftp_transport_for  # when chosen: paramiko, Airflow
    return sftp_transport_for(partner, cfg.sftp_endpoints.get(partner))


def _frontend_db(partner: str, cfg: Settings, declared: DeclaredTransport | None = None) -> Transport:
    from jinbao.connectors.frontend_db import factory  # cycle: frontend_db reads TRANSPORTS back
    return factory(partner, cfg, declared)


#: kind -> factory(partner, settings, the declaration's transport)
TRANSPORTS: dict[str, Callable[[str, Settings, DeclaredTransport | None], Transport]] = {
    "local": _local, "sftp": _sftp, "frontend_db": _frontend_db}
#: Kinds that are not drop zones: JINBAO_TRANSPORT (which moves every drop zone) never replaces them.
NOT_DROP_ZONES = ("frontend_db",)
#: Envelope kinds a declaration may name.
ENVELOPES = ("none", "cms")


def choice(declared: DeclaredTransport, cfg: Settings) -> tuple[str, str]:
    """(kind, envelope) for a feed: JINBAO_TRANSPORT (e.g. `sftp+cms`) wins over the declaration,
    except for a partner's database, which is no drop zone."""
    if cfg.transport and declared.kind not in NOT_DROP_ZONES:
        kind, _, env = cfg.transport.partition("+")
        return kind, env or "none"
    return declared.kind, declared.envelope


def chosen_transport(partner: str, declared: DeclaredTransport, cfg: Settings) -> tuple[Transport, str]:
    """The feed's transport as chosen, and the envelope it goes in (the partner protocol's to add:
    exchange_zone/enveloped.py `transport_for`)."""
    kind, env = choice(declared, cfg)
    if kind not in TRANSPORTS:
        raise ValueError(f"unknown transport kind {kind!r}; known: {', '.join(sorted(TRANSPORTS))}")
    if env not in ENVELOPES:
        raise ValueError(f"unknown envelope {env!r}; known: {', '.join(ENVELOPES)}")
    return TRANSPORTS[kind](partner, cfg, declared), env
