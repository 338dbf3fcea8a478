"""Rankings, a unit's explanation, score runs and their comparison; a bureau may start a run."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api import runs
from api.deps import ConnDep, DbDep, ScopeDep, ScorerDep, SettingsDep
from api.models import scores as m
from api.models.common import Day
from api.pages import PageCache
from api.problems import responses
from core.errors import NotFound
from queries import ranking as q
from queries import runs as rq
from queries import units as uq

router = APIRouter(prefix="/v1", tags=["scores"])

RunId = Annotated[int, Path(ge=1, le=2**62, description="A score run's id.")]
Place = Annotated[str | None, Query(max_length=64)]


def _json(body: Any) -> Response:
    # The hot read paths serialize the rows psycopg has already typed with orjson, skipping
    # pydantic validation; the queries select exactly the documented fields, and tests check the
    # bodies against the documented models (and schemathesis against the OpenAPI document).
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")


class RankingQuery:
    """The filters, sort and page of a ranking, shared by the list and its exports."""

    def __init__(
        self,
        *,
        run_id: int | None = None,
        as_of: Day | None = None,
        district_id: str | None = None,
        street_office_id: str | None = None,
        community_id: str | None = None,
        building_id: str | None = None,
        flag: str | None = None,
        contractor_id: str | None = None,
        sort: str = "risk",
    ) -> None:
        self.run_id, self.as_of, self.flag, self.sort = run_id, as_of, flag, sort
        self.places = {
            "district_id": district_id,
            "street_office_id": street_office_id,
            "community_id": community_id,
            "building_id": building_id,
            "contractor_id": contractor_id,
        }

    def arguments(self) -> dict[str, Any]:
        """The filters and sort as keyword arguments of the ranking queries."""
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "flag": self.flag,
            "sort": self.sort,
            **self.places,
        }

    def page_json(self, conn: Any, scope: Any, *, limit: int, cursor: str | None) -> bytes:
        """One page of this ranking in the scope as the API's JSON body; 404 for an unknown run id."""
        body = q.ranking_json(
            conn=conn, scope=scope, limit=limit, cursor=cursor, **self.arguments()
        )
        if body is None:
            if self.run_id is not None:
                raise NotFound(f"no score run {self.run_id}")
            body = orjson.dumps({"run": None, "items": [], "next_cursor": None})
        return body


async def ranking_query(
    run_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="This run; default the latest.")
    ] = None,
    as_of: Annotated[
        Day | None, Query(description="The latest run scored as of this date or before.")
    ] = None,
    district_id: Place = None,
    street_office_id: Place = None,
    community_id: Place = None,
    building_id: Place = None,
    flag: Annotated[m.Flag | None, Query(description="Only units with this flag.")] = None,
    contractor_id: Place = None,
    sort: Annotated[
        m.Sort,
        Query(
            description="risk (priority: PoF x consequence, the run's rank), pof (likelihood of "
            "failure, the run's pof_rank), health or cof."
        ),
    ] = "risk",
) -> RankingQuery:
    """The ranking's query parameters (async: no I/O, so no worker thread)."""
    return RankingQuery(
        run_id=run_id,
        as_of=as_of,
        district_id=district_id,
        street_office_id=street_office_id,
        community_id=community_id,
        building_id=building_id,
        flag=flag,
        contractor_id=contractor_id,
        sort=sort,
    )


RankingQueryDep = Annotated[RankingQuery, Depends(ranking_query)]


