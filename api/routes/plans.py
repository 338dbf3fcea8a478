"""Renewal plans: a bureau (or an admin) makes and reads plans of its district; a street office
reads the rows and buildings of its own jurisdiction."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api.deps import ConnDep, ScopeDep, WriterDep
from api.exports import MEDIA
from api.models import plans as m
from api.problems import responses
from core.errors import ConfigError, Invalid, NotFound
from core.i18n import t
from core.scope import Scope
from planning import store
from planning.catalogue import load_catalogue
from planning.export import plan_xlsx
from planning.funding import parse_budgets, parse_policy
from planning.inputs import latest_run_id, load_fleet
from planning.model import Options
from planning.plan import make_plan
from planning.retrofit import attach_retrofits, rank_retrofits, walkups
from queries import plans as plan_queries

router = APIRouter(prefix="/v1", tags=["plans"])

PlanId = Annotated[int, Path(ge=1, le=2**62, description="A plan run's id.")]
StreetOffice = Annotated[str | None, Query(max_length=64, description="Only this street office.")]


def _next_month(today: date) -> date:
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def _visible_run(conn: Any, scope: Scope, plan_id: int) -> dict[str, Any]:
    run = plan_queries.plan_run(conn=conn, scope=scope, plan_id=plan_id)
    if run is None:
        raise NotFound(f"no plan run {plan_id} in your scope")
    return run


@router.post(
    "/plans",
    response_model=m.PlanRun,
    status_code=201,
    summary="Make and store a renewal plan (bureau, admin)",
    description="Solves synchronously (the MILP stops at 60 s); a bureau's plan covers its district.",
    responses=responses(401, 403, 404, 422),
)
def create_plan(conn: ConnDep, principal: WriterDep, body: m.PlanCreate, response: Response) -> Any:
    """Plan the district's units from a score run under the given policy and budgets."""
    try:
        policy = parse_policy(body.policy_yaml, where="policy_yaml")
        budgets = parse_budgets(body.budgets, years=body.years)
    except ConfigError as exc:
        raise Invalid(exc.detail) from None
    district = principal.scope.bound_to if principal.scope.role == "bureau" else body.district_id
    scope = Scope("bureau", district) if district else principal.scope
    start = body.start or _next_month(date.today())
    options = Options(
        start=start,
        years=body.years,
        period_months=body.period_months,
        one_per_building_per_phase=body.one_per_building,
        excluded=body.excluded,
        min_interval_years=body.min_interval_years,
        retrofit_rate=body.retrofit_rate,
    )
    run_id = latest_run_id(conn, run_id=body.run_id)
    fleet = load_fleet(conn, run_id=run_id, scope=scope, start=start)
    if not fleet.unit_ids:
        raise NotFound(f"score run {run_id} holds no units in your scope")
    catalogue = load_catalogue()
    retrofits = None
    if options.retrofit_rate is not None:
        retrofits = rank_retrofits(walkups(conn, scope=scope), catalogue=catalogue, policy=policy)
    plan = make_plan(
        fleet,
        catalogue=catalogue,
        policy=policy,
        budgets=budgets,
        options=options,
        method=body.method,
        scenarios=body.scenarios,
        retrofits=retrofits,
    )
    if retrofits is None:
        attach_retrofits(
            conn, plan, scope=scope, catalogue=catalogue, policy=policy, budgets=budgets
        )
    plan_id = store.write_plan(
        conn,
        plan,
        score_run_id=run_id,
        district_id=district,
        policy=policy,
        catalogue=catalogue,
        budgets=budgets,
        note=body.note or f"api:{principal.token_id}",
    )
    response.headers["Location"] = f"/v1/plans/{plan_id}"
    return _visible_run(conn, principal.scope, plan_id)


@router.get(
    "/plans",
    response_model=list[m.PlanRunItem],
    summary="Plan runs in your scope, newest first",
    responses=responses(401, 422),
)
def list_plans(
    conn: ConnDep,
    scope: ScopeDep,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 50,
) -> Any:
    """Stored plan runs you may read."""
    return plan_queries.plan_runs(conn=conn, scope=scope, limit=limit)


@router.get(
    "/plans/{plan_id}",
    response_model=m.PlanRun,
    summary="A plan run: summary, risk trajectory, budget scenarios",
    responses=responses(401, 404, 422),
)
def get_plan(conn: ConnDep, scope: ScopeDep, plan_id: PlanId) -> Any:
    """One plan run (a street office gets no district totals)."""
    return _visible_run(conn, scope, plan_id)


@router.get(
    "/plans/{plan_id}/rows",
    response_model=list[m.PlanRow],
    summary="A plan's units: year, phase, action, cost and funding split",
    responses=responses(401, 404, 422),
)
def plan_rows(
    conn: ConnDep, scope: ScopeDep, plan_id: PlanId, street_office_id: StreetOffice = None
) -> Any:
    """The plan's rows in your scope."""
    _visible_run(conn, scope, plan_id)
    return plan_queries.plan_rows(
        conn=conn, scope=scope, plan_id=plan_id, street_office_id=street_office_id
    )


@router.get(
    "/plans/{plan_id}/buildings",
    response_model=list[m.PlanBuilding],
    summary="A plan's buildings: phases and what each waits for",
    responses=responses(401, 404, 422),
)
def plan_buildings(
    conn: ConnDep, scope: ScopeDep, plan_id: PlanId, street_office_id: StreetOffice = None
) -> Any:
    """The plan's buildings in your scope."""
    _visible_run(conn, scope, plan_id)
    return plan_queries.plan_buildings(
        conn=conn, scope=scope, plan_id=plan_id, street_office_id=street_office_id
    )


@router.get(
    "/plans/{plan_id}/retrofits",
    response_model=list[m.PlanRetrofit],
    summary="Walk-ups without elevators ranked by need per street office (reported apart)",
    responses=responses(401, 404, 422),
)
def plan_retrofits(conn: ConnDep, scope: ScopeDep, plan_id: PlanId) -> Any:
    """The plan's retrofit candidates in your scope."""
    _visible_run(conn, scope, plan_id)
    return plan_queries.plan_retrofits(conn=conn, scope=scope, plan_id=plan_id)


@router.get(
    "/plans/{plan_id}/export.xlsx",
    summary="A plan as an XLSX workbook (zh-CN or en)",
    response_class=Response,
    responses={200: {"content": {MEDIA["xlsx"]: {}}}, **responses(401, 404, 422)},
)
def export_plan(
    conn: ConnDep,
    scope: ScopeDep,
    plan_id: PlanId,
    lang: Annotated[
        Literal["zh-CN", "en"], Query(description="Language of the workbook.")
    ] = "zh-CN",
) -> Response:
    """Rows, buildings' phases, trajectory and retrofit candidates in your scope."""
    whole = plan_queries.plan_whole(conn=conn, scope=scope, plan_id=plan_id)
    if whole is None:
        raise NotFound(t(lang, "plan.not_found", plan_id=plan_id))
    data = plan_xlsx(
        run=whole.run,
        rows=whole.rows,
        buildings=whole.buildings,
        retrofits=whole.retrofits,
        lang=lang,
    )
    return Response(
        data,
        media_type=MEDIA["xlsx"],
        headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}-{lang}.xlsx"'},
    )
