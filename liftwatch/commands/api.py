"""`liftwatch api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import argparse

from core.i18n import user_lang
from core.settings import get_settings
from liftwatch.failures import ensure_port_free


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings = get_settings()
    api = sub.add_parser(
        "api",
        help="serve the HTTP API (and the dashboards)",
        description="Serve the liftwatch API with uvicorn. The database pool opens at start-up; on "
        "SIGINT/SIGTERM uvicorn stops accepting connections, lets requests in flight finish "
        "(up to --graceful-timeout seconds), then the pool closes. The OpenAPI document is at /openapi.json.",
    )
    api.add_argument(
        "--host",
        default=settings.api_host,
        help="address to listen on (LIFTWATCH_API_HOST; default %(default)s)",
    )
    api.add_argument(
        "--port",
        type=int,
        default=settings.api_port,
        help="port (LIFTWATCH_API_PORT; default %(default)s)",
    )
    api.add_argument(
        "--workers", type=int, default=1, help="worker processes (default %(default)s)"
    )
    api.add_argument(
        "--graceful-timeout",
        type=float,
        default=10.0,
        help="seconds to let requests in flight finish on shutdown (default %(default)s)",
    )
    api.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.server import EVENT_LOOP, GracefulServer
    from core import migrate
    from core.db import database_url

    # Before anything is printed or started: a busy port is the first thing to know.
    ensure_port_free(args.host, args.port, lang=user_lang())
    migrate.upgrade(database_url())
    print(f"liftwatch api on http://{args.host}:{args.port} (OpenAPI at /openapi.json)", flush=True)
    options = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "timeout_graceful_shutdown": args.graceful_timeout,
        "log_level": get_settings().log_level.lower(),
        "proxy_headers": True,
        "loop": EVENT_LOOP,
    }
    if args.workers > 1:
        # uvicorn's supervisor forks the workers and handles their signals itself.
        uvicorn.run("api.app:create_app", workers=args.workers, **options)
    else:
        GracefulServer(uvicorn.Config("api.app:create_app", **options)).run()
    return 0
