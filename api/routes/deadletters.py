"""Dead letters: what was rejected, why, and the raw bytes, for the sender to fix and resend."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import ConnDep, ScopeDep
from api.models.common import Instant, Page
from api.problems import responses
from queries import deadletters as q

router = APIRouter(prefix="/v1", tags=["dead letters"])


class DeadLetter(BaseModel):
    """A rejected message: where it came from, the machine-readable reason, the raw payload."""

    dead_letter_id: int
    received_at: datetime
    source: str = Field(examples=["mqtt"])
    topic: str | None = Field(default=None, examples=["liftwatch/v1/C1/U1/fault"])
    contractor_id: str | None = None
    unit_id: str | None = None
    kind: str | None = None
    event_id: UUID | None = None
    reason: str = Field(examples=["unknown_unit"])
    detail: str
    payload_size: int = Field(description="Size of the raw payload as it came, in bytes.")
    payload_truncated: bool = Field(
        default=False,
        description="Only the first bytes of an oversized payload were kept (see payload_sha256).",
    )
    payload_sha256: str | None = Field(
        default=None, description="SHA-256 (hex) of the whole payload, when it was truncated."
    )
    payload_text: str | None = Field(
        default=None, description="The payload kept, when it is UTF-8."
    )
    payload_hex: str | None = Field(default=None, description="First 4 KiB as hex, when not UTF-8.")
    replayed_at: datetime | None = None
    replay_outcome: str | None = None


@router.get(
    "/dead-letters",
    response_model=Page[DeadLetter],
    summary="List rejected messages (a contractor sees only its own)",
    responses=responses(401, 422),
)
def list_dead_letters(
    conn: ConnDep,
    scope: ScopeDep,
    reason: Annotated[str | None, Query(max_length=64, description="Only this reason.")] = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    max_bytes: Annotated[
        int,
        Query(
            ge=1024,
            le=16 * 1024 * 1024,
            description="Stop the page before its payloads pass this many bytes (one at least).",
        ),
    ] = 4 * 1024 * 1024,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    """Newest first; page with `cursor`. A page ends at `limit` items or `max_bytes` of payload."""
    rows, nxt = q.list_dead_letters(
        conn,
        scope=scope,
        reason=reason,
        unit_id=unit_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
        max_bytes=max_bytes,
    )
    return {"items": rows, "next_cursor": nxt}


@router.get(
    "/dead-letters/{dead_letter_id}",
    response_model=DeadLetter,
    summary="Get one rejected message",
    responses=responses(401, 404, 422),
)
def get_dead_letter(
    conn: ConnDep,
    scope: ScopeDep,
    dead_letter_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Any:
    """404 when it does not exist or is not the caller's to see."""
    return q.get_dead_letter(conn, scope=scope, dead_letter_id=dead_letter_id)
