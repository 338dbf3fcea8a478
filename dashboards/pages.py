"""The overview a bureau lands on, the age page, search, sign-in and not-found.

Each page reads what it shows from ``queries`` with the caller's scope and returns a whole HTML
page; a page about something outside the scope returns None, and the web layer answers 404 for
both, so the two look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from core.i18n import FLAGS, Lang, local_name, t
from core.scope import Scope
from dashboards import figures
from dashboards.html import (
    BASE,
    UNIT_CLICK,
    Markup,
    cards,
    downloads,
    esc,
    figure,
    flag_badge,
    link,
    number,
    page,
    place_href,
    section,
    table,
)
from dashboards.maps import map_section
from dashboards.tables import (
    alert_section,
    flag_counts_table,
    matrix_table,
    ranking_table,
    unit_link,
)
from queries import ages, maps, matrix, places, ranking
from queries.common import Conn
from queries.places import Place
from queries.runs import resolve_run
from scoring.policy import Policy

RANKING_ROWS = 50
FUND_FIRST = 10
"""How many units the "fund these first" list shows unless the reader asks for another number."""


def as_of_run(run: dict[str, Any] | None) -> date:
    """The date ages and rates are shown as of: the ranking's run date, or today before any run."""
    return run["as_of"] if run else date.today()


def _district(conn: Conn, scope: Scope) -> Place | None:
    if scope.role != "bureau" or scope.bound_to is None:
        return None
    return places.place(conn=conn, scope=scope, level="district", place_id=scope.bound_to)


def _parse_cell(cell: str | None) -> tuple[int, int] | None:
    if not cell:
        return None
    likelihood, _, consequence = cell.partition("-")
    if likelihood.isdigit() and consequence.isdigit():
        pair = (int(likelihood), int(consequence))
        if all(1 <= band <= 5 for band in pair):
            return pair
    return None


def _matrix_section(
    conn: Conn, *, scope: Scope, lang: Lang, run_id: int, cell: str | None
) -> Markup:
    chosen = _parse_cell(cell)
    cells = matrix.risk_matrix(conn=conn, scope=scope, run_id=run_id)
    parts: list[object] = [
        Markup(f'<p class="muted">{esc(t(lang, "matrix.help"))}</p>'),
        matrix_table(cells, lang, selected=chosen, href=f"{BASE}/overview"),
    ]
    if chosen is not None:
        units = matrix.cell_units(
            conn=conn, scope=scope, run_id=run_id, likelihood=chosen[0], consequence=chosen[1]
        )
        heading = t(lang, "matrix.cell", likelihood=chosen[0], consequence=chosen[1], n=len(units))
        rows = [
            [
                u.rank,
                unit_link(u.unit_id),
                u.building_name,
                local_name(u.__dict__, lang, "community"),
                flag_badge(u.flag, lang),
                number(u.pof, 3),
                number(u.cof, 2),
                number(u.risk, 3),
            ]
            for u in units
        ]
        headers = [
            t(lang, k)
            for k in (
                "col.fleet_rank",
                "col.unit",
                "col.building",
                "col.community",
                "col.flag",
                "col.pof",
                "col.cof",
                "col.risk",
            )
        ]
        parts.append(Markup(f"<h3>{esc(heading)}</h3>"))
        parts.append(
            table(headers, rows, name="matrix-units", numeric=(0, 5, 6, 7))
            if rows
            else Markup(f"<p>{esc(t(lang, 'matrix.cell_empty'))}</p>")
        )
    inner = "".join(esc(p) for p in parts)
    return Markup(f'<section id="matrix"><h2>{esc(t(lang, "matrix.title"))}</h2>{inner}</section>')


def _ranking_section(
    conn: Conn, *, scope: Scope, lang: Lang, run_id: int, sort: str, cursor: str | None
) -> Markup:
    found = ranking.ranking(
        conn=conn, scope=scope, run_id=run_id, sort=sort, limit=RANKING_ROWS, cursor=cursor
    )
    sorts = " · ".join(
        str(esc(t(lang, f"sort.{s}")))
        if s == sort
        else str(link(f"{BASE}/overview?{urlencode({'sort': s})}#ranking", t(lang, f"sort.{s}")))
        for s in ("risk", "pof")
    )
    pager = []
    if cursor is not None:
        pager.append(
            link(f"{BASE}/overview?{urlencode({'sort': sort})}#ranking", t(lang, "ranking.first"))
        )
    if found.next_cursor is not None:
        query = urlencode({"sort": sort, "cursor": found.next_cursor})
        pager.append(link(f"{BASE}/overview?{query}#ranking", t(lang, "ranking.next"), rel="next"))
    return Markup(
        f'<section id="ranking"><h2>{esc(t(lang, "overview.ranking"))}</h2>'
        f"<p>{esc(t(lang, 'ranking.sort'))}: {sorts}</p>"
        f'<p class="muted">{esc(t(lang, "bureau.ranking_note"))}</p>'
        f"{ranking_table(found.items, lang)}"
        f'<div class="pager">{" ".join(pager)}</div>'
        f"{downloads(t(lang, 'download.ranking'), '/v1/exports/rankings', lang)}</section>"
    )


