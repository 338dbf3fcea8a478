"""The alert loop: sweep for alerts that depend on time passing, then deliver queued webhooks.

One loop per deployment is enough (``liftwatch alerts run``, or the demo's own thread); running
several is safe, since each sweep is one transaction and each delivery is claimed before it is
sent.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import psycopg

from api.webhooks import deliver_due
from core.db import connect
from core.settings import Settings
from ingest.alerts import SweepResult, sweep

log = logging.getLogger(__name__)


def one_round(url: str, *, settings: Settings) -> tuple[SweepResult, tuple[int, int]]:
    """One sweep and one delivery round; returns what each did."""
    with connect(url, autocommit=True) as conn:
        found = sweep(conn, now=datetime.now(UTC), settings=settings)
        delivered = deliver_due(conn, settings=settings)
    return found, delivered


def loop(url: str, *, settings: Settings, stop: threading.Event) -> None:
    """Rounds every ``LIFTWATCH_ALERT_SWEEP_SECONDS`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            found, (delivered, failed) = one_round(url, settings=settings)
            if any(found.raised.values()) or any(found.cleared.values()) or delivered or failed:
                log.info(
                    "alerts: raised %s, cleared %s; webhooks delivered %d, failed %d",
                    found.raised, found.cleared, delivered, failed,
                )  # fmt: skip
        except psycopg.OperationalError as exc:
            log.warning("alert round skipped, database unavailable: %s", exc)
        stop.wait(settings.alert_sweep_seconds)
