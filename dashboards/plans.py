"""The renewal plan's pages: the summary with its risk trajectory, one street office's list
(printable), and one building's phases. Pure functions from a plan's stored data to HTML; every
word comes from core/i18n.py and every value is escaped by dashboards/html.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.i18n import Lang, t
from dashboards.html import BASE, Markup, cards, esc, figure, link, page, section, table

SERIES = ("plan", "do_nothing", "age_first")
COLOURS = {"plan": "#1f77b4", "do_nothing": "#d62728", "age_first": "#7f7f7f"}
SOURCES = ("bond", "district", "maintenance_fund", "owners", "advance")


def plan_path(plan_id: int, *parts: str) -> str:
    """The page of a plan (or one of its street offices or buildings)."""
    return "/".join([f"{BASE}/plans/{plan_id}", *(quote(p, safe="") for p in parts)])


def trajectory_figure(trajectory: Mapping[str, Any], lang: Lang) -> go.Figure:
    """Expected failures and stranded household-days per year: plan, do nothing, oldest first."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=(t(lang, "plan.failures"), t(lang, "plan.stranded"))
    )
    years = [str(y) for y in trajectory["years"]]
    for name in SERIES:
        for col, key in ((1, "failures"), (2, "stranded_household_days")):
            fig.add_trace(
                go.Scatter(
                    x=years,
                    y=trajectory[name][key],
                    mode="lines+markers",
                    name=t(lang, f"plan.series.{name}"),
                    legendgroup=name,
                    showlegend=col == 1,
                    line={"color": COLOURS[name], "dash": "solid" if name == "plan" else "dot"},
                ),
                row=1,
                col=col,
            )
    fig.update_layout(height=380, margin={"l": 40, "r": 20, "t": 60, "b": 40})
    fig.update_xaxes(type="category", title_text=t(lang, "plan.year"))
    return fig


def _money(value: object) -> str:
    return f"{float(value or 0):,.0f}"  # type: ignore[arg-type]


def _avoided(trajectory: Mapping[str, Any]) -> dict[str, str]:
    total = {name: {k: sum(v) for k, v in trajectory[name].items()} for name in SERIES}
    return {
        "failures": f"{total['do_nothing']['failures'] - total['plan']['failures']:.2f}",
        "days": f"{total['do_nothing']['stranded_household_days'] - total['plan']['stranded_household_days']:,.0f}",
        "failures_age": f"{total['age_first']['failures'] - total['plan']['failures']:.2f}",
    }


def _run_line(run: Mapping[str, Any], lang: Lang) -> Markup:
    text = t(
        lang,
        "plan.run",
        plan_id=run["plan_id"],
        starts_on=run["starts_on"],
        years=run["years"],
        method=run["method"],
        score_run_id=run["score_run_id"],
    )
    return Markup(f'<p class="run">{esc(text)}</p>')


