"""The building map on the bureau, street office and compound pages: drawn from the coordinates
alone unless a tile server is configured, and absent where no building has coordinates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from api.app import create_app
from core.settings import Settings
from tests.dashboards import factories
from tests.dashboards.conftest import TestClient, filled_database

TILES = "https://tiles.example.test/{z}/{x}/{y}.png"
PAGES = (
    "/dashboards/overview",
    f"/dashboards/street-offices/{factories.STREET_OFFICE}",
    "/dashboards/compounds/dxy-west",
)


def _fill(conn: psycopg.Connection[Any]) -> factories.World:
    world = factories.build(conn)
    factories.add_coordinates(conn)
    return world


@pytest.fixture(scope="module")
def placed(pg_server_url: str, template_db: str) -> Iterator[tuple[str, factories.World]]:
    """The small district with coordinates on some buildings."""
    with filled_database(pg_server_url, template_db, _fill) as built:
        yield built


def _client(url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, **settings)), follow_redirects=False)


def _map(html: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The traces and layout of the page's building map, or ([], {}) when it has none."""
    start = html.find('data-figure="building-map"')
    if start < 0:
        return [], {}
    call = html.index("Plotly.newPlot(", start) + len("Plotly.newPlot(")
    decoder = json.JSONDecoder()
    _div, end = decoder.raw_decode(html, html.index('"', call))
    traces, end = decoder.raw_decode(html, html.index("[", end))
    layout, _end = decoder.raw_decode(html, html.index("{", end))
    return traces, layout


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_pages_draw_a_plain_map_that_fetches_nothing(
    placed: tuple[str, factories.World], lang: str
) -> None:
    url, world = placed
    shown: dict[str, set[str]] = {}
    legends: set[str] = set()
    with _client(url) as client:
        client.cookies.set("liftwatch_token", world.tokens["bureau"])
        for path in PAGES:
            html = client.get(f"{path}?lang={lang}").text
            traces, layout = _map(html)
            assert {t["type"] for t in traces} == {"scatter"}, path
            assert layout["yaxis"]["scaleanchor"] == "x", path
            shown[path] = {c[0] for t in traces for c in t["customdata"]}
            legends |= {t["name"] for t in traces}
            assert "tiles.example" not in html and "mapbox" not in html
    assert shown[PAGES[0]] == {"dxy-2", "dxy-4", "dxy-5", "dxy-7", "xs-9", factories.WALKUP}
    assert shown[PAGES[1]] == {"dxy-2", "dxy-4", "dxy-5", "dxy-7", factories.WALKUP}
    assert shown[PAGES[2]] == {"dxy-2", "dxy-4", "dxy-5", "dxy-7"}
    walkup = "无电梯（加装候选）" if lang == "zh-CN" else "No elevator (retrofit candidate)"
    stopped = "停用" if lang == "zh-CN" else "Stopped"
    assert {walkup, stopped} <= legends


def test_a_tile_server_when_configured_is_the_maps_only_source(
    placed: tuple[str, factories.World],
) -> None:
    url, world = placed
    with _client(url, map_tile_url=TILES) as client:
        client.cookies.set("liftwatch_token", world.tokens["street_office"])
        html = client.get(f"/dashboards/street-offices/{factories.STREET_OFFICE}?lang=en").text
    traces, layout = _map(html)
    assert {t["type"] for t in traces} == {"scattermap"}
    assert layout["map"]["style"] == "white-bg"
    assert layout["map"]["layers"] == [
        {"below": "traces", "source": [TILES], "sourcetype": "raster"}
    ]


def test_no_coordinates_no_map(client: Any, world: factories.World) -> None:
    client.cookies.set("liftwatch_token", world.tokens["bureau"])
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "building-map" not in response.text, path
