"""Pure figure builders: rows in, a plotly figure out, every label in the page language.

Nothing here touches the database or the request, so each builder is tested on plain data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from core.i18n import FLAGS, STRINGS, Lang, t
from dashboards.explain import contributions

Row = Mapping[str, Any]

FLAG_COLORS = {
    "stopped": "#7f0000",
    "replace_or_overhaul": "#d62728",
    "safety_assessment": "#ff7f0e",
    "watch": "#e6b800",
    "ok": "#7fa37f",
}
CAUSE_COLORS = {
    "equipment": "#d62728",
    "external": "#1f77b4",
    "misuse": "#9467bd",
    "unknown": "#7f7f7f",
}
FRESHNESS = ("online", "offline", "late", "silent", "never")
FRESHNESS_COLORS = {
    "online": "#2ca02c",
    "offline": "#ff7f0e",
    "late": "#e6b800",
    "silent": "#d62728",
    "never": "#7f7f7f",
}
OVERHAUL_AGE = 15.0


def _layout(fig: go.Figure, *, height: int = 380, **extra: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 50, "r": 20, "t": 30, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        font={"family": "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"},
        **extra,
    )
    return fig


def _count_axis(title: str, largest: float) -> dict[str, Any]:
    # Counts are whole numbers: small ranges get a tick per unit instead of 0.2 steps.
    axis: dict[str, Any] = {"title": {"text": title}, "rangemode": "tozero"}
    if largest <= 10:
        axis["dtick"] = 1
    return axis


def breakdown(units: Sequence[Row], lang: Lang) -> go.Figure:
    """Street offices and their communities sized by units, coloured by their share of flagged units."""
    offices: dict[str, list[Row]] = {}
    communities: dict[tuple[str, str], list[Row]] = {}
    for u in units:
        offices.setdefault(u["street_office_id"], []).append(u)
        communities.setdefault((u["street_office_id"], u["community_id"]), []).append(u)
    ids, labels, parents, values, colors = [], [], [], [], []

    def add(node: str, label: str, parent: str, rows: list[Row]) -> None:
        ids.append(node)
        labels.append(label)
        parents.append(parent)
        values.append(len(rows))
        colors.append(sum(1 for r in rows if r["flag"] != "ok") / len(rows))

    if units:
        add("all", t(lang, "overview.all"), "", list(units))
    for office, rows in offices.items():
        add(f"s/{office}", _name(rows[0], "street_office_name", lang), "all", rows)
    for (office, community), rows in communities.items():
        add(f"c/{office}/{community}", _name(rows[0], "community_name", lang), f"s/{office}", rows)
    fig = go.Figure(
        go.Treemap(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            marker={
                "colors": colors,
                "colorscale": [[0, "#e8f0e8"], [0.5, "#ffb347"], [1, "#b30000"]],
                "cmin": 0,
                "cmax": 1,
                "colorbar": {"title": {"text": t(lang, "col.flagged_share")}, "tickformat": ".0%"},
            },
            hovertemplate=f"%{{label}}<br>{t(lang, 'col.units')}: %{{value}}<extra></extra>",
        )
    )
    return _layout(fig, height=420)


def age_distribution(ages: Sequence[float], lang: Lang) -> go.Figure:
    """A histogram of unit ages with the 15-year policy threshold marked."""
    fig = go.Figure(go.Histogram(x=list(ages), xbins={"size": 1}, marker={"color": "#4c78a8"}))
    fig.add_vline(
        x=OVERHAUL_AGE,
        line={"color": "#d62728", "dash": "dash"},
        annotation_text=t(lang, "overview.past_15"),
    )
    return _layout(
        fig,
        xaxis={"title": {"text": t(lang, "col.age")}},
        yaxis={"title": {"text": t(lang, "axis.units")}},
        bargap=0.05,
    )


def building_need(buildings: Sequence[Any], lang: Lang) -> go.Figure:
    """Each building's highest unit risk, most urgent first, coloured by maintenance-fund status.

    A bar is one (compound, building): every compound has a 3号楼, and a name alone would stack them.
    """
    fund_colors = {"funded": "#2ca02c", "insufficient": "#ff7f0e", "none": "#d62728"}

    def label(b: Any) -> str:
        return f"{_name(b.__dict__, 'community', lang)} {b.building_name}"

    fig = go.Figure()
    for fund, color in fund_colors.items():
        rows = [b for b in buildings if b.fund_status == fund]
        if not rows:
            continue
        fig.add_trace(
            go.Bar(
                x=[b.building_id for b in rows],
                y=[float(b.max_risk or 0) for b in rows],
                customdata=[[label(b)] for b in rows],
                hovertemplate="%{customdata[0]}: %{y:.3f}<extra></extra>",
                name=t(lang, f"fund.{fund}"),
                marker={"color": color},
            )
        )
    order = [b.building_id for b in buildings]
    return _layout(
        fig,
        xaxis={
            "categoryorder": "array",
            "categoryarray": order,
            "tickvals": order,
            "ticktext": [label(b) for b in buildings],
        },
        yaxis={"title": {"text": t(lang, "col.risk")}},
    )


def building_history(history: Sequence[Any], lang: Lang) -> go.Figure:
    """The highest risk of a building's units in each score run."""
    fig = go.Figure(
        go.Scatter(
            x=[str(h.as_of) for h in history],
            y=[float(h.max_risk or 0) for h in history],
            text=[t(lang, f"flag.{h.worst_flag}") if h.worst_flag else "—" for h in history],
            mode="lines+markers",
            line={"color": "#d62728"},
            hovertemplate="%{x}: %{y:.3f}<br>%{text}<extra></extra>",
        )
    )
    return _layout(
        fig,
        height=280,
        xaxis={"title": {"text": t(lang, "col.as_of")}, "type": "category"},
        yaxis={"title": {"text": t(lang, "col.max_risk")}, "rangemode": "tozero"},
    )