def summary(
    *,
    run: Mapping[str, Any] | None,
    offices: Sequence[Mapping[str, Any]],
    retrofits: Sequence[Mapping[str, Any]],
    lang: Lang,
) -> str:
    """The plan summary: totals, the risk trajectory, budget scenarios, street offices, retrofits."""
    path = f"{BASE}/plans"
    if run is None:
        body = Markup(f"<p>{esc(t(lang, 'plan.none'))}</p>")
        return page(lang=lang, title=t(lang, "plan.title"), body=body, path=path)
    s = run["summary"]
    parts: list[object] = [_run_line(run, lang)]
    headline = [
        (t(lang, "plan.col.units"), s.get("planned", 0)),
        (t(lang, "plan.col.cost"), _money(s.get("cost"))),
    ]
    headline += [
        (t(lang, f"plan.source.{src}"), _money(s.get("by_source", {}).get(src))) for src in SOURCES
    ]
    parts.append(cards(headline))
    if s.get("gap") is not None:
        gap = f"{s['gap']:.3%}"
        parts.append(Markup(f"<p>{esc(t(lang, 'plan.gap', gap=gap))}</p>"))
    joint = s.get("retrofits")
    if joint:
        text = t(
            lang,
            "plan.retrofits_joint",
            rate=f"{joint['rate']:g}",
            funded=joint["funded"],
            served=joint["residents_served"],
        )
        parts.append(Markup(f"<p>{esc(text)}</p>"))
    trajectory = run.get("trajectory")
    if trajectory:
        parts.append(
            section(
                t(lang, "plan.trajectory"),
                Markup(f"<p>{esc(t(lang, 'plan.avoided', **_avoided(trajectory)))}</p>"),
                figure(trajectory_figure(trajectory, lang), "plan-trajectory"),
            )
        )
    if run.get("scenarios"):
        parts.append(
            section(
                t(lang, "plan.scenarios"),
                table(
                    [
                        t(lang, "plan.col.source"),
                        t(lang, "plan.col.gain"),
                        t(lang, "plan.col.units_added"),
                    ],
                    [
                        [
                            t(lang, f"plan.source.{sc['source']}"),
                            f"{sc['benefit_gain']:.4f}",
                            sc["units_added"],
                        ]
                        for sc in run["scenarios"]
                    ],
                    name="plan-scenarios",
                    numeric=(1, 2),
                ),
            )
        )
    parts.append(
        section(
            t(lang, "plan.street_offices"),
            table(
                [
                    t(lang, "plan.col.street_office"),
                    t(lang, "plan.col.units"),
                    t(lang, "plan.col.cost"),
                    t(lang, "plan.col.starts_on"),
                ],
                [
                    [
                        link(
                            plan_path(run["plan_id"], "street-offices", o["street_office_id"]),
                            o["name_en"] if lang == "en" and o.get("name_en") else o["name"],
                        ),
                        o["units"],
                        _money(o["cost"]),
                        o["first_start"],
                    ]
                    for o in offices
                ],
                name="plan-street-offices",
                numeric=(1, 2),
            ),
        )
    )
    parts.append(_retrofit_section(retrofits, lang))
    downloads = " · ".join(
        str(
            link(
                f"/v1/plans/{run['plan_id']}/export.xlsx?{urlencode({'lang': code})}",
                f"XLSX {code}",
                download="",
            )
        )
        for code in ("zh-CN", "en")
    )
    parts.append(Markup(f'<p class="downloads">{esc(t(lang, "plan.download"))} {downloads}</p>'))
    return page(
        lang=lang,
        title=t(lang, "plan.title"),
        body=Markup("".join(esc(p) for p in parts)),
        path=plan_path(run["plan_id"]),
    )


def _retrofit_section(retrofits: Sequence[Mapping[str, Any]], lang: Lang) -> Markup:
    if not retrofits:
        return section(
            t(lang, "plan.retrofits"), Markup(f"<p>{esc(t(lang, 'plan.retrofits_none'))}</p>")
        )
    return section(
        t(lang, "plan.retrofits"),
        table(
            [
                t(lang, f"plan.col.{c}")
                for c in (
                    "building",
                    "street_office",
                    "rank",
                    "need",
                    "residents_served",
                    "cost",
                    "subsidy",
                    "year",
                )
            ],
            [
                [
                    r["building_id"],
                    r["street_office_id"],
                    r["rank_in_street"],
                    f"{r['need']:.1f}",
                    r["residents_served"],
                    _money(r["cost"]),
                    _money(r["subsidy"]),
                    r["year"] or "—",
                ]
                for r in retrofits
            ],
            name="plan-retrofits",
            numeric=(2, 3, 4, 5, 6),
        ),
    )


WaitText = Callable[[Mapping[str, Any], Lang], str]


def waits_text(waits: Sequence[Mapping[str, Any]], lang: Lang, wait_text: WaitText) -> str:
    """What a building waits for, as one line."""
    return "; ".join(wait_text(w, lang) for w in waits) or t(lang, "plan.waits_none")


