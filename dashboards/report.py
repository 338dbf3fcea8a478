"""The offline report: one self-contained HTML file with the ranking and the flagged units.

Made for a meeting room with no network: the stylesheet and plotly.js are inlined, figures are
drawn from data inside the file, and nothing links back to the server.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from html import escape

from core.errors import NotFound
from core.i18n import FLAGS, Lang, local_name, t
from core.scope import Scope
from dashboards import data, figures
from dashboards.assets import plotly_js, stylesheet
from dashboards.data import Conn, Row
from dashboards.explain import top_reasons
from dashboards.html import Markup, cards, esc, figure, flag_badge, number, section, table

TOP_ROWS = 100
"""How many units of the ranking the report lists (every flagged unit is listed regardless)."""


def scope_label(scope: Scope) -> str:
    """How a scope is written on the command line and in the report."""
    return "admin" if scope.bound_to is None else f"{scope.role}:{scope.bound_to}"


def _rows(units: list[Row], lang: Lang) -> list[list[object]]:
    return [
        [
            u["rank"],
            Markup(f'<span class="id">{esc(u["unit_id"])}</span>'),
            Markup(f'<span class="id">{esc(u["registration_code"])}</span>'),
            u["building"],
            local_name(u, lang, "community"),
            local_name(u, lang, "street_office"),
            flag_badge(u["flag"], lang),
            number(u["risk"], 3),
            number(u["health"]),
            number(u["age"], 1),
            Markup("<br>".join(esc(r) for r in top_reasons(u["factors"], lang, n=3))),
        ]
        for u in units
    ]


def _headers(lang: Lang) -> list[str]:
    keys = (
        "col.rank",
        "col.unit",
        "col.registration",
        "col.building",
        "col.community",
        "col.street_office",
        "col.flag",
        "col.risk",
        "col.health",
        "col.age",
        "col.reasons",
    )
    return [t(lang, k) for k in keys]


def _by_street_office(units: list[Row], lang: Lang) -> Markup:
    offices: dict[str, list[Row]] = {}
    for u in units:
        offices.setdefault(u["street_office_id"], []).append(u)
    headers = [t(lang, "col.street_office"), t(lang, "col.units")] + [
        t(lang, f"flag.{f}") for f in FLAGS
    ]
    rows = []
    for group in offices.values():
        counts = Counter(u["flag"] for u in group)
        rows.append(
            [local_name(group[0], lang, "street_office"), len(group)]
            + [counts.get(f, 0) for f in FLAGS]
        )
    return table(headers, rows, name="by-street-office", numeric=tuple(range(1, 2 + len(FLAGS))))


def render(conn: Conn, *, scope: Scope, lang: Lang, generated_at: datetime) -> str:
    """The whole report for everything the scope covers, from the latest score run."""
    run = data.latest_run(conn)
    if run is None:
        raise NotFound("no score run yet; run `liftwatch score run` first")
    units = data.scored_units(conn, scope=scope, run_id=run["run_id"], as_of=run["as_of"])
    if not units:
        raise NotFound(f"no scored unit in scope {scope_label(scope)}")
    flagged = [u for u in units if u["flag"] != "ok"]
    counts = Counter(u["flag"] for u in units)
    headline = cards(
        [(t(lang, "overview.units"), len(units))]
        + [
            (t(lang, "overview.flagged", flag=t(lang, f"flag.{f}")), counts.get(f, 0))
            for f in FLAGS
            if f != "ok"
        ]
    )
    flagged_part: object = (
        table(_headers(lang), _rows(flagged, lang), name="flagged", numeric=(0, 7, 8, 9))
        if flagged
        else Markup(f"<p>{esc(t(lang, 'report.none_flagged'))}</p>")
    )
    body = "".join(
        [
            headline,
            Markup(
                f'<p class="muted">{esc(t(lang, "overview.run", run_id=run["run_id"], as_of=run["as_of"]))}</p>'
            ),
            section(t(lang, "report.flagged"), flagged_part),
            section(t(lang, "overview.breakdown"), _by_street_office(units, lang)),
            Markup('<div class="grid">'),
            section(
                t(lang, "overview.risk_matrix"),
                figure(figures.risk_matrix(units, lang), "risk-matrix"),
            ),
            section(
                t(lang, "overview.breakdown"), figure(figures.breakdown(units, lang), "breakdown")
            ),
            Markup("</div>"),
            section(
                t(lang, "overview.ranking"),
                table(
                    _headers(lang),
                    _rows(units[:TOP_ROWS], lang),
                    name="ranking",
                    numeric=(0, 7, 8, 9),
                ),
            ),
        ]
    )
    title = t(lang, "report.title")
    generated = t(
        lang,
        "report.generated",
        at=generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        scope=scope_label(scope),
    )
    # plotly.js is inlined exactly as plotly's own include_plotlyjs=True does.
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{stylesheet()}</style>
<script>{plotly_js()}</script>
</head>
<body>
<header><span class="brand">{escape(t(lang, "app"))}</span></header>
<main><h1>{escape(title)}</h1>
<p class="muted">{escape(generated)}</p>
{body}
</main>
</body>
</html>
"""
