"""Exports for meetings: a ranking, and a street office's buildings ranked by need, as CSV or XLSX."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from api import exports as x
from api.deps import ConnDep, ScopeDep, require
from api.problems import responses
from api.queries import exports as q
from api.routes.scores import RankingQueryDep
from api.tokens import Principal

router = APIRouter(prefix="/v1", tags=["exports"])

Fmt = Annotated[x.Format, Path(description="csv (UTF-8 with BOM) or xlsx.")]
LangQuery = Annotated[
    x.Lang | None, Query(description="Header language; default from Accept-Language, else zh-CN.")
]
AcceptLanguage = Annotated[str | None, Header(max_length=200, include_in_schema=False)]

RANKING_COLUMNS = (
    "rank",
    "unit_id",
    "registration_code",
    "district_id",
    "street_office_id",
    "community_id",
    "building_id",
    "building_name",
    "contractor_id",
    "flag",
    "risk",
    "health",
    "pof",
    "cof",
    "reasons",
)
BUILDING_COLUMNS = (
    "top_rank",
    "building_id",
    "building_name",
    "community_id",
    "community",
    "floors",
    "households",
    "residents",
    "elderly_share",
    "units",
    "units_in_service",
    "another_serves",
    "worst_flag",
    "max_risk",
    "fund_status",
    "fund_balance",
)
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            x.MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "The file, as an attachment.",
    }
}


def _file(body: bytes, fmt: str, name: str) -> Response:
    return Response(
        body,
        media_type=x.MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get(
    "/exports/rankings.{fmt}",
    response_class=Response,
    summary="The whole ranking in your scope as CSV or XLSX",
    description="Same filters as GET /v1/rankings; every page, in rank (or the chosen) order.",
    responses={**_FILE, **responses(401, 404, 422)},
)
def export_ranking(
    conn: ConnDep,
    scope: ScopeDep,
    fmt: Fmt,
    query: RankingQueryDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Any:
    """A table of every ranked unit with its flag and main reasons."""
    chosen = x.pick_lang(lang, accept_language)
    run, items = q.all_ranked(lambda cursor: query.page(conn, scope, limit=1000, cursor=cursor))
    headers, rows = x.table(items, RANKING_COLUMNS, chosen)
    name = f"ranking-run{run['run_id']}" if run else "ranking"
    title = "风险排名" if chosen == "zh-CN" else "Risk ranking"
    return _file(x.render(fmt, headers, rows, title=title), fmt, name)


@router.get(
    "/street-offices/{street_office_id}/buildings.{fmt}",
    response_class=Response,
    summary="A street office's buildings ranked by need, as CSV or XLSX",
    description="Households, elderly share, floors, whether another elevator still serves the "
    "building, funding, and the worst flag and best rank of its units in the run (default latest). "
    "For admin, bureau and street office tokens.",
    responses={**_FILE, **responses(401, 403, 404, 422)},
)
def export_buildings(
    conn: ConnDep,
    _principal: Annotated[Principal, Depends(require("admin", "bureau", "street_office"))],
    scope: ScopeDep,
    street_office_id: Annotated[str, Path(max_length=64)],
    fmt: Fmt,
    run_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Any:
    """One row per building of the office, most in need first."""
    chosen = x.pick_lang(lang, accept_language)
    rows = q.street_office_buildings(
        conn, scope=scope, street_office_id=street_office_id, run_id=run_id
    )
    headers, cells = x.table(rows, BUILDING_COLUMNS, chosen)
    title = "楼栋清单" if chosen == "zh-CN" else "Buildings"
    return _file(x.render(fmt, headers, cells, title=title), fmt, f"buildings-{street_office_id}")
