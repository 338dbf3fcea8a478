"""Liveness, readiness and Prometheus metrics: no token needed."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from api.deps import get_pool
from api.problems import problem_response, responses
from core import migrate

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    """The database answers and the schema is current."""

    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    migrations_pending: list[int] = Field(default_factory=list, examples=[[]])


@router.get("/healthz", response_model=Health, summary="Liveness: the process is up")
def healthz() -> Health:
    """Always ok while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: the database answers and no migration is pending",
    responses=responses(503),
)
def readyz(request: Request) -> Response | Ready:
    """503 problem details while the database is unreachable or the schema is behind."""
    try:
        with get_pool(request).connection(timeout=2.0) as conn:
            pending = migrate.info(conn)["migrations_pending"]
    except Exception as exc:
        return problem_response(
            request, status=503, type_="not-ready", title="Not ready", detail=f"database: {exc}"
        )
    if pending:
        return problem_response(
            request,
            status=503,
            type_="not-ready",
            title="Not ready",
            detail=f"migrations pending: {pending}; run `liftwatch db upgrade`",
        )
    return Ready()


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}
    },
)
def metrics(request: Request) -> Response:
    """Request counts and latencies by route, event outcomes, pool use."""
    collectors = request.app.state.metrics
    stats = get_pool(request).get_stats()
    collectors.pool_size.set(stats.get("pool_size", 0))
    collectors.pool_available.set(stats.get("pool_available", 0))
    return Response(collectors.render(), media_type=CONTENT_TYPE_LATEST)
