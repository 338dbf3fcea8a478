"""Event queries over time ranges, a unit's timeline, and event ingestion over HTTP."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import ConnDep, ScopeDep
from api.models import events as m
from api.models.common import Instant, Page
from api.problems import responses
from queries import events as q
from queries import register as rq
from queries import units as sq

router = APIRouter(prefix="/v1", tags=["events"])

Since = Annotated[
    Instant | None,
    Query(
        alias="from",
        description="Only events at or after this time (ISO 8601 with offset).",
        examples=["2023-01-01T00:00:00+08:00"],
    ),
]
Until = Annotated[Instant | None, Query(alias="to", description="Only events before this time.")]
UnitId = Annotated[str, Path(max_length=64, description="The unit's id.")]

_KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "faults": ("fault", m.FaultEvent),
    "inspections": ("inspection", m.InspectionEvent),
    "maintenance": ("maintenance", m.MaintenanceEvent),
    "status": ("status", m.StatusSample),
}


def _add_list(path: str, kind: str, model: type[BaseModel]) -> None:
    def handler(
        conn: ConnDep,
        scope: ScopeDep,
        since: Since = None,
        until: Until = None,
        unit_id: Annotated[str | None, Query(max_length=64, description="Only this unit.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Any:
        rows, nxt = q.list_events(
            conn,
            scope=scope,
            kind=kind,
            unit_id=unit_id,
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        )
        return {"items": rows, "next_cursor": nxt}

    router.add_api_route(
        f"/events/{path}",
        handler,
        methods=["GET"],
        response_model=Page[model],  # type: ignore[valid-type]
        summary=f"Query {path} events in a time range",
        description="Newest first; `from` inclusive, `to` exclusive; page with `cursor`. Only units in the caller's scope.",
        responses=responses(401, 422),
        operation_id=f"list_{path}_events",
    )


for _path, (_kind, _model) in _KINDS.items():
    _add_list(_path, _kind, _model)


@router.get(
    "/units/{unit_id}/timeline",
    response_model=m.Timeline,
    summary="A unit's timeline: faults with cause, inspections, maintenance, status, scores",
    responses=responses(401, 404, 422),
)
def unit_timeline(
    conn: ConnDep,
    scope: ScopeDep,
    unit_id: UnitId,
    since: Since = None,
    until: Until = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="At most this many of each kind.")
    ] = 200,
) -> Any:
    """Each list holds the latest `limit` items of its kind in the range, newest first."""
    unit = rq.get_row(conn, resource="unit", scope=scope, key=unit_id)
    events = q.timeline(conn, unit_id=unit_id, since=since, until=until, limit=limit)
    return {
        "unit": unit,
        "faults": events["fault"],
        "inspections": events["inspection"],
        "maintenance": events["maintenance"],
        "status": events["status"],
        "scores": sq.score_history(conn=conn, scope=scope, unit_id=unit_id),
        "changes": q.unit_changes(conn, unit_id=unit_id, limit=limit),
    }
