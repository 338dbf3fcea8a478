"""What the command line tells a person when something outside it fails: one line, exit code 2.

A wrong database or broker address, a missing extension, a busy port, a file that cannot be read:
each becomes one sentence, in the user's language (``LIFTWATCH_LANG``, else the locale), naming
what is wrong and the setting or flag that fixes it. The traceback is for ``--debug`` (or
``LIFTWATCH_LOG_LEVEL=DEBUG``) only.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout

from core.errors import LiftwatchError
from core.i18n import Lang, t

# errno values that mean "nobody answered at that address"; the CLI's only network peers are the
# database (psycopg raises its own errors) and the MQTT broker (raw socket errors from paho).
_UNREACHABLE = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EADDRNOTAVAIL,
}


class PortBusy(LiftwatchError):
    """The address a server was asked to listen on is taken (or cannot be used)."""

    status, type, title = 409, "port-busy", "Port in use"


def ensure_port_free(host: str, port: int, *, lang: Lang) -> None:
    """Raise PortBusy, naming --port, when a server could not listen on host:port."""
    try:
        with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
            # The same option uvicorn sets: a port left in TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise PortBusy(
            t(lang, "cli.port_busy", host=host, port=port, reason=_reason(exc))
        ) from None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def describe(exc: BaseException, *, lang: Lang) -> str:
    """One line for a person about an error that stopped a command."""
    if isinstance(exc, LiftwatchError):
        # A failure to reach the database or the broker, wrapped on its way up, is told as such.
        cause = exc.__cause__
        if isinstance(cause, psycopg.OperationalError | OSError):
            return describe(cause, lang=lang)
        return exc.detail
    if isinstance(exc, psycopg.errors.UndefinedFile | psycopg.errors.FeatureNotSupported) and (
        "timescaledb" in str(exc).lower()
    ):
        return t(lang, "cli.extension", extension="timescaledb", reason=_first_line(exc))
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return t(lang, "cli.schema", where=_database_address(), reason=_first_line(exc))
    if isinstance(exc, psycopg.OperationalError | PoolTimeout) and not isinstance(
        exc, psycopg.errors.QueryCanceled
    ):
        return t(lang, "cli.database", where=_database_address(), reason=_first_line(exc))
    if isinstance(exc, socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in _UNREACHABLE and exc.filename is None
    ):
        return t(lang, "cli.broker", where=_broker_address(), reason=_reason(exc))
    if isinstance(exc, OSError) and exc.filename is not None:
        return t(lang, "cli.file", path=exc.filename, reason=_reason(exc))
    if isinstance(exc, UnicodeDecodeError):
        return t(lang, "cli.encoding", reason=_first_line(exc))
    return t(lang, "cli.unexpected", kind=type(exc).__name__, reason=_first_line(exc))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _reason(exc: OSError) -> str:
    return exc.strerror or _first_line(exc)


def _database_address() -> str:
    url = os.environ.get("LIFTWATCH_DATABASE_URL")
    if not url:
        return "(embedded)"
    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unreadable URL)"
    # Host, port and database only: the URL may hold a password.
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname') or ''}"


def _broker_address() -> str:
    url = os.environ.get("LIFTWATCH_BROKER_URL")
    if not url:
        return "(local broker)"
    return url.split("@")[-1]
