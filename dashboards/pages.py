"""The dashboard pages: each reads its rows with the caller's scope and returns a whole HTML page.

A page returns None when what it is about is outside the scope (or does not exist); the web layer
answers 404 for both, so the two look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from urllib.parse import quote, urlencode

from core.i18n import FLAGS, Lang, local_name, t
from core.scope import Scope
from dashboards import data, figures
from dashboards.data import Conn
from dashboards.explain import top_reasons
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
    section,
    table,
)

RANKING_ROWS = 50


def as_of_run(run: data.Row | None) -> date:
    """The date ages and rates are shown as of: the ranking's run date, or today before any run."""
    return run["as_of"] if run else date.today()


def unit_link(unit_id: str) -> Markup:
    """A link to a unit's page."""
    return link(f"{BASE}/units/{quote(unit_id, safe='')}", unit_id)


def _reasons(factors: object, lang: Lang, flag_rule: str) -> Markup:
    reasons = top_reasons(factors, lang, n=3)
    return Markup("<br>".join(esc(r) for r in reasons) or esc(flag_rule))


def ranking_table(units: list[data.Row], lang: Lang, *, name: str = "ranking") -> Markup:
    """The ranking: rank, unit, place, flag, scores and the top reasons."""
    headers = [
        t(lang, c)
        for c in (
            "col.rank",
            "col.unit",
            "col.building",
            "col.community",
            "col.street_office",
            "col.flag",
            "col.risk",
            "col.health",
            "col.age",
            "col.reasons",
        )
    ]
    rows = [
        [
            u["rank"],
            unit_link(u["unit_id"]),
            u["building"],
            local_name(u, lang, "community"),
            link(
                f"{BASE}/street-offices/{quote(u['street_office_id'], safe='')}",
                local_name(u, lang, "street_office"),
            ),
            flag_badge(u["flag"], lang),
            number(u["risk"], 3),
            number(u["health"]),
            number(u["age"], 1),
            _reasons(u["factors"], lang, u["flag_rule"]),
        ]
        for u in units
    ]
    return table(headers, rows, name=name, numeric=(0, 6, 7, 8))


def overview(conn: Conn, *, scope: Scope, lang: Lang) -> str:
    """Bureau overview: headline figures, risk matrix, ranking, breakdown and fleet age."""
    run = data.latest_run(conn)
    as_of = as_of_run(run)
    head = data.headline(conn, scope=scope, run_id=run["run_id"] if run else None, as_of=as_of)
    items: list[tuple[str, object]] = [
        (t(lang, "overview.units"), head.get("units", 0)),
        (t(lang, "overview.stopped"), head.get("stopped", 0)),
        (t(lang, "overview.median_age"), number(head.get("median_age"), 1)),
        (t(lang, "overview.past_15"), head.get("past_15", 0)),
    ]
    items += [
        (t(lang, "overview.flagged", flag=t(lang, f"flag.{f}")), head["flags"].get(f, 0))
        for f in FLAGS
        if f != "ok"
    ]
    ages = [
        float(a["age"])
        for a in data.unit_ages(conn, scope=scope, as_of=as_of)
        if a["age"] is not None
    ]
    parts: list[object] = [cards(items)]
    if run is None:
        parts.append(
            section(
                t(lang, "overview.ranking"), Markup(f"<p>{esc(t(lang, 'overview.no_run'))}</p>")
            )
        )
    else:
        # Factors are read only for the rows the table shows; the figures need none.
        units = data.scored_units(
            conn, scope=scope, run_id=run["run_id"], as_of=as_of, with_factors=False
        )
        top = data.scored_units(
            conn, scope=scope, run_id=run["run_id"], as_of=as_of, limit=RANKING_ROWS
        )
        parts += [
            Markup(
                f'<p class="muted">{esc(t(lang, "overview.run", run_id=run["run_id"], as_of=run["as_of"]))}</p>'
            ),
            Markup('<div class="grid">'),
            section(
                t(lang, "overview.risk_matrix"),
                figure(figures.risk_matrix(units, lang), "risk-matrix", post_script=UNIT_CLICK),
            ),
            section(
                t(lang, "overview.breakdown"), figure(figures.breakdown(units, lang), "breakdown")
            ),
            Markup("</div>"),
            section(
                t(lang, "overview.ranking"),
                ranking_table(top, lang),
                downloads(t(lang, "download.ranking"), "/v1/exports/rankings", lang),
            ),
        ]
    parts.append(
        section(
            t(lang, "overview.age_dist"),
            figure(figures.age_distribution(ages, lang), "age-distribution"),
        )
    )
    return page(
        lang=lang,
        title=t(lang, "overview.title_all" if scope.role == "admin" else "overview.title"),
        body=Markup("".join(esc(p) for p in parts)),
        path=f"{BASE}/",
    )


