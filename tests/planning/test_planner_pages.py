"""The plan pages served by the app: words in both languages, scopes, escaping, printable list."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from core.i18n import t
from core.settings import get_settings
from tests.planning import planned

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture
def site(
    db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> Iterator[tuple[TestClient, int, dict[str, str]]]:
    """The app on a database holding a plan."""
    plan_id, tokens = planned.build(conn, tmp_path)
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield client, plan_id, tokens


def _get(client: TestClient, token: str, path: str, lang: str, **params: Any) -> Any:
    return client.get(
        path, params={"lang": lang, **params}, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_summary_street_office_and_building_pages(
    site: tuple[TestClient, int, dict[str, str]], lang: str
) -> None:
    client, plan_id, tokens = site
    summary = _get(client, tokens["bureau"], "/dashboards/plans", lang)
    assert summary.status_code == 200
    html = summary.text
    for key in (
        "plan.title",
        "plan.trajectory",
        "plan.scenarios",
        "plan.street_offices",
        "plan.retrofits",
        "plan.series.age_first",
    ):
        assert t(lang, key) in html, key  # type: ignore[arg-type]
    assert 'data-figure="plan-trajectory"' in html
    assert "DXYX-B09" in html  # the six-floor walk-up, a retrofit candidate
    office = _get(
        client, tokens["bureau"], f"/dashboards/plans/{plan_id}/street-offices/110108-HD", lang
    )
    assert office.status_code == 200
    assert "DXYX-02-1" in office.text and "RFXS" not in office.text
    assert t(lang, "plan.action.replace") in office.text  # type: ignore[arg-type]
    assert "4号楼&lt;b&gt;东&lt;/b&gt;" in office.text and "<b>东" not in office.text
    printable = _get(
        client,
        tokens["bureau"],
        f"/dashboards/plans/{plan_id}/street-offices/110108-HD",
        lang,
        print=1,
    )
    assert t(lang, "nav.overview") not in printable.text  # type: ignore[arg-type]
    building = _get(
        client, tokens["bureau"], f"/dashboards/plans/{plan_id}/buildings/DXYX-B04", lang
    )
    assert building.status_code == 200
    rows = _get(client, tokens["bureau"], f"/v1/plans/{plan_id}/rows", lang).json()
    first = min(r["starts_on"] for r in rows if r["building_id"] == "DXYX-B04")
    assert t(lang, "plan.phase", phase=1, starts_on=first) in building.text  # type: ignore[arg-type]
    # Every building of Daoxiangyuan waits for owners' collection (30%, expected March 2024).
    assert "30%" in building.text and "2024-03-01" in building.text


def test_pages_keep_to_the_scope(site: tuple[TestClient, int, dict[str, str]]) -> None:
    client, plan_id, tokens = site
    office = _get(client, tokens["street_office"], f"/dashboards/plans/{plan_id}", "en")
    assert office.status_code == 200 and 'data-figure="plan-trajectory"' not in office.text
    other = _get(
        client,
        tokens["street_office"],
        f"/dashboards/plans/{plan_id}/street-offices/110114-TTYB",
        "en",
    )
    assert other.status_code == 404
    assert (
        _get(
            client, tokens["street_office"], f"/dashboards/plans/{plan_id}/buildings/RFXS-B01", "en"
        ).status_code
        == 404
    )
    assert (
        _get(client, tokens["contractor"], f"/dashboards/plans/{plan_id}", "en").status_code == 404
    )
    none = _get(client, tokens["contractor"], "/dashboards/plans", "en")
    assert none.status_code == 200 and t("en", "plan.none") in none.text
    assert client.get("/dashboards/plans", follow_redirects=False).status_code == 303
