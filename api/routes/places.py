"""Buildings by need, the 5×5 risk matrix and search: the questions the pages answer, as JSON."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.deps import ConnDep, ScopeDep, require
from api.models import places as m
from api.models.scores import Flag
from api.problems import responses
from api.tokens import Principal
from core.errors import NotFound
from core.scope import Scope
from queries import buildings, matrix, places
from queries.runs import resolve_run

router = APIRouter(prefix="/v1", tags=["places"])

RunQuery = Annotated[int | None, Query(ge=1, le=2**62, description="This run; default the latest.")]


def office_buildings(
    conn: Any,
    scope: Scope,
    street_office_id: str,
    run_id: int | None,
    **filters: Any,
) -> buildings.BuildingPage:
    """A street office's buildings in the scope by need; 404 for an unknown office or run."""
    if (
        places.place(conn=conn, scope=scope, level="street_office", place_id=street_office_id)
        is None
    ):
        raise NotFound(f"no street office {street_office_id!r}")
    run = resolve_run(conn=conn, run_id=run_id)
    if run is None and run_id is not None:
        raise NotFound(f"no score run {run_id}")
    return buildings.building_need(
        conn=conn,
        scope=scope,
        run_id=run["run_id"] if run else None,
        street_office_id=street_office_id,
        **filters,
    )


@router.get(
    "/street-offices/{street_office_id}/buildings",
    response_model=m.BuildingNeedPage,
    summary="A street office's buildings ranked by need",
    description="The same list, in the same order, as the street office page and the buildings "
    "export: by the best rank of each building's units (stopped ones first), then elderly share. "
    "Filter by compound (`community_id`) and by a flag any of its units carries; page with "
    "`limit` and `offset`. For admin, bureau and street office tokens, like its export.",
    responses=responses(401, 403, 404, 422),
)
def building_need(
    conn: ConnDep,
    _principal: Annotated[Principal, Depends(require("admin", "bureau", "street_office"))],
    scope: ScopeDep,
    street_office_id: Annotated[str, Path(max_length=64)],
    run_id: RunQuery = None,
    community_id: Annotated[str | None, Query(max_length=64)] = None,
    flag: Annotated[Flag | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """Buildings with residents, funding, units in service, stopped units and flagged units."""
    return office_buildings(
        conn,
        scope,
        street_office_id,
        run_id,
        community_id=community_id,
        flag=flag,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/risk-matrix",
    response_model=list[m.MatrixCell],
    summary="The 5×5 risk matrix of the units in your scope",
    description="Units of the run (default the latest) counted by likelihood band (probability "
    "of failure: <1%, 1-3%, 3-10%, 10-30%, ≥30%) and consequence band (<0.5, 0.5-1, 1-2, 2-4, "
    "≥4); all 25 cells, likelihood 5 first.",
    responses=responses(401, 404, 422),
)
def risk_matrix(conn: ConnDep, scope: ScopeDep, run_id: RunQuery = None) -> Any:
    """Counts per cell, and flagged units per cell."""
    run = resolve_run(conn=conn, run_id=run_id)
    if run is None:
        raise NotFound("no score run" + (f" {run_id}" if run_id is not None else " yet"))
    return matrix.risk_matrix(conn=conn, scope=scope, run_id=run["run_id"])


@router.get(
    "/search",
    response_model=list[m.SearchHit],
    summary="Find units, buildings and compounds in your scope",
    description="By unit id or registration code, and by building or compound name (any "
    "substring, e.g. 稻香园 or 3号楼).",
    responses=responses(401, 422),
)
def search(
    conn: ConnDep,
    scope: ScopeDep,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> Any:
    """Up to ``limit`` hits of each kind."""
    return places.search(conn=conn, scope=scope, text=q, limit=limit)
