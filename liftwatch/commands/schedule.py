"""Running a command again and again, for long-running services (the compose file's scorer)."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn

import psycopg

from core.errors import LiftwatchError


def period(text: str) -> timedelta:
    """An argparse type: ``90s``, ``30m``, ``24h`` or ``7d``."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a period such as 24h, 30m, 7d or 90s, got {text!r}"
        )
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def every(
    interval: timedelta, action: Callable[[], object], *, say: Callable[[str], None]
) -> NoReturn:
    """Do ``action`` now and then once per interval until the process is stopped. A failure
    liftwatch knows (database away, bad input fixed meanwhile) is reported and the next turn
    still comes; a service that stopped at the first one would need a supervisor to score again."""
    while True:
        started = time.monotonic()
        try:
            action()
        except (LiftwatchError, psycopg.Error) as exc:
            say(f"error: {exc}; next attempt in {interval}")
        time.sleep(max(0.0, interval.total_seconds() - (time.monotonic() - started)))
