"""POST /v1/events: contractors (and admins on their behalf) push events over HTTP."""

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ConnDep, PusherDep, SettingsDep
from api.problems import RateLimited, TooLarge, UnsupportedMedia, responses
from core.errors import Invalid
from ingest.http import MAX_ITEMS, ingest_http_batch

router = APIRouter(prefix="/v1", tags=["events"])

_MEDIA = ("application/json", "application/x-ndjson", "application/jsonl", "text/plain")
_EXAMPLE = [
    {
        "kind": "fault",
        "unit_id": "DXY-W-2-A",
        "event_id": "0b6e3c4e-8f00-4c1e-9f0a-3c2d1e0f9a11",
        "occurred_at": "2023-04-12T09:30:00+08:00",
        "code": "01",
    }
]


class ItemResult(BaseModel):
    """What became of one item, in input order."""

    index: int
    event_id: str | None = None
    kind: str | None = None
    outcome: str = Field(examples=["stored"], description="stored, duplicate or rejected.")
    reason: str | None = Field(default=None, examples=["unknown_unit"])
    detail: str | None = None
    problems: list[dict[str, Any]] = Field(default_factory=list)


class IngestSummary(BaseModel):
    """Totals of a batch and one result per item; rejected items are kept as dead letters."""

    stored: int
    duplicates: int
    rejected: dict[str, int] = Field(description="Rejected items by reason.")
    items: list[ItemResult]


@router.post(
    "/events",
    response_model=IngestSummary,
    summary="Push a batch of events (JSON array or NDJSON)",
    description=(
        "Each item is an event payload of the MQTT contract plus `kind` and `unit_id` (and "
        "`contractor_id` when an admin sends on a contractor's behalf). Items are checked one by one: "
        "good ones are stored (a re-sent `event_id` counts as a duplicate), bad ones are answered "
        f"with a reason and kept as dead letters. At most {MAX_ITEMS} items per request; each token "
        "has an events-per-second budget (429 with Retry-After when exhausted)."
    ),
    responses=responses(401, 403, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                # Any item is taken: one that is not an event object is answered (and kept as a
                # dead letter) one by one, like every other bad item, not by refusing the batch.
                "application/json": {
                    "schema": {"type": "array", "items": {}},
                    "example": _EXAMPLE,
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def push_events(
    request: Request, conn: ConnDep, principal: PusherDep, settings: SettingsDep
) -> Any:
    """Store what is valid, dead-letter the rest, and say which was which."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in _MEDIA:
        raise UnsupportedMedia(
            f"send application/json (an array) or application/x-ndjson, not {media!r}"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.api_max_body_bytes:
        raise TooLarge(f"at most {settings.api_max_body_bytes} bytes per request")
    body = await request.body()
    if len(body) > settings.api_max_body_bytes:
        raise TooLarge(f"at most {settings.api_max_body_bytes} bytes per request")
    if not body.strip():
        raise Invalid("the body is empty; send a JSON array of events or NDJSON")
    if media == "application/json" and not body.lstrip().startswith(b"["):
        raise Invalid("an application/json body must be a JSON array of events")
    buckets = request.app.state.ingest_buckets
    wait = buckets.wait(principal.token_id)
    if wait:
        raise RateLimited(
            f"this token may push {settings.api_ingest_rate:g} events a second "
            f"({settings.api_ingest_burst} at once); retry later",
            retry_after=max(1, round(min(wait, 3600))),
        )
    contractor = principal.scope.bound_to if principal.role == "contractor" else None
    result = await run_in_threadpool(
        ingest_http_batch,
        conn,
        body,
        contractor_id=contractor,
        register=request.app.state.register_cache,
    )
    buckets.charge(principal.token_id, result.total)
    counter = request.app.state.metrics.events
    counter.labels("stored").inc(result.stored)
    counter.labels("duplicate").inc(result.duplicates)
    counter.labels("rejected").inc(sum(result.rejected.values()))
    return {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "rejected": dict(result.rejected),
        "items": [item.as_dict() for item in result.items],
    }
