"""The dashboards in a real headless Chromium against the app under uvicorn and a real database.

Every page each role can reach is loaded in both languages; any JavaScript error, console error,
failed request or HTTP error fails the test. Screenshots go to $LIFTWATCH_TEST_SCREENSHOTS (or a
temporary directory, printed).
"""

from __future__ import annotations

import base64
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from ingest.worker import Worker
from liftwatch.cli import main
from tests.dashboards import seeded
from tests.dashboards.browser import (
    CHROMIUM,
    INSTALL_HINT,
    Problems,
    chromium,
    serve_app,
    sign_in,
    wait_for_figures,
)
from tests.dashboards.conftest import filled_database
from tests.ingest.factories import mqtt as mqtt_message
from tests.ingest.factories import payload
from tests.ingest.mqtt_support import publish, wait_for
from tests.support.servers import Mosquitto

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs Debian's chromium at {CHROMIUM}; install: {INSTALL_HINT}",
    ),
]

LANGS = ("zh-CN", "en")
# The pages each role reaches from its own first page ("/dashboards/" redirects a street office
# and a contractor to their own page).
PAGES: dict[str, list[str]] = {
    "admin": [
        "/dashboards/",
        f"/dashboards/street-offices/{seeded.STREET_OFFICE}",
        "/dashboards/units/DXYX-02-1",
        f"/dashboards/contractors/{seeded.CONTRACTOR}",
        "/dashboards/age",
    ],
    "bureau": [
        "/dashboards/",
        "/dashboards/overview?cell=5-3",
        f"/dashboards/street-offices/{seeded.STREET_OFFICE}",
        f"/dashboards/compounds/{seeded.COMPOUND}",
        f"/dashboards/buildings/{seeded.BUILDING}",
        "/dashboards/units/DXYX-05-1",
        f"/dashboards/contractors/{seeded.CONTRACTOR}",
        f"/dashboards/age?street_office_id={seeded.STREET_OFFICE}&filtered=1",
        "/dashboards/search?q=DXYX-0",
    ],
    "street_office": [
        "/dashboards/",
        f"/dashboards/buildings/{seeded.BUILDING}",
        "/dashboards/units/DXYX-07-2",
        "/dashboards/age",
    ],
    "contractor": ["/dashboards/", "/dashboards/units/DXYX-04-1", "/dashboards/age"],
}
# Pages that are tables only: the others must draw at least one figure.
NO_FIGURES = ("/dashboards/compounds/", "/dashboards/search")

World = tuple[str, tuple[int, dict[str, str]]]


@pytest.fixture(scope="module")
def world(pg_server_url: str, template_db: str) -> Iterator[World]:
    """The seed cases ingested and scored, once for the module."""
    with filled_database(pg_server_url, template_db, seeded.build) as built:
        yield built


@pytest.fixture(scope="module")
def tokens(world: World) -> dict[str, str]:
    """A token per role."""
    return world[1][1]


