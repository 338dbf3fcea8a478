"""The drill-down pages below the bureau: a street office's buildings by need, a compound's
buildings, and one building with its units, residents, funding and history.

Each names a building by (compound, building), shows breadcrumbs back to the district, and returns
None when the place is outside the scope or does not exist.
"""

from __future__ import annotations

from math import ceil
from urllib.parse import quote, urlencode

from core.i18n import FLAGS, Lang, local_name, t
from core.scope import Scope
from dashboards import figures
from dashboards.html import (
    Markup,
    breadcrumbs,
    downloads,
    esc,
    figure,
    link,
    number,
    page,
    place_href,
    section,
    table,
)
from dashboards.maps import map_section
from dashboards.tables import alert_section, buildings_table, ranking_table
from queries import buildings, maps, places, ranking
from queries.common import Conn
from queries.runs import resolve_run

PAGE_SIZE = 25
"""Buildings per page of a street office."""


def _filters(
    lang: Lang,
    *,
    action: str,
    compounds: list[places.Crumb],
    community_id: str | None,
    flag: str | None,
) -> Markup:
    compound_options = [f'<option value="">{esc(t(lang, "street.all_compounds"))}</option>'] + [
        f'<option value="{esc(c.id)}"{" selected" if c.id == community_id else ""}>'
        f"{esc(local_name(c.__dict__, lang))}</option>"
        for c in compounds
    ]
    flag_options = [f'<option value="">{esc(t(lang, "street.all_flags"))}</option>'] + [
        f'<option value="{f}"{" selected" if f == flag else ""}>{esc(t(lang, f"flag.{f}"))}</option>'
        for f in FLAGS
    ]
    return Markup(
        f'<form class="filters" method="get" action="{esc(action)}">'
        f'<label>{esc(t(lang, "col.community"))}<select name="community_id">{"".join(compound_options)}</select></label>'
        f'<label>{esc(t(lang, "col.flag"))}<select name="flag">{"".join(flag_options)}</select></label>'
        f'<button type="submit">{esc(t(lang, "street.filter"))}</button></form>'
    )


def _pager(lang: Lang, *, action: str, page_no: int, total: int, keep: dict[str, str]) -> Markup:
    pages = max(1, ceil(total / PAGE_SIZE))
    parts = [esc(t(lang, "paging.page", page=page_no, pages=pages, total=total))]
    if page_no > 1:
        parts.append(
            link(f"{action}?{urlencode({**keep, 'page': page_no - 1})}", t(lang, "paging.prev"))
        )
    if page_no < pages:
        parts.append(
            link(
                f"{action}?{urlencode({**keep, 'page': page_no + 1})}",
                t(lang, "paging.next"),
                rel="next",
            )
        )
    return Markup(f'<div class="pager">{" ".join(parts)}</div>')


