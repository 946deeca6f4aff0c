"""Which faults a retry may cure: the store's and its drivers' errors, the disk's and the network's.

The engine sorts every failure of a step by `is_transient`: a transient one
leaves the batch where it was for the next run (or the Airflow task's retry),
anything else is a fault a person must look at.  The database drivers file
"value too long" and "server closed the connection" under the same exception
classes, so the driver's own code decides (SQLSTATE, MySQL error number,
SQLite message).  Errors of moving files to and from a partner are classified
by their transport (connectors/sftp.py).
"""
from __future__ import annotations

import errno
import socket

import sqlalchemy.exc as sx


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
    """Whether retrying the same step later may succeed (see docs/reliability.md).  A store missing a table
    or column is one: the hub's own fault, cured by an operator (`operator_step`), never the partner's."""
    if isinstance(exc, TransientFault | ConnectionError | TimeoutError | socket.timeout):
        return True
    if isinstance(exc, sx.TimeoutError | sx.DisconnectionError):
        return True
    if isinstance(exc, sx.DBAPIError):
        return exc.connection_invalidated or _driver_says_transient(exc) or schema_missing(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno) in _TRANSIENT_ERRNOS
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)


#: SQLSTATE classes a retry can cure: connection (08), resources such as disk full (53),
#: operator intervention such as a server shutdown (57), transaction rollback such as a
#: deadlock (40), system I/O errors (58).
_PG_TRANSIENT_CLASSES = {"08", "40", "53", "57", "58"}
#: MySQL/MariaDB error numbers a retry can cure: too many connections, shutdown, lock wait
#: timeout, deadlock, disk full, can't connect, server gone away, lost connection.
_MYSQL_TRANSIENT = {1021, 1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2055}
#: SQLite messages a retry can cure.
_SQLITE_TRANSIENT = ("locked", "busy", "disk", "unable to open")


def _driver_says_transient(exc) -> bool:
    """Read the driver's own code: "value too long" is forever, "server closed the connection" is not,
    and drivers file both under OperationalError or DataError inconsistently."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate:
        return sqlstate[:2] in _PG_TRANSIENT_CLASSES
    code = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    if code is not None and type(orig).__module__.startswith("pymysql"):
        return code in _MYSQL_TRANSIENT
    if type(orig).__module__.startswith("sqlite3"):
        return any(word in str(orig).lower() for word in _SQLITE_TRANSIENT)
    # no code to read (e.g. a connection that failed before the server answered)
    return isinstance(exc, sx.OperationalError | sx.InterfaceError)


#: A table or column the hub's declarations use that the store lacks: PostgreSQL's undefined table, column
#: and schema; MySQL/MariaDB's no such table, unknown column; SQLite's messages.
_PG_MISSING = {"42P01", "42703", "3F000"}
_MYSQL_MISSING = {1146, 1054}
_SQLITE_MISSING = ("no such table", "no such column", "has no column named")


def schema_missing(exc: BaseException) -> bool:
    """Whether the store lacks a table or column the hub uses (a migration not applied or never written):
    retried after an operator has fixed the store, never a refusal carrying the database's text."""
    if not isinstance(exc, sx.DBAPIError):
        cause = exc.__cause__ or exc.__context__
        return cause is not None and cause is not exc and schema_missing(cause)
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate:
        return sqlstate in _PG_MISSING
    code = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    if code is not None and type(orig).__module__.startswith("pymysql"):
        return code in _MYSQL_MISSING
    return type(orig).__module__.startswith("sqlite3") and any(w in str(orig).lower() for w in _SQLITE_MISSING)


def operator_step(exc: BaseException) -> str:
    """What an operator does about a fault a retry may cure: said in the log line and the CLI's error."""
    if schema_missing(exc):
        return ("the store lacks a table or column the hub uses: run `jinbao db upgrade`; if the store is at the "
                "newest migration already, that table's migration was never written or the table was dropped "
                "(docs/store.md); the delivery stays in inbound/ and is taken again on the next run")
    return "the delivery stays in inbound/ and the batch resumes on the next run"
