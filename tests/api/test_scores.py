"""Rankings, explanations, score runs and their comparison, for every role, on real score runs."""

from __future__ import annotations

import pytest

from api.models import scores as m
from tests.api.conftest import ROLES, RUN_DATES, UNITS, VISIBLE_UNITS, Api


def _ranked(api: Api, role: str, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        query = dict(params, limit=1, **({"cursor": cursor} if cursor else {}))
        response = api.get(role, "/v1/rankings", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("role", list(ROLES))
def test_ranking_holds_exactly_the_scope(shared_api: Api, role: str) -> None:
    items = _ranked(shared_api, role)
    assert {i["unit_id"] for i in items} == VISIBLE_UNITS[role]
    ranks = [i["rank"] for i in items]
    assert ranks == sorted(ranks)
    assert all(i["reasons"] and i["reasons"][0]["zh"] and i["reasons"][0]["en"] for i in items)


@pytest.mark.parametrize("role", list(ROLES))
def test_explanation_is_404_outside_the_scope(shared_api: Api, role: str) -> None:
    for unit in UNITS:
        response = shared_api.get(role, f"/v1/units/{unit}/explanation")
        if unit in VISIBLE_UNITS[role]:
            assert response.status_code == 200
            body = response.json()
            assert body["unit_id"] == unit and body["factors"] and body["flag_reason"]["en"]
        else:
            assert response.status_code == 404


@pytest.mark.parametrize("role", list(ROLES))
def test_place_filters_stay_in_the_scope(shared_api: Api, role: str) -> None:
    """A ranking filtered to a street office, district or contractor holds the units of the
    scope in that place, and nothing when the place is outside the scope."""
    for position, column, values in (
        (1, "street_office_id", ("S1", "S2", "S3", "S404")),
        (0, "district_id", ("D1", "D2")),
        (4, "contractor_id", ("K1", "K2")),
    ):
        for value in values:
            items = _ranked(shared_api, role, **{column: value})
            expected = {u for u in VISIBLE_UNITS[role] if UNITS[u][position] == value}
            assert {i["unit_id"] for i in items} == expected, (column, value)
            assert all(i[column] == value for i in items)


@pytest.mark.parametrize("role", list(ROLES))
def test_rankings_and_explanations_are_the_documented_models(shared_api: Api, role: str) -> None:
    """The hot paths skip pydantic; their bodies are still exactly the documented models."""
    for params in ({}, {"limit": 1}, {"sort": "health", "limit": 2}, {"flag": "watch"}):
        response = shared_api.get(role, "/v1/rankings", params=params)
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        m.RankingPage.model_validate_json(response.content, strict=False)
        assert set(body) == set(m.RankingPage.model_fields)
        assert set(body["run"]) == set(m.ScoreRun.model_fields)
        for item in body["items"]:
            assert set(item) == set(m.RankedUnit.model_fields)
            assert all(set(r) == set(m.Sentence.model_fields) for r in item["reasons"])
    for unit in VISIBLE_UNITS[role]:
        response = shared_api.get(role, f"/v1/units/{unit}/explanation")
        m.Explanation.model_validate_json(response.content)
        assert set(response.json()) == set(m.Explanation.model_fields)


def test_filters_sort_and_as_of(shared_api: Api) -> None:
    assert {i["unit_id"] for i in _ranked(shared_api, "admin", building_id="B1")} == {"U1", "U2"}
    assert {i["unit_id"] for i in _ranked(shared_api, "admin", contractor_id="K2")} == {"U3"}
    assert {i["unit_id"] for i in _ranked(shared_api, "bureau", district_id="D2")} == set()
    stopped = _ranked(shared_api, "admin", flag="stopped")
    assert stopped and all(i["flag"] == "stopped" for i in stopped)
    by_health = _ranked(shared_api, "admin", sort="health")
    healths = [i["health"] for i in by_health]
    assert healths == sorted(healths, reverse=True) and len(by_health) == 4
    early = shared_api.get(
        "admin", "/v1/rankings", params={"as_of": RUN_DATES[0].isoformat()}
    ).json()
    assert early["run"]["as_of"] == RUN_DATES[0].isoformat()
    assert (
        shared_api.get("admin", "/v1/rankings").json()["run"]["as_of"] == RUN_DATES[1].isoformat()
    )
    none = shared_api.get("admin", "/v1/rankings", params={"as_of": "2000-01-01"}).json()
    assert none == {"run": None, "items": [], "next_cursor": None}
    assert shared_api.get("admin", "/v1/rankings", params={"run_id": 999}).status_code == 404
    bad = shared_api.get("admin", "/v1/rankings", params={"cursor": "garbage"})
    assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid")


@pytest.mark.parametrize("role", list(ROLES))
def test_runs_and_comparison_stay_in_scope(shared_api: Api, role: str) -> None:
    runs = shared_api.get(role, "/v1/score-runs").json()
    assert [r["as_of"] for r in runs] == [d.isoformat() for d in reversed(RUN_DATES)]
    first, second = runs[1]["run_id"], runs[0]["run_id"]
    assert shared_api.get(role, f"/v1/score-runs/{first}").json()["run_id"] == first
    comparison = shared_api.get(role, f"/v1/score-runs/{first}/compare/{second}").json()
    mentioned = {
        m["unit_id"] for key in ("moved_up", "moved_down", "flag_changes") for m in comparison[key]
    }
    assert mentioned <= VISIBLE_UNITS[role]
    # The failed inspection between the runs stops the units and says why.
    assert mentioned == VISIBLE_UNITS[role]
    assert all(
        any(w["factor"] == "failed_inspection" for w in m["why"])
        for m in comparison["flag_changes"]
    )
    assert shared_api.get(role, f"/v1/score-runs/{first}/compare/999").status_code == 404


def test_timeline_includes_score_history(shared_api: Api) -> None:
    body = shared_api.get("street_office", "/v1/units/U1/timeline").json()
    assert [s["as_of"] for s in body["scores"]] == [d.isoformat() for d in RUN_DATES]
    assert len(body["faults"]) == 3 and {f["cause"] for f in body["faults"]} == {
        "equipment",
        "external",
    }
    assert body["faults"][0]["name_en"] == "safety circuit open"
    assert len(body["inspections"]) == len(body["maintenance"]) == len(body["status"]) == 1
    assert shared_api.get("street_office", "/v1/units/U3/timeline").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("bureau", 201), ("admin", 201), ("street_office", 403), ("contractor", 403)],
)
def test_only_bureau_and_admin_start_runs(api: Api, role: str, status: int) -> None:
    response = api.client.post(
        "/v1/score-runs", headers=api.as_(role), json={"as_of": "2023-05-02"}
    )
    assert response.status_code == status, response.text
    if status == 201:
        run = response.json()
        assert (
            run["unit_count"] == 4
            and response.headers["location"] == f"/v1/score-runs/{run['run_id']}"
        )
        assert api.get(role, "/v1/rankings").json()["run"]["run_id"] == run["run_id"]
