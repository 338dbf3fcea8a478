"""The tables pages and the report share: the ranking, the 5×5 matrix, buildings by need, and
units by flag per street office. Rows in (as ``queries`` returns them), escaped markup out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from core.i18n import FLAGS, Lang, local_name, t
from core.scope import Scope
from dashboards.alerts import feed
from dashboards.html import (
    BASE,
    Markup,
    esc,
    flag_badge,
    link,
    number,
    place_href,
    section,
    table,
)
from queries.alerts import alerts
from queries.buildings import BuildingNeed
from queries.common import Conn
from queries.matrix import MatrixCell
from queries.places import FlagCounts


def unit_link(unit_id: str, *, offline: bool = False) -> Markup:
    """A link to a unit's page (plain text in the offline report, which links nowhere)."""
    if offline:
        return Markup(f'<span class="id">{esc(unit_id)}</span>')
    return link(f"{BASE}/units/{quote(unit_id, safe='')}", unit_id)


def _place(level: str, place_id: str, name: str, offline: bool) -> object:
    return name if offline else link(place_href(level, place_id), name)


def reasons(items: object, lang: Lang, n: int = 3) -> Markup:
    """A unit's first stored reasons (the ones the exports list too), one per line."""
    field = "zh" if lang == "zh-CN" else "en"
    texts = [str(r.get(field) or "") for r in (items or [])[:n] if isinstance(r, dict)]  # type: ignore[index]
    return Markup("<br>".join(esc(x) for x in texts if x))


RANKING_HEADERS = (
    "col.scope_rank",
    "col.fleet_rank",
    "col.unit",
    "col.building",
    "col.community",
    "col.street_office",
    "col.flag",
    "col.risk",
    "col.pof",
    "col.age",
    "col.reasons",
)


def ranking_table(
    items: Sequence[dict[str, Any]], lang: Lang, *, name: str = "ranking", offline: bool = False
) -> Markup:
    """The ranking's items: the scope's own rank and the fleet rank, the unit, its place and why."""
    rows = [
        [
            u["scope_rank"],
            u["rank"],
            unit_link(u["unit_id"], offline=offline),
            _place("building", u["building_id"], u["building_name"], offline),
            _place("community", u["community_id"], local_name(u, lang, "community_name"), offline),
            _place(
                "street_office",
                u["street_office_id"],
                local_name(u, lang, "street_office_name"),
                offline,
            ),
            flag_badge(u["flag"], lang),
            number(u["risk"], 3),
            number(u["pof"], 3),
            number(u["age"], 1),
            reasons(u["reasons"], lang),
        ]
        for u in items
    ]
    headers = [t(lang, h) for h in RANKING_HEADERS]
    return table(headers, rows, name=name, numeric=(0, 1, 7, 8, 9))


_CELL_COLOURS = {2: "#f1f5e9", 3: "#fff3c4", 4: "#ffd59e", 5: "#ffb199", 6: "#ff8a80"}


def _cell_colour(cell: MatrixCell) -> str:
    # Likelihood + consequence bands from 2 to 10, the usual diagonal shading of a risk matrix.
    score = cell.likelihood + cell.consequence
    return _CELL_COLOURS.get(min(6, max(2, score - 3)), "#f1f5e9")