def street_office(
    *,
    run: Mapping[str, Any],
    name: str,
    rows: Sequence[Mapping[str, Any]],
    buildings: Sequence[Mapping[str, Any]],
    lang: Lang,
    wait_text: WaitText,
    printable: bool,
) -> str:
    """One street office's units in the plan, with each building's phases and waits."""
    path = plan_path(
        run["plan_id"], "street-offices", rows[0]["street_office_id"] if rows else name
    )
    unit_table = table(
        [
            t(lang, f"plan.col.{c}")
            for c in ("starts_on", "phase", "building", "unit_id", "action", "cost", *SOURCES)
        ],
        [
            [
                r["starts_on"],
                r["phase"],
                link(plan_path(run["plan_id"], "buildings", r["building_id"]), r["building_name"]),
                r["unit_id"] + (" *" if r["mandatory"] else ""),
                t(lang, f"plan.action.{r['action']}"),
                _money(r["cost"]),
                *(_money(r[s]) for s in SOURCES),
            ]
            for r in rows
        ],
        name="plan-rows",
        numeric=(5, 6, 7, 8, 9, 10),
    )
    building_table = table(
        [
            t(lang, "plan.col.building"),
            t(lang, "plan.col.units"),
            t(lang, "plan.col.households"),
            t(lang, "plan.col.phase"),
            t(lang, "plan.waits"),
        ],
        [
            [
                link(plan_path(run["plan_id"], "buildings", b["building_id"]), b["name"]),
                b["units"],
                b["households"],
                "; ".join(
                    t(lang, "plan.phase", phase=p["phase"], starts_on=p["starts_on"])
                    for p in b["phases"]
                ),
                waits_text(b["waits"], lang, wait_text),
            ]
            for b in buildings
        ],
        name="plan-buildings",
        numeric=(1, 2),
    )
    printable_link = link(
        f"{path}?{urlencode({'lang': lang, 'print': 1})}", t(lang, "plan.printable")
    )
    body = Markup(
        "".join(
            esc(p)
            for p in (
                _run_line(run, lang),
                Markup(f"<p>{printable_link}</p>") if not printable else "",
                section(t(lang, "plan.title"), unit_table),
                section(t(lang, "plan.buildings"), building_table),
            )
        )
    )
    return page(
        lang=lang,
        title=t(lang, "plan.street_title", name=name),
        body=body,
        path=path,
        nav=not printable,
    )


def building(
    *,
    run: Mapping[str, Any],
    building: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    lang: Lang,
    wait_text: WaitText,
) -> str:
    """One building's phases, the units in each with their funding, and what it waits for."""
    phases = []
    for p in building["phases"]:
        units = {u["unit_id"] for u in p["units"]}
        phase_rows = [r for r in rows if r["unit_id"] in units]
        phases.append(
            section(
                t(lang, "plan.phase", phase=p["phase"], starts_on=p["starts_on"]),
                table(
                    [t(lang, f"plan.col.{c}") for c in ("unit_id", "action", "cost", *SOURCES)],
                    [
                        [
                            r["unit_id"],
                            t(lang, f"plan.action.{r['action']}"),
                            _money(r["cost"]),
                            *(_money(r[s]) for s in SOURCES),
                        ]
                        for r in phase_rows
                    ],
                    name=f"plan-phase-{p['phase']}",
                    numeric=(2, 3, 4, 5, 6, 7),
                ),
            )
        )
    waits = section(
        t(lang, "plan.waits"),
        Markup(f"<p>{esc(waits_text(building['waits'], lang, wait_text))}</p>"),
    )
    body = Markup("".join(esc(p) for p in (_run_line(run, lang), *phases, waits)))
    return page(
        lang=lang,
        title=f"{building['name']} · {t(lang, 'plan.title')}",
        body=body,
        path=plan_path(run["plan_id"], "buildings", building["building_id"]),
    )