@pytest.fixture(scope="module")
def site(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by uvicorn on a free port."""
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    with serve_app(world[0], log) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def signed_in(site: str, browser: Any, tokens: dict[str, str]) -> Iterator[Callable[[str], Any]]:
    """A page signed in through the form for a role, one browser context per role for the module."""
    pages: dict[str, Any] = {}

    def get(role: str) -> Any:
        if role not in pages:
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            pages[role] = sign_in(context, site, tokens[role])
        return pages[role]

    yield get
    for page in pages.values():
        page.context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go."""
    configured = os.environ.get("LIFTWATCH_TEST_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {path}")
    return path


def _slug(path: str) -> str:
    return path.removeprefix("/dashboards").strip("/").split("?")[0].replace("/", "-") or "home"


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_of_a_role_loads_cleanly_in_both_languages(
    role: str, site: str, browser: Any, tokens: dict[str, str], shots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    problems = Problems()
    try:
        page = sign_in(context, site, tokens[role])
        problems.watch(page)
        assert "/sign-in" not in page.url
        for lang in LANGS:
            for path in PAGES[role]:
                sep = "&" if "?" in path else "?"
                page.goto(f"{site}{path}{sep}lang={lang}", wait_until="load")
                drawn = wait_for_figures(page)
                assert page.locator("html").get_attribute("lang") == lang, path
                assert page.locator("h1").inner_text().strip(), path
                page.screenshot(path=str(shots / f"{role}-{_slug(path)}-{lang}.png"))
                assert drawn >= 1 or path.startswith(NO_FIGURES), f"{path} drew no figure"
                assert problems.items == [], f"{role} {path} {lang}: {problems.items}"
    finally:
        context.close()


def test_flagged_daoxiangyuan_units_lead_the_bureau_ranking(
    site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("bureau")
    page.goto(f"{site}/dashboards/?lang=en")
    assert "Haidian" in page.locator("h1").inner_text() or "海淀" in page.locator("h1").inner_text()
    assert "stopped units" in page.locator("#order-note").inner_text().lower()
    rows = page.locator("table[data-table=ranking] tbody tr")
    cells = [rows.nth(i).locator("td") for i in range(rows.count())]
    ranked = [c.nth(2).inner_text() for c in cells]
    flags = [rows.nth(i).locator("td .flag").inner_text() for i in range(rows.count())]
    # The district's own ranks: 1, 2, 3 ... whatever the units' places in the fleet.
    assert [int(c.nth(0).inner_text()) for c in cells] == list(range(1, len(cells) + 1))
    assert set(ranked[:3]) == set(seeded.FAILED)
    assert flags[:3] == ["Stopped"] * 3
    dxyx = {u: f for u, f in zip(ranked, flags, strict=True) if u.startswith("DXYX")}
    assert set(dxyx) == set(seeded.DXYX)
    # The other five are flagged for what their inspections found.
    assert set(dxyx.values()) <= {"Stopped", "Replace or overhaul", "Safety assessment"}
    fund_first = page.locator("table[data-table=fund-first] tbody tr")
    assert fund_first.count() == min(10, len(cells))
    page.fill("input[name=top]", "3")
    with page.expect_navigation():
        page.click("form.filters button")
    assert page.locator("table[data-table=fund-first] tbody tr").count() == 3


def test_street_office_lists_flagged_units_per_building(
    site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("street_office")
    page.goto(f"{site}/dashboards/?lang=zh-CN")
    assert page.url.split("?")[0].endswith(f"/dashboards/street-offices/{seeded.STREET_OFFICE}")
    text = page.locator("table[data-table=buildings]").inner_text()
    for unit_id in seeded.DXYX:
        assert unit_id in text
    assert "停用" in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_building_map_draws_from_the_server_alone_and_opens_a_building(
    lang: str, site: str, browser: Any, tokens: dict[str, str]
) -> None:
    """The bureau's and the street office's maps draw every Daoxiangyuan West building, and no
    request leaves the server: no tile, font or script from anywhere else."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    problems = Problems()
    requested: list[str] = []
    context.route("**/*", lambda route: (requested.append(route.request.url), route.continue_()))
    try:
        page = sign_in(context, site, tokens["bureau"], lang=lang)
        problems.watch(page)
        for path in ("/dashboards/overview", f"/dashboards/street-offices/{seeded.STREET_OFFICE}"):
            page.goto(f"{site}{path}?lang={lang}", wait_until="load")
            wait_for_figures(page)
            drawn = page.locator("[data-figure=building-map] .scatterlayer .point")
            assert drawn.count() == len(seeded.DXYX_BUILDINGS), path
            title = "楼栋分布图" if lang == "zh-CN" else "Buildings on the map"
            assert page.locator("h2", has_text=title).count() == 1, path
        page.locator("[data-figure=building-map]").scroll_into_view_if_needed()
        box = drawn.first.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # plotly takes the mouse on its drag layer, above the points: a hover finds the point
        # (its label shows the building), then a click on it opens the building's page.
        page.mouse.move(x, y)
        page.locator("[data-figure=building-map] .hoverlayer .hovertext").wait_for()
        with page.expect_navigation():
            page.mouse.click(x, y)
        assert "/dashboards/buildings/DXYX-B0" in page.url
        assert problems.items == []
        outside = [u for u in requested if not u.startswith(site)]
        assert outside == [] and requested, outside
    finally:
        context.close()


# A 1×1 PNG: what the stand-in tile server answers for every tile.
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@contextmanager
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server on a free port answering every path with TILE; yields its URL template and
    the paths asked for."""
    asked: list[str] = []

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(TILE)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(TILE)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tiles/{{z}}/{{x}}/{{y}}.png", asked
    finally:
        server.shutdown()
        thread.join()


def test_with_a_tile_server_the_map_fetches_tiles_from_it_and_nowhere_else(
    world: World,
    browser: Any,
    tokens: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tile_server() as (template, asked):
        monkeypatch.setenv("LIFTWATCH_MAP_TILE_URL", template)
        with serve_app(world[0], tmp_path / "uvicorn.log") as base:
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            problems = Problems()
            requested: list[str] = []
            context.route(
                "**/*", lambda route: (requested.append(route.request.url), route.continue_())
            )
            try:
                page = sign_in(context, base, tokens["bureau"], lang="zh-CN")
                problems.watch(page)
                page.goto(f"{base}/dashboards/street-offices/{seeded.STREET_OFFICE}?lang=zh-CN")
                wait_for_figures(page)
                page.locator("[data-figure=building-map] canvas").first.wait_for()
                tiles = template.split("/tiles/")[0]
                page.wait_for_function(
                    "prefix => performance.getEntriesByType('resource')"
                    ".some(e => e.name.startsWith(prefix))",
                    arg=f"{tiles}/tiles/",
                )
                # The map drops the tiles it no longer needs while it settles on its zoom.
                dropped = f"request failed: {tiles}/tiles/"
                kept = [p for p in problems.items if not p.startswith(dropped)]
                assert kept == [] and all(p.endswith("net::ERR_ABORTED") for p in problems.items)
                assert asked and all(a.startswith("/tiles/") for a in asked)
                outside = [u for u in requested if not u.startswith((base, tiles))]
                assert outside == [], outside
            finally:
                context.close()


def test_contractor_sees_its_rejected_messages_and_why(
    site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("contractor")
    page.goto(f"{site}/dashboards/?lang=en")
    assert page.url.split("?")[0].endswith(f"/dashboards/contractors/{seeded.CONTRACTOR}")
    text = page.locator("table[data-table=dead-letters]").inner_text()
    assert "DXYX-99-9" in text


@pytest.mark.parametrize(("locale", "expected"), [("zh-CN", "zh-CN"), ("en-US", "en")])
def test_language_follows_the_browser_and_the_switch(
    locale: str, expected: str, site: str, browser: Any
) -> None:
    context = browser.new_context(locale=locale)
    try:
        page = context.new_page()
        page.goto(f"{site}/dashboards/sign-in")
        assert page.locator("html").get_attribute("lang") == expected
        page.click("#lang-switch")
        assert page.locator("html").get_attribute("lang") != expected
        page.goto(f"{site}/dashboards/sign-in")
        assert page.locator("html").get_attribute("lang") != expected  # remembered
    finally:
        context.close()


def test_pages_send_a_browser_without_a_token_to_sign_in(site: str, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{site}/dashboards/units/DXYX-02-1")
        assert "/dashboards/sign-in" in page.url
        page.fill("input[name=token]", "lw_000000000000_not-a-real-token-at-all")
        page.click("button[type=submit]")
        assert page.locator(".error").count() == 1
    finally:
        context.close()


def test_report_opens_with_no_network(
    world: World,
    browser: Any,
    shots: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIFTWATCH_DATABASE_URL", world[0])
    lang = "zh-CN"  # the meeting's language; the English report is checked without a browser
    out = tmp_path / "report.html"
    assert (
        main(["report", "--scope", f"bureau:{seeded.DISTRICT}", "--lang", lang, "--out", str(out)])
        == 0
    )
    context = browser.new_context(offline=True)
    problems = Problems()
    requested: list[str] = []
    try:
        context.route(
            "**/*", lambda route: (requested.append(route.request.url), route.continue_())
        )
        page = context.new_page()
        problems.watch(page)
        page.goto(out.as_uri())
        text = page.locator("table[data-table=fund-first]").inner_text()
        for unit_id in seeded.DXYX:
            assert unit_id in text
        assert page.locator("table[data-table=matrix] td[data-cell]").count() == 25
        page.screenshot(path=str(shots / f"report-{lang}.png"))
        assert problems.items == []
        assert requested == [out.as_uri()]
    finally:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_5x5_matrix_counts_units_and_a_cell_lists_them(
    lang: str, site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("bureau")
    page.goto(f"{site}/dashboards/?lang={lang}")
    cells = page.locator("table[data-table=matrix] td[data-cell]")
    assert cells.count() == 25
    counts = {
        cells.nth(i).get_attribute("data-cell"): int(cells.nth(i).inner_text().split()[0])
        for i in range(25)
    }
    ranking_rows = page.locator("table[data-table=ranking] tbody tr").count()
    assert sum(counts.values()) == ranking_rows  # every unit of the district in one cell
    # The cell of a stopped Daoxiangyuan West unit lists it, and its link opens the unit.
    busiest = max((c for c in counts if counts[c]), key=lambda c: (c[0], counts[c]))
    with page.expect_navigation():
        page.click(f"table[data-table=matrix] td[data-cell='{busiest}'] a")
    listed = page.locator("table[data-table=matrix-units] tbody tr")
    assert listed.count() == counts[busiest]
    assert page.locator(f"td[data-cell='{busiest}']").get_attribute("class") == "selected"
    first = listed.nth(0).locator("td").nth(1).inner_text()
    with page.expect_navigation():
        listed.nth(0).locator("a").first.click()
    assert page.url.split("?")[0].endswith(f"/dashboards/units/{first}")


@pytest.mark.parametrize("lang", LANGS)
def test_drill_down_from_the_district_to_a_unit_with_breadcrumbs(
    lang: str, site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("bureau")
    page.goto(f"{site}/dashboards/?lang={lang}")
    with page.expect_navigation():
        page.locator(
            f"table[data-table=by-street-office] a[href$='/street-offices/{seeded.STREET_OFFICE}']"
        ).click()
    crumbs = page.locator("nav.crumbs")
    assert crumbs.locator("a").first.get_attribute("href") == "/dashboards/"
    with page.expect_navigation():
        page.locator(
            f"table[data-table=buildings] a[href$='/compounds/{seeded.COMPOUND}']"
        ).first.click()
    assert "稻香园西" in page.locator("h1").inner_text()
    assert (
        page.locator(f"nav.crumbs a[href$='/street-offices/{seeded.STREET_OFFICE}']").count() == 1
    )
    with page.expect_navigation():
        page.locator(f"table[data-table=buildings] a[href$='/buildings/{seeded.BUILDING}']").click()
    assert page.locator(f"nav.crumbs a[href$='/compounds/{seeded.COMPOUND}']").count() == 1
    with page.expect_navigation():
        page.locator("table[data-table=building-units] a[href*='/units/']").first.click()
    assert "/dashboards/units/DXYX-02-" in page.url
    trail = page.locator("nav.crumbs a")
    hrefs = [trail.nth(i).get_attribute("href") for i in range(trail.count())]
    assert hrefs == [
        "/dashboards/",
        f"/dashboards/street-offices/{seeded.STREET_OFFICE}",
        f"/dashboards/compounds/{seeded.COMPOUND}",
        f"/dashboards/buildings/{seeded.BUILDING}",
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_search_finds_units_by_code_and_compounds_by_chinese_name(
    lang: str, site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("bureau")
    page.goto(f"{site}/dashboards/units/DXYX-05-1?lang={lang}")
    page.fill("form.search input[name=q]", "稻香园")
    with page.expect_navigation():
        page.press("form.search input[name=q]", "Enter")
    hits = page.locator("table[data-table=search-results]")
    assert "稻香园西" in hits.inner_text()
    with page.expect_navigation():
        hits.locator(f"a[href$='/compounds/{seeded.COMPOUND}']").click()
    assert page.locator("table[data-table=buildings] tbody tr").count() == 4
    page.fill("form.search input[name=q]", "dxyx-07")
    with page.expect_navigation():
        page.press("form.search input[name=q]", "Enter")
    units = page.locator("table[data-table=search-results] a[href*='/units/']")
    assert sorted(units.nth(i).inner_text().split(" ")[0] for i in range(units.count())) == [
        "DXYX-07-1",
        "DXYX-07-2",
    ]
    # Outside the district: nothing, as if it did not exist.
    page.fill("form.search input[name=q]", "TTYB")
    with page.expect_navigation():
        page.press("form.search input[name=q]", "Enter")
    assert page.locator("table[data-table=search-results]").count() == 0


@pytest.mark.parametrize("lang", LANGS)
def test_building_page_shows_residents_funding_redundancy_units_and_history(
    lang: str, site: str, signed_in: Callable[[str], Any]
) -> None:
    page = signed_in("street_office")
    page.goto(f"{site}/dashboards/buildings/{seeded.BUILDING}?lang={lang}")
    assert wait_for_figures(page) == 1  # the history
    facts = page.locator("table[data-table=building-facts] tbody td")
    assert facts.nth(0).inner_text() == "170"  # households
    assert facts.nth(1).inner_text() == "568"  # residents
    units = page.locator("table[data-table=building-units] tbody tr")
    assert units.count() == 2
    assert {units.nth(i).locator("td").nth(2).inner_text() for i in range(2)} == {
        "DXYX-02-1",
        "DXYX-02-2",
    }
    assert (
        "稻香园西" in page.locator("h1").inner_text() and "2号楼" in page.locator("h1").inner_text()
    )


def test_the_problem_watcher_catches_script_errors_and_failed_requests(
    site: str, browser: Any
) -> None:
    context = browser.new_context()
    problems = Problems()
    try:
        page = context.new_page()
        problems.watch(page)
        page.goto(f"{site}/dashboards/static/no-such-file.js")
        page.set_content(
            "<script>throw new Error('boom')</script><script>console.error('bad')</script>"
        )
        assert any(p.startswith("HTTP 404") for p in problems.items)
        assert any("boom" in p for p in problems.items)
        assert any("bad" in p for p in problems.items)
    finally:
        context.close()


def test_an_entrapment_published_over_mqtt_appears_in_the_bureau_alert_feed(
    world: World, site: str, signed_in: Callable[[str], Any], mosquitto: Mosquitto
) -> None:
    settings = Settings(
        database_url=world[0],
        broker_url=mosquitto.url,
        ingest_client_id="browser-alerts",
        ingest_metrics_port=0,
        ingest_batch_max_wait=0.05,
    )
    worker = Worker(settings, database_url=world[0], broker_url=mosquitto.url)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    runner.start()
    try:
        wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
        body = payload(
            "fault",
            at=datetime.now(UTC) - timedelta(minutes=2),
            code="93",
            entrapment=True,
            passengers_trapped=2,
        )
        message = mqtt_message(seeded.CONTRACTOR, "DXYX-04-1", "fault", body)
        publish(mosquitto.url, [message])
        wait_for(lambda: worker.totals.total >= 1, timeout=30, what="the entrapment stored")
        assert worker.totals.stored == 1
    finally:
        worker.stop()
        runner.join(timeout=30)
    page = signed_in("bureau")
    for lang, kind in (("zh-CN", "困人"), ("en", "Entrapment")):
        page.goto(f"{site}/dashboards/?lang={lang}")
        feed = page.locator("table[data-table=alerts]")
        assert "DXYX-04-1" in feed.inner_text()
        assert kind in feed.inner_text()
