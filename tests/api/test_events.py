"""Event queries, HTTP ingestion with its rate limit, and dead letters, for every role."""

from __future__ import annotations

import uuid

import pytest

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import ROLES, VISIBLE_UNITS, Api, TestClient


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("kind", ["faults", "inspections", "maintenance", "status"])
def test_event_queries_hold_only_the_scope(shared_api: Api, role: str, kind: str) -> None:
    seen: set[str] = set()
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = shared_api.get(role, f"/v1/events/{kind}", params=params).json()
        seen |= {e["unit_id"] for e in body["items"]}
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == VISIBLE_UNITS[role]
    assert pages >= len(VISIBLE_UNITS[role]) // 2


def test_time_range_and_unit_filter(shared_api: Api) -> None:
    one = shared_api.get(
        "admin",
        "/v1/events/faults",
        params={"unit_id": "U1", "from": "2023-04-02T00:00:00Z", "to": "2023-04-03T00:00:00Z"},
    ).json()["items"]
    assert len(one) == 1 and one[0]["occurred_at"].startswith("2023-04-02")
    outside = shared_api.get("street_office", "/v1/events/faults", params={"unit_id": "U4"}).json()
    assert outside["items"] == []
    backwards = shared_api.get(
        "admin",
        "/v1/events/faults",
        params={"from": "2023-05-01T00:00:00Z", "to": "2023-04-01T00:00:00Z"},
    )
    assert backwards.status_code == 422


def _fault(unit: str, **extra: object) -> dict[str, object]:
    return {
        "kind": "fault",
        "unit_id": unit,
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2023-04-20T09:30:00+08:00",
        "code": "02",
        **extra,
    }


def test_contractor_pushes_its_units_and_is_refused_for_others(api: Api) -> None:
    h = api.as_("contractor")
    mine, other = _fault("U1"), _fault("U3")
    response = api.client.post("/v1/events", headers=h, json=[mine, other, {"kind": "fault"}])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == 1
    outcomes = [i["outcome"] for i in body["items"]]
    assert outcomes == ["stored", "rejected", "rejected"]
    assert body["items"][1]["reason"]
    again = api.client.post("/v1/events", headers=h, json=[mine]).json()
    assert again["duplicates"] == 1
    # The rejection is the contractor's own dead letter, invisible to the other contractor.
    mine_dl = api.get("contractor", "/v1/dead-letters", params={"unit_id": "U3"}).json()["items"]
    assert mine_dl and all(d["contractor_id"] == "K1" for d in mine_dl)
    assert (
        api.get("contractor2", f"/v1/dead-letters/{mine_dl[0]['dead_letter_id']}").status_code
        == 404
    )
    ndjson = "\n".join(__import__("json").dumps(_fault("U2")) for _ in range(3))
    nd = api.client.post(
        "/v1/events", headers={**h, "Content-Type": "application/x-ndjson"}, content=ndjson
    )
    assert nd.json()["stored"] == 3


@pytest.mark.parametrize("role", ["bureau", "street_office"])
def test_readers_may_not_push(shared_api: Api, role: str) -> None:
    response = shared_api.client.post(
        "/v1/events", headers=shared_api.as_(role), json=[_fault("U1")]
    )
    assert response.status_code == 403


def test_bad_bodies_are_4xx(shared_api: Api) -> None:
    h = shared_api.as_("contractor")
    assert shared_api.client.post("/v1/events", headers=h, content=b"[{").status_code == 422
    assert shared_api.client.post("/v1/events", headers=h, content=b"").status_code == 422
    xml = shared_api.client.post(
        "/v1/events", headers={**h, "Content-Type": "application/xml"}, content=b"<a/>"
    )
    assert xml.status_code == 415


def test_ingest_rate_limit_per_token(db_url: str, seeded: dict[str, str]) -> None:
    settings = Settings(database_url=db_url, api_ingest_rate=1.0, api_ingest_burst=3)
    with TestClient(create_app(settings)) as client:
        h1 = {"Authorization": f"Bearer {seeded['contractor']}"}
        h2 = {"Authorization": f"Bearer {seeded['admin']}"}
        first = client.post("/v1/events", headers=h1, json=[_fault("U1") for _ in range(4)])
        assert first.status_code == 200
        limited = client.post("/v1/events", headers=h1, json=[_fault("U1")])
        assert limited.status_code == 429
        assert limited.json()["type"].endswith("/rate-limited")
        assert int(limited.headers["retry-after"]) >= 1
        # Another token has its own budget.
        other = client.post("/v1/events", headers=h2, json=[_fault("U1", contractor_id="K1")])
        assert other.status_code == 200 and other.json()["stored"] == 1


@pytest.mark.parametrize("role", list(ROLES))
def test_dead_letters_by_role(shared_api: Api, role: str) -> None:
    items = shared_api.get(role, "/v1/dead-letters").json()["items"]
    expected = {
        "admin": {("K1", "U1"), ("K2", "U3"), ("K1", None)},
        "bureau": {("K1", "U1"), ("K2", "U3")},
        "street_office": {("K1", "U1")},
        "contractor": {("K1", "U1"), ("K1", None)},
        "contractor2": {("K2", "U3")},
    }[role]
    assert {(d["contractor_id"], d["unit_id"]) for d in items} == expected
    assert all(d["payload_text"] == '{"x": 1}' for d in items)
