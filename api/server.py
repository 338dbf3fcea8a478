"""Serving the app in-process with a clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn


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
