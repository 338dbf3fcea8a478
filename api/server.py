"""Serving the app in-process with a clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn

EVENT_LOOP = "asyncio"
"""The event loop uvicorn runs the API on: Python's own, not uvloop (uvicorn's "auto" choice).

Measured with `benchmarks/api.py` and with a bare FastAPI app doing 0.35 ms of work per request:
once one process is CPU-bound at 64 connections, uvloop leaves about one request in a hundred
waiting 0.3-0.8 s (p99 250-550 ms at p50 25 ms), while asyncio's loop serves the same load at
p99 40-55 ms for about a quarter less throughput. A steady tail matters more here than peak
requests per second: a second worker (``--workers``) is the way to more throughput.
"""


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process dies by the
    signal (exit 130/143) and tracebacks leak out of the lifespan; this server only shuts down."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(*_args: object) -> None:
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