def timeline(events: Sequence[Row], lang: Lang) -> go.Figure:
    """Faults coloured by cause, entrapments, inspections and maintenance on one time axis."""
    lanes = [t(lang, f"event.{k}") for k in ("maintenance", "inspection", "entrapment", "fault")]
    fig = go.Figure()

    def add(name: str, lane: str, rows: list[Row], color: str, symbol: str, text_key: str) -> None:
        if rows:
            fig.add_trace(
                go.Scatter(
                    x=[r["occurred_at"] for r in rows],
                    y=[lane] * len(rows),
                    mode="markers",
                    name=name,
                    marker={"color": color, "symbol": symbol, "size": 10},
                    text=[_event_text(r, lang, text_key) for r in rows],
                    hovertemplate="%{x}<br>%{text}<extra></extra>",
                )
            )

    faults = [e for e in events if e["kind"] == "fault"]
    for cause, color in CAUSE_COLORS.items():
        rows = [e for e in faults if e["cause"] == cause]
        add(t(lang, f"cause.{cause}"), t(lang, "event.fault"), rows, color, "circle", "code")
    trapped = [e for e in faults if e["entrapment"]]
    add(t(lang, "event.entrapment"), t(lang, "event.entrapment"), trapped, "#000000", "x", "code")
    for result, color in (
        ("pass", "#2ca02c"),
        ("pass_after_rectification", "#e6b800"),
        ("fail", "#7f0000"),
    ):
        rows = [e for e in events if e["kind"] == "inspection" and e["detail"] == result]
        add(
            t(lang, f"result.{result}"),
            t(lang, "event.inspection"),
            rows,
            color,
            "diamond",
            "result",
        )
    for visit, color in (
        ("routine", "#9ecae1"),
        ("repair", "#3182bd"),
        ("part_replacement", "#08519c"),
    ):
        rows = [e for e in events if e["kind"] == "maintenance" and e["detail"] == visit]
        add(t(lang, f"visit.{visit}"), t(lang, "event.maintenance"), rows, color, "square", "visit")
    return _layout(
        fig,
        height=320,
        yaxis={"categoryorder": "array", "categoryarray": lanes, "type": "category"},
    )


def _event_text(row: Row, lang: Lang, key: str) -> str:
    if key == "code":
        return f"{row['detail']} · {t(lang, 'cause.' + row['cause'])} · {row['severity']}"
    if key == "result":
        return t(lang, f"result.{row['detail']}")
    return t(lang, f"visit.{row['detail']}")


def score_history(scores: Sequence[Row], lang: Lang) -> go.Figure:
    """Risk and deterioration index of one unit over its score runs."""
    x = [str(s["as_of"]) for s in scores]
    fig = go.Figure(
        [
            go.Scatter(
                x=x,
                y=[float(s["risk"]) for s in scores],
                name=t(lang, "col.risk"),
                mode="lines+markers",
                line={"color": "#d62728"},
            ),
            go.Scatter(
                x=x,
                y=[float(s["health"]) for s in scores],
                name=t(lang, "col.health"),
                mode="lines+markers",
                yaxis="y2",
                line={"color": "#1f77b4"},
            ),
        ]
    )
    return _layout(
        fig,
        height=300,
        xaxis={"title": {"text": t(lang, "col.as_of")}, "type": "category"},
        yaxis={"title": {"text": t(lang, "col.risk")}, "rangemode": "tozero"},
        yaxis2={"title": {"text": t(lang, "col.health")}, "overlaying": "y", "side": "right"},
    )