def _map(
    conn: Conn, *, scope: Scope, lang: Lang, run_id: int | None, map_tiles: str | None
) -> Markup | str:
    points = maps.building_points(conn=conn, scope=scope, run_id=run_id)
    return map_section(points, lang, tile_url=map_tiles)


def overview(
    conn: Conn,
    *,
    scope: Scope,
    lang: Lang,
    top: int = FUND_FIRST,
    cell: str | None = None,
    sort: str = "risk",
    cursor: str | None = None,
    map_tiles: str | None = None,
) -> str:
    """The bureau's page: its own ranking, the units to fund first, counts, the 5×5 matrix, ages,
    and its buildings on a map when they have coordinates."""
    run = resolve_run(conn=conn)
    as_of = as_of_run(run)
    district = _district(conn, scope)
    if district is not None:
        title = t(lang, "overview.title_district", name=local_name(district.__dict__, lang))
    else:
        title = t(lang, "overview.title_all" if scope.role == "admin" else "overview.title")
    head = ages.headline(conn=conn, scope=scope, as_of=as_of)
    items: list[tuple[str, object]] = [
        (t(lang, "overview.units"), head.units),
        (t(lang, "overview.stopped"), head.registered_stopped),
        (t(lang, "overview.median_age"), number(head.median_age, 1)),
        (t(lang, "overview.past_15"), head.past_15),
    ]
    parts: list[object] = []
    if run is None:
        parts += [
            cards(items),
            section(
                t(lang, "overview.ranking"), Markup(f"<p>{esc(t(lang, 'overview.no_run'))}</p>")
            ),
            _map(conn, scope=scope, lang=lang, run_id=None, map_tiles=map_tiles),
        ]
    else:
        counts = places.flag_counts(conn=conn, scope=scope, run_id=run["run_id"])
        total = counts[0] if counts and counts[0].street_office_id is None else None
        items += [(t(lang, f"flag.{f}"), getattr(total, f, 0)) for f in FLAGS if f != "ok"]
        top = max(1, min(top, 500))
        first = ranking.ranking(conn=conn, scope=scope, run_id=run["run_id"], limit=top)
        n_form = Markup(
            f'<form class="filters" method="get" action="{BASE}/overview">'
            f"<label>{esc(t(lang, 'bureau.fund_first_n'))}"
            f'<input type="number" name="top" min="1" max="500" value="{top}"></label>'
            f'<button type="submit">{esc(t(lang, "bureau.show"))}</button></form>'
        )
        parts += [
            cards(items),
            Markup(
                f'<p class="muted">{esc(t(lang, "overview.run", run_id=run["run_id"], as_of=run["as_of"]))}</p>'
            ),
            Markup(f'<p class="note" id="order-note">{esc(t(lang, "bureau.order_note"))}</p>'),
            alert_section(conn, scope=scope, lang=lang),
            section(
                t(lang, "bureau.fund_first", n=len(first.items)),
                n_form,
                ranking_table(first.items, lang, name="fund-first"),
            ),
            _matrix_section(conn, scope=scope, lang=lang, run_id=run["run_id"], cell=cell),
            section(t(lang, "bureau.by_office"), flag_counts_table(counts, lang)),
            _map(conn, scope=scope, lang=lang, run_id=run["run_id"], map_tiles=map_tiles),
            _ranking_section(
                conn, scope=scope, lang=lang, run_id=run["run_id"], sort=sort, cursor=cursor
            ),
        ]
        units = ranking.all_ranked(conn=conn, scope=scope, run_id=run["run_id"])[1]
        parts.append(
            section(
                t(lang, "overview.breakdown"), figure(figures.breakdown(units, lang), "breakdown")
            )
        )
    ages_in_scope = ages.unit_ages(conn=conn, scope=scope, as_of=as_of)
    parts.append(
        section(
            t(lang, "overview.age_dist"),
            figure(figures.age_distribution(ages_in_scope, lang), "age-distribution"),
        )
    )
    return page(
        lang=lang,
        title=title,
        body=Markup("".join(esc(p) for p in parts)),
        path=f"{BASE}/overview",
    )


