"""`liftwatch alerts`: sweep for alerts and deliver webhooks, once or in a loop."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "alerts",
        help="find units gone silent and rejection-rate jumps, deliver webhooks",
        description="Entrapments are raised by the ingest workers and flag changes by score runs; "
        "these commands raise and clear the alerts that depend on time passing (units gone "
        "silent, contractors' rejection rates, entrapments gone quiet) and deliver the queued "
        "webhooks, signed and retried with backoff.",
    )
    commands = parser.add_subparsers(dest="alerts_command", metavar="COMMAND", required=True)
    once = commands.add_parser("sweep", help="one sweep and one delivery round, then exit")
    once.set_defaults(func=_sweep)
    run = commands.add_parser(
        "run", help="sweep and deliver every LIFTWATCH_ALERT_SWEEP_SECONDS until stopped"
    )
    run.set_defaults(func=_run)


def _sweep(_args: argparse.Namespace) -> int:
    from core.db import database_url
    from core.settings import get_settings
    from liftwatch.alerting import one_round

    found, (delivered, failed) = one_round(database_url(), settings=get_settings())
    print(f"raised {found.raised}; cleared {found.cleared}")
    print(f"webhook deliveries: {delivered} delivered, {failed} failed (retried later)")
    return 0


def _run(_args: argparse.Namespace) -> int:
    from core.db import database_url
    from core.settings import get_settings
    from liftwatch.alerting import loop

    stop = threading.Event()

    def stopping(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    loop(database_url(), settings=get_settings(), stop=stop)
    return 0
