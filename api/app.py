"""The liftwatch HTTP API: `create_app()` builds the FastAPI application.

The database pool is created closed and opened in the lifespan (waiting until it holds its
minimum connections), and closed on shutdown, after uvicorn has drained in-flight requests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import orjson
from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import set_json_loads
from starlette.concurrency import run_in_threadpool

from api import metrics, problems
from api.deps import no_nul_characters
from api.pages import PageCache
from api.ratelimit import TokenBuckets
from api.routes import (
    alerts,
    backtests,
    dashboards,
    deadletters,
    events,
    exports,
    health,
    imports,
    places,
    plans,
    register,
    scores,
)
from api.routes import ingest as ingest_routes
from api.tokens import TokenCache
from core.db import database_url, make_pool
from core.settings import Settings, get_settings
from ingest.authorize import RegisterCache

log = logging.getLogger(__name__)

DESCRIPTION = """
Risk rankings, explanations and the fleet register of a district's elevators, for the housing
bureau (区住建委), street offices (街道办) and maintenance contractors (维保单位).

Every request carries an API token (`Authorization: Bearer lw_…`, made with
`liftwatch auth create-token`). What a token sees is its scope: a bureau its district, a street
office its jurisdiction, a contractor the units it maintains, an admin everything. Anything outside
the scope answers 404, exactly as if it did not exist. Errors are RFC 9457 problem details.
"""

TAGS = [
    {
        "name": "register",
        "description": "Districts, street offices, communities, buildings, units, contractors.",
    },
    {
        "name": "events",
        "description": "Faults, inspections, maintenance and status; a unit's timeline.",
    },
    {
        "name": "scores",
        "description": "Risk rankings, explanations, score runs and their comparison.",
    },
    {
        "name": "exports",
        "description": "CSV (UTF-8 with BOM) and XLSX exports with zh-CN or English headers.",
    },
    {
        "name": "alerts",
        "description": "Entrapments, units newly stopped or flagged, units gone silent, "
        "rejection-rate jumps; webhooks that push them out, signed.",
    },
    {"name": "dead letters", "description": "Rejected messages with their raw bytes and reason."},
    {"name": "operations", "description": "Health, readiness and Prometheus metrics."},
]


# The API's queries are keyset-paginated index walks. Parallel workers and JIT cost more to start
# than such a query takes, and a custom plan for a known LIMIT tends to hash-join the whole fleet,
# where the generic plan of the prepared statement walks the rank index: a 50-unit ranking page of
# a 200,000-unit fleet takes ~25 ms the first way and ~1 ms the second (benchmarks/api.py).
SESSION_OPTIONS = (
    "-c jit=off -c max_parallel_workers_per_gather=0 -c plan_cache_mode=force_generic_plan"
)


def api_conninfo(url: str) -> str:
    """The database URL with the API's session options added."""
    params = conninfo_to_dict(url)
    params["options"] = f"{params.get('options') or ''} {SESSION_OPTIONS}".strip()
    return make_conninfo("", **params)


_frozen = False


def _freeze_startup_objects() -> None:
    """Move everything the process holds after startup out of the garbage collector's sight.

    The app, its routes, pydantic models, numpy and the rest make some 180,000 long-lived objects;
    every full collection walked them all, stopping the process for 50-130 ms each time (the
    p99 latency of even GET /healthz under load, benchmarks/api.py). Frozen, they are never
    collected, which they would not be anyway; objects made by requests are collected as before.
    Once per process: the first app's objects are the ones worth freezing.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API application, with its own pool and metrics registry."""
    settings = settings or get_settings()
    # Rankings carry each unit's factors as jsonb; orjson reads them several times faster than
    # the standard library, which is most of the Python time of a ranking page.
    set_json_loads(orjson.loads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = make_pool(api_conninfo(database_url(settings)))
        app.state.pool = pool
        app.state.db_gate = asyncio.Semaphore(pool.max_size)
        await run_in_threadpool(pool.open, wait=True, timeout=30.0)
        _freeze_startup_objects()
        log.info("api ready: pool of %s-%s connections", pool.min_size, pool.max_size)
        try:
            yield
        finally:
            await run_in_threadpool(pool.close)
            log.info("api stopped: pool closed")

    app = FastAPI(
        title="liftwatch API",
        version=version("liftwatch"),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pages load their scripts from a CDN; liftwatch runs offline,
        # so it serves the OpenAPI document only (/openapi.json), for any local viewer.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(no_nul_characters)],
    )
    app.state.settings = settings
    app.state.metrics = metrics.ApiMetrics()
    app.state.ingest_buckets = TokenBuckets(
        rate=settings.api_ingest_rate, burst=settings.api_ingest_burst
    )
    # Tokens verified in the last few seconds are trusted without a database round trip.
    app.state.tokens = TokenCache(settings.api_token_cache_seconds)
    # Ranking pages read in the last few seconds are served again (api/pages.py).
    app.state.pages = PageCache(
        settings.api_page_cache_seconds, max_bytes=settings.api_page_cache_mb * 1024 * 1024
    )
    # Contract changes made through the API reach ingestion within this many seconds.
    app.state.register_cache = RegisterCache(ttl=5.0)
    problems.install(app)
    metrics.install(app, app.state.metrics)
    for module in (
        health,
        register,
        imports,
        events,
        ingest_routes,
        scores,
        backtests,
        plans,
        deadletters,
        places,
        alerts,
        exports,
        dashboards,
    ):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        """The address a person opens first leads to the dashboards."""
        return RedirectResponse("/dashboards/", status_code=303)

    return app