def street_office(
    conn: Conn,
    *,
    scope: Scope,
    lang: Lang,
    street_office_id: str,
    community_id: str | None = None,
    flag: str | None = None,
    page_no: int = 1,
    map_tiles: str | None = None,
) -> str | None:
    """A street office's buildings by need, grouped by (compound, building), filtered and paged,
    and on a map when they have coordinates."""
    office = places.place(conn=conn, scope=scope, level="street_office", place_id=street_office_id)
    if office is None:
        return None
    run = resolve_run(conn=conn)
    page_no = max(1, page_no)
    found = buildings.building_need(
        conn=conn,
        scope=scope,
        run_id=run["run_id"] if run else None,
        street_office_id=street_office_id,
        community_id=community_id,
        flag=flag if flag in FLAGS else None,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    action = place_href("street_office", street_office_id)
    keep = {k: v for k, v in (("community_id", community_id), ("flag", flag)) if v}
    compounds = places.communities(conn=conn, scope=scope, street_office_id=street_office_id)
    # Whoever may see the whole office sees its alerts; a contractor, only those of its units.
    feed_scope = (
        Scope("street_office", street_office_id) if scope.role in ("admin", "bureau") else scope
    )
    body = Markup(
        alert_section(conn, scope=feed_scope, lang=lang)
        + section(
            t(lang, "street.filter"),
            _filters(
                lang, action=action, compounds=compounds, community_id=community_id, flag=flag
            ),
        )
        + section(
            t(lang, "street.buildings"),
            Markup(f'<p class="note">{esc(t(lang, "bureau.order_note"))}</p>'),
            buildings_table(found.buildings, lang),
            _pager(lang, action=action, page_no=page_no, total=found.total, keep=keep),
            # The API lets a contractor's token read its units, not export a street office's.
            downloads(
                t(lang, "download.buildings"),
                f"/v1/street-offices/{quote(street_office_id, safe='')}/buildings",
                lang,
            )
            if scope.role != "contractor"
            else "",
        )
        + map_section(
            maps.building_points(
                conn=conn,
                scope=scope,
                run_id=run["run_id"] if run else None,
                street_office_id=street_office_id,
                community_id=community_id,
            ),
            lang,
            tile_url=map_tiles,
        )
        + section(
            t(lang, "street.chart_grouped"),
            figure(figures.building_need(found.buildings, lang), "building-need"),
        )
    )
    name = local_name(office.__dict__, lang)
    return page(
        lang=lang,
        title=t(lang, "street.title", name=name),
        body=body,
        path=action,
        crumbs=breadcrumbs(office.path[:-1], lang),
    )


def compound(
    conn: Conn, *, scope: Scope, lang: Lang, community_id: str, map_tiles: str | None = None
) -> str | None:
    """A compound's buildings by need (and on a map when they have coordinates), with breadcrumbs
    to its street office and district."""
    found = places.place(conn=conn, scope=scope, level="community", place_id=community_id)
    if found is None:
        return None
    run = resolve_run(conn=conn)
    need = buildings.building_need(
        conn=conn,
        scope=scope,
        run_id=run["run_id"] if run else None,
        street_office_id=found.path[1].id,
        community_id=community_id,
    )
    points = maps.building_points(
        conn=conn,
        scope=scope,
        run_id=run["run_id"] if run else None,
        community_id=community_id,
    )
    body = Markup(
        section(t(lang, "compound.buildings"), buildings_table(need.buildings, lang))
        + map_section(points, lang, tile_url=map_tiles)
    )
    return page(
        lang=lang,
        title=t(lang, "compound.title", name=local_name(found.__dict__, lang)),
        body=body,
        path=place_href("community", community_id),
        crumbs=breadcrumbs(found.path[:-1], lang),
    )


def building(conn: Conn, *, scope: Scope, lang: Lang, building_id: str) -> str | None:
    """One building: households, floors, elderly share, funding, redundancy, units and history."""
    found = places.place(conn=conn, scope=scope, level="building", place_id=building_id)
    facts = places.building_facts(conn=conn, scope=scope, building_id=building_id)
    if found is None or facts is None:
        return None
    run = resolve_run(conn=conn)
    units = (
        ranking.ranking(
            conn=conn, scope=scope, run_id=run["run_id"], building_id=building_id, limit=100
        )
        if run
        else None
    )
    history = buildings.building_history(conn=conn, scope=scope, building_id=building_id)
    yes_no = t(lang, "yes" if facts.units_in_service >= 2 else "no")
    fact_table = table(
        [
            t(lang, k)
            for k in (
                "col.households",
                "col.residents",
                "col.floors",
                "col.elderly",
                "col.year_built",
                "col.units_in_service",
                "col.another_serves",
                "col.fund",
                "col.fund_balance",
            )
        ],
        [
            [
                facts.households,
                facts.residents if facts.residents is not None else "—",
                facts.floors,
                "—" if facts.elderly_share is None else f"{facts.elderly_share:.0%}",
                facts.year_built or "—",
                f"{facts.units_in_service} / {facts.units}",
                yes_no,
                t(lang, f"fund.{facts.fund_status}"),
                number(facts.fund_balance, 0),
            ]
        ],
        name="building-facts",
    )
    parts: list[object] = [section(t(lang, "building.facts"), fact_table)]
    if units is not None:
        parts.append(
            section(
                t(lang, "building.units"), ranking_table(units.items, lang, name="building-units")
            )
        )
    if history:
        parts.append(
            section(
                t(lang, "building.history"),
                figure(figures.building_history(history, lang), "building-history"),
            )
        )
    community = found.path[-2]
    title = t(
        lang,
        "building.title",
        community=local_name(community.__dict__, lang),
        name=found.name,
    )
    return page(
        lang=lang,
        title=title,
        body=Markup("".join(esc(p) for p in parts)),
        path=place_href("building", building_id),
        crumbs=breadcrumbs(found.path[:-1], lang),
    )