def age_failure(
    conn: Conn,
    *,
    scope: Scope,
    lang: Lang,
    policy: Policy,
    street_office_id: str | None,
    equipment_only: bool,
) -> str:
    """Age against failure rate for every unit in scope, with the policy's overhaul zone shaded."""
    run = resolve_run(conn=conn)
    as_of = as_of_run(run)
    points = ages.age_failure(
        conn=conn,
        scope=scope,
        run_id=run["run_id"] if run else None,
        as_of=as_of,
        street_office_id=street_office_id,
        equipment_only=equipment_only,
    )
    zone = ages.overhaul_zone(conn=conn, policy=policy, as_of=as_of, equipment_only=equipment_only)
    options = [f'<option value="">{esc(t(lang, "age.all"))}</option>'] + [
        f'<option value="{esc(s.id)}"{" selected" if s.id == street_office_id else ""}>'
        f"{esc(local_name(s.__dict__, lang))}</option>"
        for s in places.street_offices(conn=conn, scope=scope)
    ]
    form = Markup(
        f'<form class="filters" method="get" action="{BASE}/age">'
        f'<label>{esc(t(lang, "col.street_office"))}<select name="street_office_id">{"".join(options)}</select></label>'
        f'<label><span><input type="checkbox" name="equipment_only" value="1"{" checked" if equipment_only else ""}> '
        f"{esc(t(lang, 'age.equipment_only'))}</span></label>"
        f'<input type="hidden" name="filtered" value="1">'
        f'<button type="submit">{esc(t(lang, "age.apply"))}</button></form>'
    )
    body = Markup(
        section(t(lang, "age.filter"), form)
        + section(
            t(lang, "age.title"),
            Markup(
                f'<p class="muted">{esc(t(lang, "age.reference", age=f"{zone.age:g}", ratio=f"{zone.ratio:g}", mean=f"{zone.fleet_mean:.2f}", rate=f"{zone.rate:.2f}"))}</p>'
            ),
            figure(
                figures.age_failure(points, lang, zone_age=zone.age, zone_rate=zone.rate),
                "age-failure",
                post_script=UNIT_CLICK,
            ),
        )
    )
    return page(lang=lang, title=t(lang, "age.title"), body=body, path=f"{BASE}/age")


def search(conn: Conn, *, scope: Scope, lang: Lang, text: str) -> str:
    """Units, buildings and compounds in scope whose id, code or name holds the text."""
    hits = places.search(conn=conn, scope=scope, text=text)
    hrefs = {
        "unit": lambda i: f"{BASE}/units/{i}",
        "building": lambda i: place_href("building", i),
        "community": lambda i: place_href("community", i),
    }
    rows = [
        [
            t(lang, f"search.kind.{h.kind}"),
            link(hrefs[h.kind](h.id), h.label),
            local_name(h.__dict__, lang, "community"),
        ]
        for h in hits
    ]
    headers = [t(lang, "col.kind"), t(lang, "search.label"), t(lang, "col.community")]
    body = (
        table(headers, rows, name="search-results")
        if rows
        else Markup(f"<p>{esc(t(lang, 'search.none'))}</p>")
    )
    return page(
        lang=lang,
        title=t(lang, "search.title", q=text),
        body=section("", body),
        path=f"{BASE}/search?{urlencode({'q': text})}",
    )


def not_found(lang: Lang) -> str:
    """The page for anything missing or out of scope."""
    body = Markup(
        f"<p>{esc(t(lang, 'error.not_found'))}</p><p>{link(f'{BASE}/', t(lang, 'error.back'))}</p>"
    )
    return page(lang=lang, title="404", body=body, path=f"{BASE}/")


def sign_in(
    lang: Lang,
    *,
    invalid: bool = False,
    next_path: str | None = None,
    demo: Sequence[tuple[str, str]] = (),
) -> str:
    """The form that takes an access token, then goes on to ``next_path``; ``demo`` accounts
    (label, token) get a button each that signs in with one click."""
    error = f'<p class="error">{esc(t(lang, "sign_in.invalid"))}</p>' if invalid else ""
    action = f"{BASE}/sign-in" + (f"?{urlencode({'next': next_path})}" if next_path else "")
    buttons = "".join(
        f'<form class="demo-account" method="post" action="{esc(action)}">'
        f'<input type="hidden" name="token" value="{esc(token)}">'
        f'<button type="submit">{esc(label)}</button></form>'
        for label, token in demo
    )
    offered = f'<section class="demo"><h2>{esc(t(lang, "demo.sign_in"))}</h2>{buttons}</section>'
    body = Markup(
        f"{offered if demo else ''}{error}<p>{esc(t(lang, 'sign_in.help'))}</p>"
        f'<form class="signin" method="post" action="{esc(action)}">'
        f'<label>{esc(t(lang, "sign_in.token"))} <input name="token" type="password" autocomplete="off" required></label>'
        f'<button type="submit">{esc(t(lang, "sign_in.submit"))}</button></form>'
    )
    return page(
        lang=lang, title=t(lang, "sign_in.title"), body=body, path=f"{BASE}/sign-in", nav=False
    )
