"""The demo as a first-time visitor meets it: a headless Chromium opens the address `liftwatch demo`
prints, with no token, signs in with one click on a demo account and sees Daoxiangyuan West; an
entrapment published over MQTT then shows on the alert feed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

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


@pytest.mark.timeout(600)
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_visitor_lands_on_daoxiangyuan_in_one_click_and_sees_alerts_arrive(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path, lang: str
) -> None:
    demo = DemoRun(tmp_path, db_url, mosquitto.url)
    try:
        demo.wait_ready()
        address = next(
            line.split()[-1] for line in demo.output.splitlines() if "is serving on" in line
        )
        with chromium() as browser:
            context = browser.new_context(locale=lang)
            page = context.new_page()
            problems = Problems()
            problems.watch(page)
            page.goto(address)
            assert "/dashboards/sign-in" in page.url
            with page.expect_navigation():
                page.locator("form.demo-account button").first.click()
            # The register names the compound in Chinese only; English pages show that name too.
            assert "稻香园西" in page.content(), page.url
            _publish_entrapment(db_url, mosquitto.url, "DXYX-05-2")
            row = page.locator("table[data-table=alerts] tr", has_text="DXYX-05-2")
            deadline = time.monotonic() + 60
            # The feed is a page like the others: reload it until the worker has stored the event.
            while page.goto(f"{demo.base}/dashboards/alerts") and row.count() == 0:
                assert time.monotonic() < deadline, page.content()
                time.sleep(0.5)
            assert ("困人" if lang == "zh-CN" else "Entrapment") in row.inner_text()
            assert problems.items == []
    finally:
        demo.stop()