def waterfall(factors: Any, lang: Lang, *, total_label: str | None = None) -> go.Figure:
    """The explanation of a score: each factor's contribution, adding up to the total."""
    parts = contributions(factors, lang)
    fig = go.Figure(
        go.Waterfall(
            orientation="v",
            measure=["relative"] * len(parts) + ["total"],
            x=[p.label for p in parts] + [total_label or t(lang, "col.risk")],
            y=[p.contribution for p in parts] + [0.0],
            text=[p.reason for p in parts] + [""],
            textposition="none",
            hovertemplate="%{x}: %{y:.3f}<br>%{text}<extra></extra>",
            increasing={"marker": {"color": "#d62728"}},
            decreasing={"marker": {"color": "#2ca02c"}},
            totals={"marker": {"color": "#4c78a8"}},
        )
    )
    return _layout(fig, height=360, yaxis={"title": {"text": t(lang, "col.contribution")}})


def freshness(units: Sequence[Any], lang: Lang) -> go.Figure:
    """How many of a contractor's units are online, offline, silent or have never reported."""
    counts = Counter(u.freshness for u in units)
    fig = go.Figure(
        go.Bar(
            x=[t(lang, f"fresh.{f}") for f in FRESHNESS],
            y=[counts.get(f, 0) for f in FRESHNESS],
            marker={"color": [FRESHNESS_COLORS[f] for f in FRESHNESS]},
        )
    )
    return _layout(
        fig, height=280, yaxis=_count_axis(t(lang, "axis.units"), max(counts.values(), default=0))
    )


def rejection_reasons(reasons: Sequence[Any], lang: Lang) -> go.Figure:
    """Rejected messages by reason (in the page language), the commonest on top."""
    rows = list(reversed(reasons))
    fig = go.Figure(
        go.Bar(
            x=[int(r.n) for r in rows],
            y=[reason_label(r.reason, lang) for r in rows],
            orientation="h",
            marker={"color": "#d62728"},
        )
    )
    largest = max((int(r.n) for r in rows), default=0)
    return _layout(
        fig,
        height=max(200, 60 + 30 * len(rows)),
        xaxis=_count_axis(t(lang, "col.count"), largest),
    )


def reason_label(reason: str, lang: Lang) -> str:
    """A rejection reason in the page language (the code itself when the catalogue lacks it)."""
    key = f"reason.{reason}"
    return t(lang, key) if key in STRINGS[lang] else reason


def age_failure(
    points: Sequence[Any], lang: Lang, *, zone_age: float, zone_rate: float
) -> go.Figure:
    """Age against failures per year, coloured by flag, with the policy's overhaul zone shaded."""
    points = [p.__dict__ if hasattr(p, "__dict__") else p for p in points]
    fig = go.Figure()
    top = max([float(p["failure_rate"]) for p in points] + [zone_rate * 2, 1.0])
    right = max([float(p["age"] or 0) for p in points] + [zone_age + 10])
    fig.add_shape(
        type="rect",
        x0=zone_age,
        x1=right * 1.05,
        y0=zone_rate,
        y1=top * 1.05,
        fillcolor="rgba(214, 39, 40, 0.12)",
        line={"width": 0},
        layer="below",
    )
    fig.add_annotation(
        x=zone_age, y=top * 1.05, text=t(lang, "age.zone"), showarrow=False, xanchor="left"
    )
    for flag in (*FLAGS, None):
        rows = [p for p in points if p["flag"] == flag]
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[float(p["age"] or 0) for p in rows],
                y=[float(p["failure_rate"]) for p in rows],
                mode="markers",
                name=t(lang, f"flag.{flag}") if flag else "—",
                marker={"color": FLAG_COLORS.get(flag or "", "#bbbbbb"), "size": 8, "opacity": 0.8},
                customdata=[[p["unit_id"], p["building"]] for p in rows],
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{x:.1f} · %{y:.1f}<extra></extra>",
            )
        )
    return _layout(
        fig,
        height=460,
        xaxis={"title": {"text": t(lang, "col.age")}, "rangemode": "tozero"},
        yaxis={"title": {"text": t(lang, "col.failure_rate")}, "rangemode": "tozero"},
    )


def _name(row: Row, key: str, lang: Lang) -> str:
    english = row.get(f"{key}_en")
    return str(english) if lang == "en" and english else str(row[key])