@router.get(
    "/rankings",
    response_model=m.RankingPage,
    summary="Risk ranking of the units in your scope",
    description="From the given run, the latest run as of a date, or the latest run. Filter by place, "
    "flag or contractor; sort by risk (priority, the run's rank), pof (likelihood of failure, "
    "the run's pof_rank), health or cof; page with `cursor`.",
    responses=responses(401, 404, 422),
)
async def rankings(
    request: Request,
    db: DbDep,
    scope: ScopeDep,
    query: RankingQueryDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """A page of units, highest risk first by default."""
    pages: PageCache = request.app.state.pages
    key = (scope, *query.arguments().items(), limit, cursor)
    # A request that already holds a connection reads on it, never waiting for another request's
    # read of the page (which may be waiting for that connection) nor sharing its own.
    body = await pages.get_or_read(
        key,
        lambda: db.read(query.page_json, scope, limit=limit, cursor=cursor),
        shared=db.conn is None,
    )
    return Response(body, media_type="application/json")


@router.get(
    "/units/{unit_id}/explanation",
    response_model=m.Explanation,
    summary="Why a unit scores as it does",
    description="Every factor with its contribution and a sentence in Chinese and English, and the "
    "rule behind the flag. 404 when the unit is outside your scope or has no score.",
    responses=responses(401, 404, 422),
)
async def explanation(
    db: DbDep,
    scope: ScopeDep,
    unit_id: Annotated[str, Path(max_length=64)],
    run_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="This run; default the latest.")
    ] = None,
) -> Any:
    """The unit's latest score (or in the given run) with every factor."""
    row = await db.read(
        lambda conn: uq.explanation(conn=conn, scope=scope, unit_id=unit_id, run_id=run_id)
    )
    if row is None:
        raise NotFound(f"no score for unit {unit_id!r}")
    return _json(row)


@router.get(
    "/score-runs",
    response_model=list[m.ScoreRun],
    summary="Stored score runs, newest first",
    responses=responses(401, 422),
)
def list_runs(
    conn: ConnDep, _scope: ScopeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Any:
    """Run metadata only; scores are read through rankings and explanations."""
    return rq.runs(conn=conn, limit=limit)


@router.get(
    "/score-runs/{run_id}",
    response_model=m.ScoreRun,
    summary="One score run",
    responses=responses(401, 404, 422),
)
def get_run(conn: ConnDep, _scope: ScopeDep, run_id: RunId) -> Any:
    """A run's as-of date, policy, model and timings."""
    run = rq.resolve_run(conn=conn, run_id=run_id)
    if run is None:
        raise NotFound(f"no score run {run_id}")
    return run


@router.get(
    "/score-runs/{run_id}/weights",
    response_model=m.RunWeights,
    summary="What predicts failure in this fleet: the run's fitted factor weights",
    description="Each factor's prior weight (the policy's), the weight fitted on the fleet's own "
    "history at the run's date and its 90% interval, and the training window. "
    "`fitted_weights` is null when the run kept the policy's weights.",
    responses=responses(401, 404, 422),
)
def run_weights(conn: ConnDep, _scope: ScopeDep, run_id: RunId) -> Any:
    """The weights behind a run's likelihood of failure."""
    found = rq.run_weights(conn=conn, run_id=run_id)
    if found is None:
        raise NotFound(f"no score run {run_id}")
    return found


@router.post(
    "/score-runs",
    response_model=m.ScoreRun,
    status_code=201,
    summary="Score every unit now and store the run (bureau, admin)",
    description="Runs synchronously with the configured policy and model; a city-sized fleet takes "
    "a while, so large deployments schedule `liftwatch score run` instead.",
    responses=responses(401, 403, 422),
)
def start_run(
    conn: ConnDep,
    principal: ScorerDep,
    settings: SettingsDep,
    body: m.ScoreRunCreate,
    response: Response,
) -> Any:
    """Start a run as of a date (default today); returns it when stored."""
    run = runs.start_run(
        conn, settings=settings, as_of=body.as_of, note=body.note or f"api:{principal.token_id}"
    )
    response.headers["Location"] = f"/v1/score-runs/{run['run_id']}"
    return run


@router.get(
    "/score-runs/{run_a}/compare/{run_b}",
    response_model=m.Comparison,
    summary="What moved up or down from run A to run B, and why",
    responses=responses(401, 404, 422),
)
def compare(
    conn: ConnDep,
    scope: ScopeDep,
    run_a: RunId,
    run_b: RunId,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="At most this many units per list.")
    ] = 20,
) -> Any:
    """Units in your scope that moved most, flags that changed, and the factors behind each move."""
    for run_id in (run_a, run_b):
        if rq.resolve_run(conn=conn, run_id=run_id) is None:
            raise NotFound(f"no score run {run_id}")
    return rq.compare_runs(conn=conn, scope=scope, run_a=run_a, run_b=run_b, limit=limit)
