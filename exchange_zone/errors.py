"""Errors that decide where a delivery or a record goes.

A DeliveryRefused refuses the whole delivery: it is moved to quarantine, a
receipt tells the partner why (reason code from quality.reasons.BATCH_REASONS)
and nothing from it is published.  A BadInput names file, line and field so a
person can find the problem without opening a debugger.
"""
from __future__ import annotations


class DeliveryRefused(Exception):
    def __init__(self, reason_code: str, detail: str, file: str | None = None):
        self.reason_code = reason_code
        self.detail = detail
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{reason_code}: {detail}")


class BadInput(DeliveryRefused):
    """Unparseable input, located as precisely as the parser allows."""

    def __init__(self, reason_code: str, detail: str, file: str, line: int | None = None,
                 field: str | None = None):
        self.line = line
        self.field = field
        loc = file + (f", line {line}" if line else "") + (f", field {field}" if field else "")
        super().__init__(reason_code, detail, file=loc)


class TransientFault(RuntimeError):
    """Retrying can cure it (store unreachable, disk full, connection dropped).

    The delivery stays in the partner's inbound/ and its batch stays where it
    was, so the next run (or the Airflow task's retry) carries on; nothing is
    refused for a fault of the hub's own machine room.
    """


#: errno values of an OSError that go away when the machine does (disk full, I/O, network).
_TRANSIENT_ERRNOS = {"ENOSPC", "EDQUOT", "EIO", "EAGAIN", "EBUSY", "ENETDOWN", "ENETUNREACH", "EHOSTUNREACH",
                     "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "ESTALE"}


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same step later may succeed (see docs/reliability.md)."""
    import errno
    import socket

    import sqlalchemy.exc as sx

    if isinstance(exc, TransientFault | ConnectionError | TimeoutError | socket.timeout):
        return True
    if isinstance(exc, sx.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sx.OperationalError | sx.InterfaceError | sx.TimeoutError | sx.DisconnectionError):
        return True
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno) in _TRANSIENT_ERRNOS
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)
