"""Exports for meetings: a ranking, and a street office's buildings ranked by need, as CSV or XLSX."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from api import exports as x
from api.deps import ConnDep, ScopeDep, require
from api.problems import responses
from api.routes.places import office_buildings
from api.routes.scores import RankingQueryDep
from api.tokens import Principal
from core.errors import NotFound
from core.i18n import t
from queries.ranking import all_ranked

router = APIRouter(prefix="/v1", tags=["exports"])

Fmt = Annotated[x.Format, Path(description="csv (UTF-8 with BOM) or xlsx.")]
LangQuery = Annotated[
    x.Lang | None, Query(description="Header language; default from Accept-Language, else zh-CN.")
]
AcceptLanguage = Annotated[str | None, Header(max_length=200, include_in_schema=False)]

C = x.Column
RANKING_COLUMNS = (
    C("scope_rank", "col.scope_rank"),
    C("rank", "col.fleet_rank"),
    C("unit_id", "col.unit"),
    C("registration_code", "col.registration"),
    C("district_name", "col.district", english="district_name_en"),
    C("district_id", "col.district_code"),
    C("street_office_name", "col.street_office", english="street_office_name_en"),
    C("street_office_id", "col.street_office_code"),
    C("community_name", "col.community", english="community_name_en"),
    C("community_id", "col.community_code"),
    C("building_name", "col.building"),
    C("building_id", "col.building_code"),
    C("households", "col.households"),
    C("floors", "col.floors"),
    C("installed_on", "col.installed"),
    C("renewed_on", "col.renewed"),
    C("age", "col.age"),
    C("service_status", "col.status_registered", labels="service"),
    C("contractor_name", "col.contractor", english="contractor_name_en"),
    C("contractor_id", "col.contractor_code"),
    C("flag", "col.flag", labels="flag"),
    C("risk", "col.risk"),
    C("health", "col.health"),
    C("pof", "col.pof"),
    C("cof", "col.cof"),
    C("reasons", "col.reasons"),
)
BUILDING_COLUMNS = (
    C("need_rank", "col.need_rank"),
    C("community", "col.community", english="community_en"),
    C("community_id", "col.community_code"),
    C("building_name", "col.building"),
    C("building_id", "col.building_code"),
    C("floors", "col.floors"),
    C("households", "col.households"),
    C("residents", "col.residents"),
    C("elderly_share", "col.elderly"),
    C("units", "col.units"),
    C("units_in_service", "col.units_in_service"),
    C("another_serves", "col.another_serves", labels="yes_no"),
    C("stopped", "col.stopped_by_flag"),
    C("worst_flag", "col.worst_flag", labels="flag"),
    C("top_rank", "col.fleet_rank"),
    C("max_risk", "col.max_risk"),
    C("fund_status", "col.fund", labels="fund"),
    C("fund_balance", "col.fund_balance"),
    C("lat", "col.lat"),
    C("lon", "col.lon"),
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
    run, items = all_ranked(conn=conn, scope=scope, **query.arguments())
    if run is None and query.run_id is not None:
        raise NotFound(f"no score run {query.run_id}")
    headers, rows = x.table(items, RANKING_COLUMNS, chosen)
    name = f"ranking-run{run['run_id']}" if run else "ranking"
    title = t(chosen, "overview.ranking")
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
    need = office_buildings(conn, scope, street_office_id, run_id)
    headers, cells = x.table((b.__dict__ for b in need.buildings), BUILDING_COLUMNS, chosen)
    title = t(chosen, "street.buildings")
    return _file(x.render(fmt, headers, cells, title=title), fmt, f"buildings-{street_office_id}")
