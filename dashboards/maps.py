"""A map of a place's buildings, coloured by their units' worst flag, drawn with no tile server.

Without a tile URL the map is a plotly scatter of the coordinates on equal-aspect axes (a degree of
longitude drawn as long as it is on the ground at that latitude): nothing is fetched from anywhere.
With ``LIFTWATCH_MAP_TILE_URL`` set, the same points go on a plotly map whose only layer is that
raster source over a blank style. A click on a building opens its page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from core.i18n import FLAGS, Lang, t
from dashboards.figures import FLAG_COLORS, _layout
from dashboards.html import BASE, Markup, esc, figure, section
from queries.maps import BuildingPoint

NO_ELEVATOR = "no_elevator"
UNSCORED = "unscored"
COLORS = {**FLAG_COLORS, UNSCORED: "#9e9e9e", NO_ELEVATOR: "#1f77b4"}
SHOWN = (*FLAGS, UNSCORED, NO_ELEVATOR)
"""Legend order: the worst flag first; then buildings whose units have no score, then walk-ups."""
ASPECT = 2.5
"""Width over height of the plain map's frame, on the ground."""

BUILDING_CLICK = (
    "document.getElementById('{plot_id}').on('plotly_click', function (e) {"
    " var p = e.points[0]; if (p && p.customdata) {"
    f" window.location = '{BASE}/buildings/' + encodeURIComponent(p.customdata[0]); }} }});"
)


def category(point: BuildingPoint) -> str:
    """What colours a building: its worst flag, or that it has no elevator or no score yet."""
    if point.units == 0:
        return NO_ELEVATOR
    return point.worst_flag or UNSCORED


def _label(category_: str, lang: Lang) -> str:
    return (
        t(lang, f"map.{category_}")
        if category_ in (NO_ELEVATOR, UNSCORED)
        else t(lang, f"flag.{category_}")
    )


def _hover(point: BuildingPoint, lang: Lang) -> str:
    community = point.community_en if lang == "en" and point.community_en else point.community
    return t(
        lang,
        "map.hover",
        name=f"{community} {point.building_name}",
        units=point.units,
        flagged=point.flagged,
        households=point.households,
    )


def building_map(
    points: Sequence[BuildingPoint], lang: Lang, *, tile_url: str | None = None
) -> go.Figure:
    """The buildings as markers: plain equal-aspect axes, or the tile server's map when given."""
    fig = go.Figure()
    size = 12 if len(points) <= 60 else 9 if len(points) <= 300 else 6
    # The worst are drawn last, on top of the others; the legend lists them first.
    for rank, shown in reversed(list(enumerate(SHOWN))):
        rows = [p for p in points if category(p) == shown]
        if not rows:
            continue
        common = {
            "customdata": [[p.building_id] for p in rows],
            "text": [_hover(p, lang) for p in rows],
            "hovertemplate": "%{text}<extra></extra>",
            "name": _label(shown, lang),
            "legendrank": 1000 + rank,
            "marker": {"color": COLORS[shown], "size": size},
        }
        if tile_url:
            fig.add_trace(
                go.Scattermap(
                    lat=[p.lat for p in rows], lon=[p.lon for p in rows], mode="markers", **common
                )
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=[p.lon for p in rows],
                    y=[p.lat for p in rows],
                    mode="markers",
                    **common,
                    marker_line={"color": "#ffffff", "width": 1},
                )
            )
    lats = [p.lat for p in points] or [0.0]
    lons = [p.lon for p in points] or [0.0]
    middle = (min(lats) + max(lats)) / 2
    if tile_url:
        span = max(max(lats) - min(lats), max(lons) - min(lons), 0.002)
        return _layout(
            fig,
            height=480,
            map={
                "style": "white-bg",
                "center": {"lat": middle, "lon": (min(lons) + max(lons)) / 2},
                "zoom": max(1.0, min(17.0, math.log2(360 / span) - 0.5)),
                "layers": [{"sourcetype": "raster", "source": [tile_url], "below": "traces"}],
            },
        )
    # A degree of latitude is 1/cos(latitude) times as long on the ground as one of longitude.
    # The ranges frame the points in a wide box (a street of buildings is a line otherwise).
    cos = max(math.cos(math.radians(middle)), 0.01)
    wide = max((max(lons) - min(lons)) * cos * 1.25, 0.003)
    tall = max((max(lats) - min(lats)) * 1.25, 0.003)
    wide, tall = max(wide, tall * ASPECT), max(tall, wide / ASPECT)
    centre = (min(lons) + max(lons)) / 2
    plain = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": None}
    return _layout(
        fig,
        height=480,
        xaxis={
            **plain,
            "constrain": "domain",
            "range": [centre - wide / 2 / cos, centre + wide / 2 / cos],
        },
        yaxis={
            **plain,
            "scaleanchor": "x",
            "scaleratio": 1 / cos,
            "range": [middle - tall / 2, middle + tall / 2],
        },
        plot_bgcolor="#f4f6f8",
    )


def map_section(
    points: Sequence[BuildingPoint], lang: Lang, *, tile_url: str | None
) -> Markup | str:
    """The map with its heading, or nothing when no building of the page has coordinates."""
    if not points:
        return ""
    note = Markup(f'<p class="note">{esc(t(lang, "map.note", shown=len(points)))}</p>')
    return section(
        t(lang, "map.title"),
        note,
        figure(
            building_map(points, lang, tile_url=tile_url),
            "building-map",
            post_script=BUILDING_CLICK,
        ),
    )
