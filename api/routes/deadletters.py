"""Dead letters: what was rejected, why, and the raw bytes, for the sender to fix and resend."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import ConnDep, ScopeDep
from api.models.common import Page
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
    payload_size: int = Field(description="Size of the raw payload in bytes.")
    payload_text: str | None = Field(default=None, description="The payload, when it is UTF-8.")
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
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    """Newest first; page with `cursor`."""
    rows, nxt = q.list_dead_letters(
        conn,
        scope=scope,
        reason=reason,
        unit_id=unit_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
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