def street_office(conn: Conn, *, scope: Scope, lang: Lang, street_office_id: str) -> str | None:
    """A street office's buildings ranked by need, with residents, funds and flagged units."""
    office = data.street_office(conn, scope=scope, street_office_id=street_office_id)
    if office is None:
        return None
    run = data.latest_run(conn)
    buildings = data.buildings_by_need(
        conn, scope=scope, street_office_id=street_office_id, run_id=run["run_id"] if run else None
    )
    headers = [
        t(lang, c)
        for c in (
            "col.building",
            "col.community",
            "col.households",
            "col.floors",
            "col.elderly",
            "col.in_service",
            "col.stopped",
            "col.fund",
            "col.risk",
            "col.flagged_units",
        )
    ]
    rows = [
        [
            b["name"],
            local_name(b, lang, "community"),
            b["households"],
            b["floors"],
            "—" if b["elderly_share"] is None else f"{float(b['elderly_share']):.0%}",
            b["in_service"],
            b["stopped"],
            t(lang, f"fund.{b['fund_status']}"),
            number(b["max_risk"], 3),
            Markup(
                " ".join(
                    f"{unit_link(u)} {flag_badge(f, lang)}"
                    for u, f in zip(b["flagged"], b["flagged_flags"], strict=True)
                )
            ),
        ]
        for b in buildings
    ]
    body = Markup(
        section(
            t(lang, "street.chart"), figure(figures.building_need(buildings, lang), "building-need")
        )
        + section(
            t(lang, "street.buildings"),
            table(headers, rows, name="buildings", numeric=(2, 3, 4, 5, 6, 8)),
            # The API lets a contractor's token read its units, not export a street office's.
            downloads(
                t(lang, "download.buildings"),
                f"/v1/street-offices/{quote(street_office_id, safe='')}/buildings",
                lang,
            )
            if scope.role != "contractor"
            else "",
        )
    )
    name = local_name(office, lang)
    path = f"{BASE}/street-offices/{quote(street_office_id, safe='')}"
    return page(lang=lang, title=t(lang, "street.title", name=name), body=body, path=path)


def age_failure(
    conn: Conn, *, scope: Scope, lang: Lang, street_office_id: str | None, equipment_only: bool
) -> str:
    """Age against failure rate for every unit in scope, filterable, with the overhaul zone shaded."""
    run = data.latest_run(conn)
    points = data.age_failure(
        conn,
        scope=scope,
        run_id=run["run_id"] if run else None,
        as_of=as_of_run(run),
        street_office_id=street_office_id,
        equipment_only=equipment_only,
    )
    options = [f'<option value="">{esc(t(lang, "age.all"))}</option>'] + [
        f'<option value="{esc(s["street_office_id"])}"{" selected" if s["street_office_id"] == street_office_id else ""}>'
        f"{esc(local_name(s, lang))}</option>"
        for s in data.street_offices(conn, scope=scope)
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
            figure(figures.age_failure(points, lang), "age-failure", post_script=UNIT_CLICK),
        )
    )
    return page(lang=lang, title=t(lang, "age.title"), body=body, path=f"{BASE}/age")


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
