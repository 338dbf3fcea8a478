"""Edge inputs are refused at the door with the field named: never a 500, never a database row."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


def _fields(response: object) -> set[str]:
    body = response.json()  # type: ignore[attr-defined]
    return {p["field"] for p in body.get("problems") or []}


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01"])
def test_a_score_run_far_outside_the_calendar_is_422(shared_api: Api, as_of: str) -> None:
    response = shared_api.client.post(
        "/v1/score-runs", headers=shared_api.as_("admin"), json={"as_of": as_of}
    )
    assert response.status_code == 422, response.text
    assert _fields(response) == {"body.as_of"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/rankings?as_of=0", "query.as_of"),
        ("/v1/exports/rankings.csv?as_of=20230501", "query.as_of"),
        ("/v1/units/U1/timeline?to=0.5", "query.to"),
        ("/v1/events/faults?from=1680000000", "query.from"),
        ("/v1/dead-letters?to=1e9", "query.to"),
    ],
)
def test_dates_and_times_refuse_numbers(shared_api: Api, path: str, field: str) -> None:
    response = shared_api.get("admin", path)
    assert response.status_code == 422, response.text
    assert _fields(response) == {field}


def test_a_nul_character_is_422_with_the_field_named(shared_api: Api) -> None:
    response = shared_api.get("admin", "/v1/units?building_id=B%001")
    assert response.status_code == 422
    assert _fields(response) == {"query.building_id"}
    assert "database" not in response.text
    body = shared_api.client.patch(
        "/v1/units/U1", headers=shared_api.as_("admin"), json={"model": "A\u0000B"}
    )
    assert body.status_code == 422 and _fields(body) == {"body.model"}


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("/v1/districts/D1", {"name": None}, "body.name"),
        ("/v1/buildings/B1", {"fund_status": None}, "body.fund_status"),
        ("/v1/units/U1", {"drive_type": None}, "body.drive_type"),
        ("/v1/buildings/B1", {"floors": True}, "body.floors"),
        ("/v1/buildings/B1", {"fund_balance": 1e12}, "body.fund_balance"),
    ],
)
def test_a_change_that_cannot_be_stored_is_422_and_echoes_no_row(
    shared_api: Api, path: str, change: dict[str, object], field: str
) -> None:
    response = shared_api.client.patch(path, headers=shared_api.as_("admin"), json=change)
    assert response.status_code == 422, response.text
    assert _fields(response) == {field}
    assert "Failing row" not in response.text and "RC0000" not in response.text


def test_405_names_every_allowed_method(shared_api: Api) -> None:
    collection = shared_api.client.delete("/v1/units", headers=shared_api.as_("admin"))
    assert collection.status_code == 405
    assert set(collection.headers["allow"].split(", ")) >= {"GET", "POST"}
    item = shared_api.client.put("/v1/units/U1", headers=shared_api.as_("admin"))
    assert item.status_code == 405
    assert set(item.headers["allow"].split(", ")) >= {"GET", "PATCH"}
