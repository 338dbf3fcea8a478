"""The dashboard pages under /dashboards: plotly figures rendered on the server, shown in the browser.

Pages use the API's tokens and scopes: the token comes from the ``liftwatch_token`` cookie set by
the sign-in page (or a Bearer header). Without a valid token a page sends the browser to sign in.
The language comes from ``?lang=`` (remembered in a cookie), else the browser's Accept-Language.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.deps import COOKIE, ConnDep, SettingsDep, token_from_request
from api.tokens import Principal, authenticate
from core.i18n import Lang, local_name, pick_lang, t
from dashboards import alerts, detail, pages, places
from dashboards import backtest as backtest_page
from dashboards import plans as plan_pages
from dashboards import weights as weights_page
from dashboards.assets import plotly_js_path, stylesheet
from planning.export import wait_text
from queries import plans as plan_queries
from queries import runs as run_queries
from scoring import backtests
from scoring.policy import load_policy

router = APIRouter(prefix="/dashboards", tags=["dashboards"], include_in_schema=False)

LANG_COOKIE = "liftwatch_lang"
_YEAR = 365 * 24 * 3600


def page_lang(request: Request, lang: Annotated[str | None, Query()] = None) -> Lang:
    """The language of this page view."""
    return pick_lang(
        explicit=lang or request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


LangDep = Annotated[Lang, Depends(page_lang)]


def page_principal(request: Request, conn: ConnDep) -> Principal | None:
    """The signed-in caller, or None when the browser must sign in first."""
    token = token_from_request(request)
    return authenticate(conn, token=token) if token else None


PagePrincipalDep = Annotated[Principal | None, Depends(page_principal)]


def _html(request: Request, body: str | None, lang: Lang) -> Response:
    response = HTMLResponse(body if body is not None else pages.not_found(lang))
    if body is None:
        response.status_code = 404
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=_YEAR, samesite="lax")
    return response


def _safe_next(target: str | None) -> str | None:
    # Only pages of this site, so the sign-in form cannot be used to send people elsewhere.
    if (
        not target
        or not target.startswith("/dashboards/")
        or target.startswith("/dashboards/sign-")
    ):
        return None
    return target


def _to_sign_in(request: Request) -> Response:
    return RedirectResponse(f"/dashboards/sign-in?next={quote(request.url.path)}", status_code=303)


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package."""
    return FileResponse(
        plotly_js_path(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/static/dashboards.css")
def css() -> Response:
    """The dashboards' stylesheet."""
    return Response(
        stylesheet(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


def _demo_buttons(request: Request, lang: Lang) -> list[tuple[str, str]]:
    """In the demo, its accounts as (label, token) for one-click sign-in; elsewhere none."""
    accounts: list[dict[str, object]] = getattr(request.app.state, "demo_accounts", [])
    return [
        (t(lang, f"demo.role.{a['role']}", name=local_name(a, lang)), str(a["token"]))
        for a in accounts
    ]


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, lang: LangDep, next: str | None = None) -> Response:
    """The form that takes an API token (and, in the demo, a button per demo account)."""
    body = pages.sign_in(lang, next_path=_safe_next(next), demo=_demo_buttons(request, lang))
    return _html(request, body, lang)


@router.post("/sign-in")
async def sign_in(request: Request, conn: ConnDep, lang: LangDep) -> Response:
    """Check the token, keep it in a cookie and go to the dashboards."""
    # The form is parsed by hand so the app needs no multipart library for one field.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = form.get("token", [""])[0].strip()
    if not token or authenticate(conn, token=token) is None:
        target = _safe_next(request.query_params.get("next"))
        response = _html(request, pages.sign_in(lang, invalid=True, next_path=target), lang)
        response.status_code = 401
        return response
    target = _safe_next(request.query_params.get("next")) or "/dashboards/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=_YEAR)
    return response


@router.get("/sign-out")
def sign_out() -> Response:
    """Forget the token."""
    response = RedirectResponse("/dashboards/sign-in", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    settings: SettingsDep,
    top: Annotated[int, Query(ge=1, le=500)] = pages.FUND_FIRST,
    cell: Annotated[str | None, Query(max_length=8)] = None,
    sort: Annotated[Literal["risk", "pof"], Query()] = "risk",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Each role's first page: the overview, or the street office's or contractor's own page."""
    if principal is None:
        return _to_sign_in(request)
    scope = principal.scope
    if scope.role in ("street_office", "contractor") and scope.bound_to is not None:
        kind = "street-offices" if scope.role == "street_office" else "contractors"
        query = f"?{request.url.query}" if request.url.query else ""
        target = f"/dashboards/{kind}/{quote(scope.bound_to, safe='')}{query}"
        return RedirectResponse(target, status_code=303)
    return overview(request, conn, principal, lang, settings, top, cell, sort, cursor)


@router.get("/overview")
def overview(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    settings: SettingsDep,
    top: Annotated[int, Query(ge=1, le=500)] = pages.FUND_FIRST,
    cell: Annotated[str | None, Query(max_length=8)] = None,
    sort: Annotated[Literal["risk", "pof"], Query()] = "risk",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The scope's own ranking, the units to fund first, counts, the 5×5 matrix and ages."""
    if principal is None:
        return _to_sign_in(request)
    body = pages.overview(
        conn,
        scope=principal.scope,
        lang=lang,
        top=top,
        cell=cell,
        sort=sort,
        cursor=cursor,
        map_tiles=settings.map_tile_url,
    )
    return _html(request, body, lang)


@router.get("/street-offices/{street_office_id}")
def street_office(
    request: Request,
    street_office_id: str,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    settings: SettingsDep,
    community_id: Annotated[str | None, Query(max_length=64)] = None,
    flag: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A street office's buildings ranked by need, filtered by compound and flag, paged."""
    if principal is None:
        return _to_sign_in(request)
    body = places.street_office(
        conn,
        scope=principal.scope,
        lang=lang,
        street_office_id=street_office_id,
        community_id=community_id or None,
        flag=flag or None,
        page_no=page,
        map_tiles=settings.map_tile_url,
    )
    return _html(request, body, lang)


@router.get("/compounds/{community_id}")
def compound(
    request: Request,
    community_id: str,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    settings: SettingsDep,
) -> Response:
    """A compound's buildings by need."""
    if principal is None:
        return _to_sign_in(request)
    body = places.compound(
        conn,
        scope=principal.scope,
        lang=lang,
        community_id=community_id,
        map_tiles=settings.map_tile_url,
    )
    return _html(request, body, lang)


@router.get("/buildings/{building_id}")
def building(
    request: Request, building_id: str, conn: ConnDep, principal: PagePrincipalDep, lang: LangDep
) -> Response:
    """One building: its residents, funding, redundancy, units and history."""
    if principal is None:
        return _to_sign_in(request)
    body = places.building(conn, scope=principal.scope, lang=lang, building_id=building_id)
    return _html(request, body, lang)


@router.get("/search")
def search(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Units, buildings and compounds in scope matching the text."""
    if principal is None:
        return _to_sign_in(request)
    return _html(request, pages.search(conn, scope=principal.scope, lang=lang, text=q), lang)


@router.get("/units/{unit_id}")
def unit(
    request: Request, unit_id: str, conn: ConnDep, principal: PagePrincipalDep, lang: LangDep
) -> Response:
    """One unit's timeline, score history and explanation."""
    if principal is None:
        return _to_sign_in(request)
    return _html(
        request, detail.unit(conn, scope=principal.scope, lang=lang, unit_id=unit_id), lang
    )


@router.get("/contractors/{contractor_id}")
def contractor(
    request: Request, contractor_id: str, conn: ConnDep, principal: PagePrincipalDep, lang: LangDep
) -> Response:
    """A contractor's units, data freshness and rejected messages."""
    if principal is None:
        return _to_sign_in(request)
    body = detail.contractor(conn, scope=principal.scope, lang=lang, contractor_id=contractor_id)
    return _html(request, body, lang)


@router.get("/alerts")
def alert_feed(
    request: Request, conn: ConnDep, principal: PagePrincipalDep, lang: LangDep
) -> Response:
    """The open alerts of the caller's scope."""
    if principal is None:
        return _to_sign_in(request)
    return _html(request, alerts.alerts_page(conn, scope=principal.scope, lang=lang), lang)


@router.get("/age")
def age(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    settings: SettingsDep,
    street_office_id: str | None = None,
    equipment_only: bool = False,
    filtered: bool = False,
) -> Response:
    """Age against failure rate, filterable by street office and fault cause."""
    if principal is None:
        return _to_sign_in(request)
    body = pages.age_failure(
        conn,
        scope=principal.scope,
        lang=lang,
        policy=load_policy(settings.scoring_policy),
        street_office_id=street_office_id or None,
        # Unfiltered views count equipment faults only, as scoring does; the form can widen it.
        equipment_only=equipment_only or not filtered,
    )
    return _html(request, body, lang)


@router.get("/backtest")
def backtest(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    backtest_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """How good the ranking is on the fleet's own data: a stored backtest, printable (bureau)."""
    if principal is None:
        return _to_sign_in(request)
    if principal.role not in ("admin", "bureau"):
        return _html(request, None, lang)
    found = backtests.get(conn, backtest_id=backtest_id)
    if found is None and backtest_id is not None:
        return _html(request, None, lang)
    body = backtest_page.page(found, backtests.listing(conn, limit=20), lang=lang)
    return _html(request, body, lang)


@router.get("/weights")
def weights(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    run_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """What predicts failure in this fleet: a run's fitted factor weights (latest run by default)."""
    if principal is None:
        return _to_sign_in(request)
    body = weights_page.render(run_queries.run_weights(conn=conn, run_id=run_id), lang=lang)
    return _html(request, body, lang)


# The renewal plan's pages: the reads are queries.plans' (scoped), the pages dashboards.plans'.


def _plan_run(conn: ConnDep, principal: Principal, plan_id: int | None) -> dict[str, Any] | None:
    scope = principal.scope
    plan_id = (
        plan_id if plan_id is not None else plan_queries.latest_plan_id(conn=conn, scope=scope)
    )
    return (
        None if plan_id is None else plan_queries.plan_run(conn=conn, scope=scope, plan_id=plan_id)
    )


@router.get("/plans")
def plans_latest(
    request: Request, conn: ConnDep, principal: PagePrincipalDep, lang: LangDep
) -> Response:
    """The newest plan in scope (or a note that there is none)."""
    if principal is None:
        return _to_sign_in(request)
    return _plan_summary(request, conn, principal, lang, None)


@router.get("/plans/{plan_id}")
def plan_summary(
    request: Request, plan_id: int, conn: ConnDep, principal: PagePrincipalDep, lang: LangDep
) -> Response:
    """A plan's summary: totals, risk trajectory, budget scenarios, street offices, retrofits."""
    if principal is None:
        return _to_sign_in(request)
    return _plan_summary(request, conn, principal, lang, plan_id)


def _plan_summary(
    request: Request, conn: ConnDep, principal: Principal, lang: Lang, plan_id: int | None
) -> Response:
    run = _plan_run(conn, principal, plan_id)
    if run is None and plan_id is not None:
        return _html(request, None, lang)
    scope = principal.scope
    offices = (
        plan_queries.street_offices(conn=conn, scope=scope, plan_id=run["plan_id"]) if run else []
    )
    retrofits = (
        plan_queries.plan_retrofits(conn=conn, scope=scope, plan_id=run["plan_id"]) if run else []
    )
    return _html(
        request, plan_pages.summary(run=run, offices=offices, retrofits=retrofits, lang=lang), lang
    )


@router.get("/plans/{plan_id}/street-offices/{street_office_id}")
def plan_street_office(
    request: Request,
    plan_id: int,
    street_office_id: str,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
    print: bool = False,
) -> Response:
    """One street office's units and buildings in a plan; ``?print=1`` for the printable page."""
    if principal is None:
        return _to_sign_in(request)
    run = _plan_run(conn, principal, plan_id)
    scope = principal.scope
    offices = (
        [
            o
            for o in plan_queries.street_offices(conn=conn, scope=scope, plan_id=plan_id)
            if o["street_office_id"] == street_office_id
        ]
        if run
        else []
    )
    if run is None or not offices:
        return _html(request, None, lang)
    office = offices[0]
    body = plan_pages.street_office(
        run=run,
        name=office["name_en"] if lang == "en" and office["name_en"] else office["name"],
        rows=plan_queries.plan_rows(
            conn=conn, scope=scope, plan_id=plan_id, street_office_id=street_office_id
        ),
        buildings=plan_queries.plan_buildings(
            conn=conn, scope=scope, plan_id=plan_id, street_office_id=street_office_id
        ),
        lang=lang,
        wait_text=wait_text,
        printable=print,
    )
    return _html(request, body, lang)


@router.get("/plans/{plan_id}/buildings/{building_id}")
def plan_building(
    request: Request,
    plan_id: int,
    building_id: str,
    conn: ConnDep,
    principal: PagePrincipalDep,
    lang: LangDep,
) -> Response:
    """One building's phases in a plan and what it waits for."""
    if principal is None:
        return _to_sign_in(request)
    run = _plan_run(conn, principal, plan_id)
    scope = principal.scope
    found = (
        plan_queries.plan_buildings(
            conn=conn, scope=scope, plan_id=plan_id, building_id=building_id
        )
        if run
        else []
    )
    if run is None or not found:
        return _html(request, None, lang)
    rows = plan_queries.plan_rows(conn=conn, scope=scope, plan_id=plan_id, building_id=building_id)
    body = plan_pages.building(
        run=run, building=found[0], rows=rows, lang=lang, wait_text=wait_text
    )
    return _html(request, body, lang)
