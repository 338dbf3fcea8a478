"""Prometheus metrics of the API: requests by route template and status, and their latency.

Each app gets its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ApiMetrics:
    """The API's collectors, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "liftwatch_api_requests_total",
            "HTTP requests handled, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "liftwatch_api_request_seconds",
            "Time to handle a request, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.events = Counter(
            "liftwatch_api_events_total",
            "Events received on POST /v1/events, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "liftwatch_api_pool_connections",
            "Connections in the database pool.",
            registry=self.registry,
        )
        self.pool_available = Gauge(
            "liftwatch_api_pool_available",
            "Idle connections in the database pool.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware counting and timing every HTTP request by route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # Label by template, not by raw path, so ids do not explode the series count; routing
            # has recorded the matched route in the scope by the time the response is sent.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)


def install(app: FastAPI, metrics: ApiMetrics) -> None:
    """Count and time every request."""
    app.add_middleware(MetricsMiddleware, metrics=metrics)
