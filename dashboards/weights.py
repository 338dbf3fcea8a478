"""The "what predicts failure in this fleet" page: a run's fitted factor weights, next to the
policy's prior weights, with their intervals and the history they were fitted on.

A pure function from the record stored with a run (``score_run.fitted_weights``) to HTML.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from core.i18n import Lang, t
from dashboards.html import Markup, esc, figure, number, page, section, table

PATH = "/dashboards/weights"


def _label(lang: Lang, factor: str) -> str:
    return t(lang, f"factor.{factor}")


def _p(text: str) -> Markup:
    return Markup(f"<p>{esc(text)}</p>")


def _interval(row: dict[str, Any]) -> str:
    if row.get("low") is None or row.get("high") is None:
        return "—"
    return f"{row['low']:.2f} – {row['high']:.2f}"


def _chart(factors: list[dict[str, Any]], lang: Lang) -> go.Figure:
    labels = [_label(lang, f["factor"]) for f in factors]
    upper = [None if f.get("high") is None else f["high"] - f["weight"] for f in factors]
    lower = [None if f.get("low") is None else f["weight"] - f["low"] for f in factors]
    fig = go.Figure(
        [
            go.Bar(
                name=t(lang, "weights.col.prior"),
                y=labels,
                x=[f["prior"] for f in factors],
                orientation="h",
                marker_color="#c8ccd1",
            ),
            go.Bar(
                name=t(lang, "weights.col.weight"),
                y=labels,
                x=[f["weight"] for f in factors],
                orientation="h",
                marker_color="#1f6feb",
                error_x={"type": "data", "array": upper, "arrayminus": lower},
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        height=120 + 28 * len(factors),
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h"},
    )
    return fig


def _weights_table(factors: list[dict[str, Any]], lang: Lang) -> Any:
    headers = [
        t(lang, "col.factor"),
        t(lang, "weights.col.prior"),
        t(lang, "weights.col.weight"),
        t(lang, "weights.col.interval"),
    ]
    rows = [
        (_label(lang, f["factor"]), number(f["prior"]), number(f["weight"]), _interval(f))
        for f in factors
    ]
    return table(headers, rows, name="weights", numeric=(1, 2, 3))


def render(run: dict[str, Any] | None, *, lang: Lang) -> str | None:
    """The page for a run (its id, as-of date and fitted-weights record), or None without a run."""
    if run is None:
        return None
    title = t(lang, "weights.title")
    record = run.get("fitted_weights")
    meta = t(lang, "overview.run", run_id=run["run_id"], as_of=run["as_of"])
    if not record:
        body = section("", _p(meta), _p(t(lang, "weights.none")))
        return page(lang=lang, title=title, body=body, path=PATH)
    factors = sorted(record["factors"], key=lambda f: -f["weight"])
    snapshots = record["window"]["snapshots"]
    intro = t(
        lang,
        "weights.intro",
        as_of=run["as_of"],
        first=snapshots[0],
        last=snapshots[-1],
        snapshots=len(snapshots),
        rows=record["rows"],
        events=round(record["events"]),
    )
    parts = [
        _p(meta),
        _p(intro),
        section(t(lang, "weights.chart"), figure(_chart(factors, lang), "weights")),
        section(t(lang, "weights.sorted_by"), _weights_table(factors, lang)),
    ]
    serious = (record.get("serious") or {}).get("factors")
    if serious:
        ordered = sorted(serious, key=lambda f: -f["weight"])
        parts.append(section(t(lang, "weights.serious"), _weights_table(ordered, lang)))
    return page(lang=lang, title=title, body=section("", *parts), path=PATH)
