"""The dashboards in a real headless Chromium against the app under uvicorn and a real database.

Every page each role can reach is loaded in both languages; any JavaScript error, console error,
failed request or HTTP error fails the test. Screenshots go to $LIFTWATCH_TEST_SCREENSHOTS (or a
temporary directory, printed).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from core.db import connect
from tests.dashboards import factories
from tests.dashboards.browser import (
    CHROMIUM,
    INSTALL_HINT,
    Problems,
    chromium,
    serve_app,
    sign_in,
    wait_for_figures,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs Debian's chromium at {CHROMIUM}; install: {INSTALL_HINT}",
    ),
]

LANGS = ("zh-CN", "en")
# The pages each role reaches from its own first page; unit and contractor pages are the same
# for everyone who may see them.
PAGES: dict[str, list[str]] = {
    "admin": [
        "/dashboards/",
        f"/dashboards/street-offices/{factories.STREET_OFFICE}",
        "/dashboards/units/dxy-2-1",
        f"/dashboards/contractors/{factories.CONTRACTOR}",
        "/dashboards/age",
    ],
    "bureau": [
        "/dashboards/",
        f"/dashboards/street-offices/{factories.STREET_OFFICE}",
        "/dashboards/units/dxy-4-1",
        f"/dashboards/contractors/{factories.CONTRACTOR}",
        f"/dashboards/age?street_office_id={factories.STREET_OFFICE}&filtered=1",
    ],
    "street_office": ["/dashboards/", "/dashboards/units/dxy-5-1", "/dashboards/age"],
    "contractor": ["/dashboards/", "/dashboards/units/ly-1-2", "/dashboards/age"],
}


@pytest.fixture(scope="module")
def world_url(pg_server_url: str, template_db: str) -> Iterator[tuple[str, factories.World]]:
    """One migrated database for the module, filled by the factory."""
    name = f"lw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = psycopg.conninfo.make_conninfo(pg_server_url, dbname=name)
    with connect(url, autocommit=True) as conn:
        world = factories.build(conn)
    yield url, world
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
def site(
    world_url: tuple[str, factories.World], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app served by uvicorn on a free port."""
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    with serve_app(world_url[0], log) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go."""
    configured = os.environ.get("LIFTWATCH_TEST_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {path}")
    return path


def _slug(path: str) -> str:
    return path.strip("/").split("?")[0].replace("/", "-") or "home"


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_of_a_role_loads_cleanly_in_both_languages(
    role: str, site: str, browser: Any, world_url: tuple[str, factories.World], shots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    problems = Problems()
    try:
        page = sign_in(context, site, world_url[1].tokens[role])
        problems.watch(page)
        assert "/sign-in" not in page.url
        for lang in LANGS:
            for path in PAGES[role]:
                sep = "&" if "?" in path else "?"
                page.goto(f"{site}{path}{sep}lang={lang}", wait_until="load")
                drawn = wait_for_figures(page)
                assert page.locator("html").get_attribute("lang") == lang, path
                assert page.locator("h1").inner_text().strip(), path
                page.screenshot(
                    path=str(shots / f"{role}-{_slug(path)}-{lang}.png"), full_page=True
                )
                assert drawn >= 1, f"{path} drew no figure"
                assert problems.items == [], f"{role} {path} {lang}: {problems.items}"
    finally:
        context.close()


def test_flagged_daoxiangyuan_units_lead_the_bureau_ranking(
    site: str, browser: Any, world_url: tuple[str, factories.World]
) -> None:
    context = browser.new_context()
    try:
        page = sign_in(context, site, world_url[1].tokens["bureau"])
        page.goto(f"{site}/dashboards/?lang=en")
        rows = page.locator("table[data-table=ranking] tbody tr")
        ranked = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
        flags = [rows.nth(i).locator("td .flag").inner_text() for i in range(rows.count())]
        assert set(ranked[:3]) == set(factories.DXY_FAILED)
        assert flags[:3] == ["Stopped"] * 3
        assert set(ranked[3:8]) == set(factories.DXY_OTHERS)
        assert flags[3:8] == ["Replace or overhaul"] * 5
        assert "cy-1-1" not in ranked  # another district's unit
        reasons = rows.nth(0).locator("td").nth(9).inner_text()
        assert "failed periodic inspection" in reasons
    finally:
        context.close()


def test_street_office_lists_flagged_units_per_building(
    site: str, browser: Any, world_url: tuple[str, factories.World]
) -> None:
    context = browser.new_context()
    try:
        page = sign_in(context, site, world_url[1].tokens["street_office"], lang="zh-CN")
        assert page.url.endswith(f"/dashboards/street-offices/{factories.STREET_OFFICE}")
        text = page.locator("table[data-table=buildings]").inner_text()
        for unit_id in factories.DXY_UNITS:
            assert unit_id in text
        assert "停用" in text and "需大修或更新" in text
    finally:
        context.close()


@pytest.mark.parametrize(("locale", "expected"), [("zh-CN", "zh-CN"), ("en-US", "en")])
def test_language_follows_the_browser_and_the_switch(
    locale: str, expected: str, site: str, browser: Any, world_url: tuple[str, factories.World]
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
        page.goto(f"{site}/dashboards/units/dxy-2-1")
        assert "/dashboards/sign-in" in page.url
        page.fill("input[name=token]", "lw_000000000000_not-a-real-token-at-all")
        page.click("button[type=submit]")
        assert page.locator(".error").count() == 1
    finally:
        context.close()