def matrix_table(
    cells: Sequence[MatrixCell],
    lang: Lang,
    *,
    selected: tuple[int, int] | None = None,
    href: str | None = None,
) -> Markup:
    """The 5×5 matrix: likelihood 5 at the top, consequence 5 on the right, counts per cell; a cell
    links to ``href`` with its bands (no links in the offline report)."""
    by_row: dict[int, list[MatrixCell]] = {}
    for cell in cells:
        by_row.setdefault(cell.likelihood, []).append(cell)
    lines = []
    for likelihood in sorted(by_row, reverse=True):
        tds = []
        for cell in sorted(by_row[likelihood], key=lambda c: c.consequence):
            text = f"{cell.units}" + (f" ({cell.flagged})" if cell.flagged else "")
            content: object = text
            if href is not None and cell.units:
                query = urlencode({"cell": f"{cell.likelihood}-{cell.consequence}"})
                content = link(f"{href}?{query}#matrix", text)
            chosen = ' class="selected"' if selected == (cell.likelihood, cell.consequence) else ""
            tds.append(
                f'<td style="background:{_cell_colour(cell)}"'
                f' data-cell="{cell.likelihood}-{cell.consequence}"{chosen}>{esc(content)}</td>'
            )
        lines.append(f"<tr><th>{likelihood}</th>{''.join(tds)}</tr>")
    footer = "".join(f"<th>{c}</th>" for c in range(1, 6))
    return Markup(
        f'<table class="matrix" data-table="matrix"><tbody>{"".join(lines)}'
        f"<tr><th></th>{footer}</tr></tbody></table>"
        f'<p class="muted">↑ {esc(t(lang, "matrix.likelihood"))} · → {esc(t(lang, "matrix.consequence"))}</p>'
    )


def flag_counts_table(rows: Sequence[FlagCounts], lang: Lang, *, offline: bool = False) -> Markup:
    """Units per street office by flag (the scope's total first)."""
    headers = [t(lang, "col.street_office"), t(lang, "col.units")] + [
        t(lang, f"flag.{f}") for f in FLAGS
    ]
    body = []
    for r in rows:
        if r.street_office_id is None:
            label: object = t(lang, "overview.all")
        else:
            name = local_name({"name": r.name, "name_en": r.name_en}, lang)
            label = _place("street_office", r.street_office_id, name, offline)
        body.append([label, r.units, *(getattr(r, f) for f in FLAGS)])
    return table(headers, body, name="by-street-office", numeric=tuple(range(1, 2 + len(FLAGS))))


BUILDING_HEADERS = (
    "col.need_rank",
    "col.community",
    "col.building",
    "col.households",
    "col.floors",
    "col.elderly",
    "col.units_in_service",
    "col.stopped_by_flag",
    "col.fund",
    "col.max_risk",
    "col.flagged_units",
)


def buildings_table(buildings: Sequence[BuildingNeed], lang: Lang) -> Markup:
    """Buildings by need, each named by (compound, building), with its flagged units."""
    rows = [
        [
            b.need_rank,
            link(
                place_href("community", b.community_id), local_name(b.__dict__, lang, "community")
            ),
            link(place_href("building", b.building_id), b.building_name),
            b.households,
            b.floors,
            "—" if b.elderly_share is None else f"{b.elderly_share:.0%}",
            f"{b.units_in_service} / {b.units}",
            b.stopped,
            t(lang, f"fund.{b.fund_status}"),
            number(b.max_risk, 3),
            Markup(
                " ".join(
                    f"{unit_link(u)} {flag_badge(f, lang)}"
                    for u, f in zip(b.flagged_units, b.flagged_flags, strict=True)
                )
            ),
        ]
        for b in buildings
    ]
    headers = [t(lang, h) for h in BUILDING_HEADERS]
    return table(headers, rows, name="buildings", numeric=(0, 3, 4, 5, 7, 9))


ALERT_ROWS = 10
"""Open alerts a page shows before linking to the whole feed."""


def alert_section(
    conn: Conn, *, scope: Scope, lang: Lang, contractor_id: str | None = None
) -> Markup:
    """The open alerts of a scope (of one contractor's units when given), newest first."""
    items = alerts(conn=conn, scope=scope, limit=ALERT_ROWS)
    if contractor_id is not None:
        items = [a for a in items if a.contractor_id == contractor_id]
    return section(
        t(lang, "alerts.open"),
        feed(items, lang),
        Markup(f"<p>{link(f'{BASE}/alerts', t(lang, 'alerts.title'))}</p>"),
    )
