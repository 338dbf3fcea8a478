"""The demo as a first-time visitor meets it: a headless Chromium opens the address `liftwatch demo`
prints, with no token, signs in with one click on a demo account and sees Daoxiangyuan West; an
entrapment published over MQTT then shows on the alert feed. One demo serves both languages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import _with_database
from tests.dashboards.browser import CHROMIUM, INSTALL_HINT, Problems, chromium
from tests.support.servers import Mosquitto
from tests.test_demo import DemoRun, _publish_entrapment

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"needs Debian's chromium at {CHROMIUM}; install: {INSTALL_HINT}",
    ),
]


@pytest.fixture(scope="module")
def demo(
    pg_server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DemoRun, str, str]]:
    """A fresh demo (its own database, broker and data directory), ready; with its database and
    broker URLs."""
    name = f"lw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    db_url = _with_database(pg_server_url, name)
    tmp: Path = tmp_path_factory.mktemp("demo")
    broker = Mosquitto(tmp / "mosquitto").start()
    run = DemoRun(tmp, db_url, broker.url)
    try:
        run.wait_ready()
        yield run, db_url, broker.url
    finally:
        run.stop()
        broker.stop()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("lang", "unit_id"), [("zh-CN", "DXYX-05-2"), ("en", "DXYX-07-1")])
def test_a_visitor_lands_on_daoxiangyuan_in_one_click_and_sees_alerts_arrive(
    demo: tuple[DemoRun, str, str], lang: str, unit_id: str
) -> None:
    run, db_url, broker_url = demo
    address = next(line.split()[-1] for line in run.output.splitlines() if "is serving on" in line)
    with chromium() as browser:
        page = browser.new_context(locale=lang).new_page()
        problems = Problems()
        problems.watch(page)
        page.goto(address)
        assert "/dashboards/sign-in" in page.url
        with page.expect_navigation():
            page.locator("form.demo-account button").first.click()
        # The register names the compound in Chinese only; English pages show that name too.
        assert "稻香园西" in page.content(), page.url
        _publish_entrapment(db_url, broker_url, unit_id)
        row = page.locator("table[data-table=alerts] tr", has_text=unit_id)
        deadline = time.monotonic() + 60
        # The feed is a page like the others: reload it until the worker has stored the event.
        while page.goto(f"{run.base}/dashboards/alerts") and row.count() == 0:
            assert time.monotonic() < deadline, page.content()
            time.sleep(0.5)
        assert ("困人" if lang == "zh-CN" else "Entrapment") in row.inner_text()
        assert problems.items == []
