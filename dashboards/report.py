"""The offline report: one self-contained HTML file a bureau takes to a meeting.

It leads with the scope's short list (the units to fund first) and its summaries (counts by flag
and street office, the 5×5 risk matrix), then the scope's whole ranking in pages of 100 units
that open one at a time. It carries no plotly.js and no figure, only tables and the inlined
stylesheet, so it opens with no network and stays small (well under 2 MB for 1,500 units).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from core.errors import NotFound
from core.i18n import FLAGS, Lang, local_name, t
from core.scope import Scope
from dashboards.assets import stylesheet
from dashboards.html import Markup, cards, esc, section, when
from dashboards.tables import flag_counts_table, matrix_table, ranking_table
from queries import health, matrix, places, ranking
from queries.common import Conn
from queries.runs import resolve_run

SHORT_LIST = 20
"""How many units the report's "fund these first" list shows."""
PAGE_ROWS = 100
"""Units per page of the report's full ranking."""


def scope_label(scope: Scope) -> str:
    """How a scope is written on the command line."""
    return "admin" if scope.bound_to is None else f"{scope.role}:{scope.bound_to}"


def scope_name(conn: Conn, scope: Scope, lang: Lang) -> str:
    """The scope as its reader names it: the district, street office or contractor's name."""
    if scope.bound_to is None:
        return t(lang, "overview.title_all")
    if scope.role == "contractor":
        found = health.contractor(conn=conn, scope=scope, contractor_id=scope.bound_to)
        return local_name(found.__dict__, lang) if found else scope.bound_to
    level: places.Level = "district" if scope.role == "bureau" else "street_office"
    place = places.place(conn=conn, scope=scope, level=level, place_id=scope.bound_to)
    return local_name(place.__dict__, lang) if place else scope.bound_to


def _full_list(items: list[dict[str, object]], lang: Lang) -> Markup:
    chunks = []
    for start in range(0, len(items), PAGE_ROWS):
        part = items[start : start + PAGE_ROWS]
        label = f"{part[0]['scope_rank']}–{part[-1]['scope_rank']}"
        chunks.append(
            f"<details{' open' if start == 0 else ''}><summary>{esc(label)}</summary>"
            f"{ranking_table(part, lang, name='ranking', offline=True)}</details>"
        )
    return Markup("".join(chunks))


def render(conn: Conn, *, scope: Scope, lang: Lang, generated_at: datetime) -> str:
    """The whole report for everything the scope covers, from the latest score run."""
    run = resolve_run(conn=conn)
    if run is None:
        raise NotFound("no score run yet; run `liftwatch score run` first")
    _, items = ranking.all_ranked(conn=conn, scope=scope, run_id=run["run_id"])
    if not items:
        raise NotFound(f"no scored unit in scope {scope_label(scope)}")
    counts = places.flag_counts(conn=conn, scope=scope, run_id=run["run_id"])
    total = counts[0]
    headline = cards(
        [(t(lang, "overview.units"), total.units)]
        + [(t(lang, f"flag.{f}"), getattr(total, f)) for f in FLAGS if f != "ok"]
    )
    cells = matrix.risk_matrix(conn=conn, scope=scope, run_id=run["run_id"])
    short = items[:SHORT_LIST]
    body = "".join(
        [
            headline,
            Markup(
                f'<p class="muted">{esc(t(lang, "overview.run", run_id=run["run_id"], as_of=run["as_of"]))}</p>'
            ),
            Markup(f'<p class="note">{esc(t(lang, "bureau.order_note"))}</p>'),
            section(
                t(lang, "bureau.fund_first", n=len(short)),
                ranking_table(short, lang, name="fund-first", offline=True),
            ),
            section(t(lang, "bureau.by_office"), flag_counts_table(counts, lang, offline=True)),
            section(
                t(lang, "matrix.title"),
                Markup(f'<p class="muted">{esc(t(lang, "matrix.help"))}</p>'),
                matrix_table(cells, lang),
            ),
            section(t(lang, "overview.ranking"), _full_list(items, lang)),
        ]
    )
    name = scope_name(conn, scope, lang)
    title = f"{t(lang, 'report.title')} · {name}"
    generated = t(lang, "report.generated", at=when(generated_at), scope=name)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{stylesheet()}</style>
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
