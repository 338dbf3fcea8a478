"""Per-token token buckets: each token may push `rate` events a second, `burst` at once.

A request is let in while its token's bucket is above zero and then charged for the events it
actually carried, so the bucket may go into debt; the next requests wait until it refills.
"""

from __future__ import annotations

import threading
import time


class TokenBuckets:
    """One bucket per API token, refilled continuously; thread-safe."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        level, at = self._levels.get(key, (float(self.burst), now))
        return min(float(self.burst), level + (now - at) * self.rate)

    def wait(self, key: str) -> float:
        """0.0 when the key may send now, else the seconds until its bucket is above zero."""
        now = time.monotonic()
        with self._lock:
            level = self._level(key, now)
        return 0.0 if level > 0 else (1.0 - level) / self.rate

    def charge(self, key: str, amount: int) -> None:
        """Take `amount` events from the key's bucket (it may go into debt)."""
        now = time.monotonic()
        with self._lock:
            self._levels[key] = (self._level(key, now) - amount, now)
