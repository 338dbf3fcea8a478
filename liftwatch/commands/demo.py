"""`liftwatch demo`: load the seed cases and a simulated city through the real paths and serve them."""

from __future__ import annotations

import argparse
from datetime import date

from core.i18n import user_lang
from liftwatch.failures import ensure_port_free


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        help="embedded database and broker, simulated history over MQTT, scored and served",
        description="Start the embedded PostgreSQL and a local broker, import the seed cases and "
        "a simulated city, publish years of history over MQTT through the ingest workers, score "
        "it, and serve the API and dashboards. A second run reuses the loaded data.",
    )
    demo.add_argument(
        "--host", default=None, help="address to serve on (default: LIFTWATCH_API_HOST, 127.0.0.1)"
    )
    demo.add_argument(
        "--port",
        type=int,
        default=None,
        help="port to serve on (default: LIFTWATCH_API_PORT, 8000)",
    )
    demo.add_argument(
        "--units", type=int, default=1500, help="units in the simulated city (default: 1500)"
    )
    demo.add_argument(
        "--since",
        type=date.fromisoformat,
        default=None,
        metavar="DATE",
        help="first day of the simulated history (default: 2019-01-01; later is quicker)",
    )
    demo.add_argument("--reload", action="store_true", help="load the data again even if present")
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from liftwatch.demo import DemoPlan, run_demo

    settings = get_settings()
    args.host = args.host or settings.api_host
    args.port = args.port or settings.api_port

    # Checked first: the demo takes minutes to load before it would find the port taken.
    ensure_port_free(args.host, args.port, lang=user_lang())
    plan = DemoPlan(city_units=args.units, start=args.since or DemoPlan.start)
    return run_demo(plan, host=args.host, port=args.port, reload_data=args.reload)
