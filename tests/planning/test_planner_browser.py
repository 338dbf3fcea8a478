"""The plan pages in a real headless Chromium, in both languages: each loads cleanly (no script
error, console error, failed request or HTTP error) and the trajectory chart draws."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core.db import connect
from core.i18n import t
from core.settings import get_settings
from tests.dashboards.browser import (
    CHROMIUM,
    INSTALL_HINT,
    Problems,
    chromium,
    serve_app,
    sign_in,
    wait_for_figures,
)
from tests.planning import planned

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs Debian's chromium at {CHROMIUM}; install: {INSTALL_HINT}",
    ),
]


@pytest.fixture(scope="module")
def world(
    pg_server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int, dict[str, str]]]:
    """A database of the module's own holding a plan, and the app serving it."""
    name = f"lw_plan_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = psycopg.conninfo.make_conninfo(pg_server_url, dbname=name)
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("LIFTWATCH_DATABASE_URL", url)
        get_settings.cache_clear()
        with connect(url, autocommit=True) as conn:
            plan_id, tokens = planned.build(conn, tmp_path_factory.mktemp("plan"))
        log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
        with serve_app(url, log) as base:
            yield base, plan_id, tokens
    finally:
        mp.undo()
        get_settings.cache_clear()
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_plan_pages_load_cleanly_and_draw(
    world: tuple[str, int, dict[str, str]], lang: str, tmp_path: Path
) -> None:
    base, plan_id, tokens = world
    pages = [
        ("bureau", f"/dashboards/plans/{plan_id}", 1),
        ("bureau", f"/dashboards/plans/{plan_id}/street-offices/110108-HD", 0),
        ("bureau", f"/dashboards/plans/{plan_id}/street-offices/110108-HD?print=1", 0),
        ("bureau", f"/dashboards/plans/{plan_id}/buildings/DXYX-B02", 0),
        ("street_office", f"/dashboards/plans/{plan_id}/street-offices/110108-HD", 0),
    ]
    with chromium() as browser:
        for role in ("bureau", "street_office"):
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            problems = Problems()
            try:
                page = sign_in(context, base, tokens[role])
                problems.watch(page)
                for who, path, figures in pages:
                    if who != role:
                        continue
                    sep = "&" if "?" in path else "?"
                    page.goto(f"{base}{path}{sep}lang={lang}", wait_until="load")
                    assert wait_for_figures(page) == figures, path
                    assert page.locator("html").get_attribute("lang") == lang
                    assert page.locator("h1").inner_text().strip(), path
                    page.screenshot(path=str(tmp_path / f"{role}-{len(path)}-{lang}.png"))
                    assert problems.items == [], f"{role} {path} {lang}: {problems.items}"
                if role == "bureau":
                    page.goto(f"{base}/dashboards/plans/{plan_id}?lang={lang}", wait_until="load")
                    wait_for_figures(page)
                    legend = page.locator(
                        "[data-figure=plan-trajectory] .legendtext"
                    ).all_text_contents()
                    assert t(lang, "plan.series.plan") in legend  # type: ignore[arg-type]
                    assert t(lang, "plan.series.age_first") in legend  # type: ignore[arg-type]
                    page.click("[data-table=plan-street-offices] a")
                    page.wait_for_load_state("load")
                    assert "/street-offices/110108-HD" in page.url
                    assert page.locator("[data-table=plan-rows] tbody tr").count() >= 4
            finally:
                context.close()
