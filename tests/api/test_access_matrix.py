"""The access matrix, generated from /openapi.json: every operation, as every role, on an id in its
scope, one outside it, one in the other district, with no token and with a revoked one.

The expected statuses are written once, in MATRIX. A route the table does not name fails the test,
so a new route cannot ship without its row being decided.

Ids by case (tests/api/conftest.py draws the fleet): the bureau is bound to D1, the street office
to S1, the contractor to K1 (which also maintains U4 in D2).

- ``in``: D1, S1, C1, B1, U1, K1, dead letter 1 (K1/U1) - inside every role's scope;
- ``out``: D1, S2, C2, B2, U3, K2, dead letter 2 (K2/U3) - in the bureau's district, outside the
  street office's and the contractor's scope;
- ``other``: D2, S3, C3, B3, U4, K2, dead letter 3 (K1, no unit) - the other district.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.tokens import create_token, revoke_token
from core.db import connect
from core.settings import Settings
from tests.api.conftest import Api, TestClient, fleet_rows, seeded_database

ROLES = ("admin", "bureau", "street_office", "contractor")
CASES = ("in", "out", "other")

# operation id -> expected status for "admin | bureau | street_office | contractor", each role's
# three statuses for the "in out other" ids. No token and a revoked token: 401 on every operation
# but the three open ones (OPEN).
MATRIX: dict[str, str] = {
    "healthz_healthz_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "readyz_readyz_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "metrics_metrics_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "list_districts": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "create_district": "201 201 201 | 403 403 403 | 403 403 403 | 403 403 403",
    "get_district": "200 200 200 | 200 200 404 | 200 200 404 | 200 200 200",
    "update_district": "200 200 200 | 200 200 404 | 403 403 403 | 403 403 403",
    "list_street_offices": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "create_street_office": "201 201 201 | 201 201 404 | 403 403 403 | 403 403 403",
    "get_street_office": "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200",
    "update_street_office": "200 200 200 | 200 200 404 | 403 403 403 | 403 403 403",
    "list_communities": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "create_community": "201 201 201 | 201 201 404 | 403 403 403 | 403 403 403",
    "get_community": "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200",
    "update_community": "200 200 200 | 200 200 404 | 403 403 403 | 403 403 403",
    "list_buildings": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "create_building": "201 201 201 | 201 201 404 | 403 403 403 | 403 403 403",
    "get_building": "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200",
    "update_building": "200 200 200 | 200 200 404 | 403 403 403 | 403 403 403",
    "list_units": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "create_unit": "201 201 201 | 201 201 404 | 403 403 403 | 403 403 403",
    "get_unit": "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200",
    "update_unit": "200 200 200 | 200 200 404 | 403 403 403 | 403 403 403",
    "list_contractors": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "create_contractor": "201 201 201 | 201 201 201 | 403 403 403 | 403 403 403",
    "get_contractor": "200 200 200 | 200 200 200 | 200 404 404 | 200 404 404",
    "update_contractor": "200 200 200 | 403 403 403 | 403 403 403 | 403 403 403",
    "import_register_v1_register_import_post": (
        "200 200 200 | 200 200 422 | 403 403 403 | 403 403 403"
    ),
    "list_faults_events": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "list_inspections_events": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "list_maintenance_events": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "list_status_events": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "unit_timeline_v1_units__unit_id__timeline_get": (
        "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200"
    ),
    "push_events_v1_events_post": "200 200 200 | 403 403 403 | 403 403 403 | 200 200 200",
    "rankings_v1_rankings_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "explanation_v1_units__unit_id__explanation_get": (
        "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200"
    ),
    "list_runs_v1_score_runs_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "start_run_v1_score_runs_post": "201 201 201 | 201 201 201 | 403 403 403 | 403 403 403",
    "get_run_v1_score_runs__run_id__get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "compare_v1_score_runs__run_a__compare__run_b__get": (
        "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200"
    ),
    "list_dead_letters_v1_dead_letters_get": (
        "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200"
    ),
    "get_dead_letter_v1_dead_letters__dead_letter_id__get": (
        "200 200 200 | 200 200 404 | 200 404 404 | 200 404 200"
    ),
    "export_ranking_v1_exports_rankings__fmt__get": (
        "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200"
    ),
    "export_buildings_v1_street_offices__street_office_id__buildings__fmt__get": (
        "200 200 200 | 200 200 404 | 200 404 404 | 403 403 403"
    ),
    "building_need_v1_street_offices__street_office_id__buildings_get": "200 200 200 | 200 200 404 | 200 404 404 | 403 403 403",
    "clear_alert_v1_alerts__alert_id__clear_post": "200 200 200 | 200 200 200 | 200 200 404 | 200 200 404",
    "create_plan_v1_plans_post": "201 201 201 | 201 201 201 | 403 403 403 | 403 403 403",
    "create_webhook_v1_webhooks_post": "201 201 201 | 201 201 201 | 403 403 403 | 403 403 403",
    "delete_webhook_v1_webhooks__webhook_id__delete": "204 204 204 | 404 404 404 | 403 403 403 | 403 403 403",
    "export_plan_v1_plans__plan_id__export_xlsx_get": "200 200 200 | 200 200 404 | 200 200 404 | 404 404 404",
    "get_alert_v1_alerts__alert_id__get": "200 200 200 | 200 200 200 | 200 200 404 | 200 200 404",
    "get_backtest_v1_backtests__backtest_id__get": "404 404 404 | 404 404 404 | 403 403 403 | 403 403 403",
    "get_plan_v1_plans__plan_id__get": "200 200 200 | 200 200 404 | 200 200 404 | 404 404 404",
    "latest_backtest_v1_backtests_latest_get": "404 404 404 | 404 404 404 | 403 403 403 | 403 403 403",
    "list_alerts_v1_alerts_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "list_backtests_v1_backtests_get": "200 200 200 | 200 200 200 | 403 403 403 | 403 403 403",
    "list_deliveries_v1_webhooks__webhook_id__deliveries_get": "200 200 200 | 404 200 404 | 403 403 403 | 403 403 403",
    "list_plans_v1_plans_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "list_webhooks_v1_webhooks_get": "200 200 200 | 200 200 200 | 403 403 403 | 403 403 403",
    "plan_buildings_v1_plans__plan_id__buildings_get": "200 200 200 | 200 200 404 | 200 200 404 | 404 404 404",
    "plan_retrofits_v1_plans__plan_id__retrofits_get": "200 200 200 | 200 200 404 | 200 200 404 | 404 404 404",
    "plan_rows_v1_plans__plan_id__rows_get": "200 200 200 | 200 200 404 | 200 200 404 | 404 404 404",
    "risk_matrix_v1_risk_matrix_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "run_weights_v1_score_runs__run_id__weights_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
    "search_v1_search_get": "200 200 200 | 200 200 200 | 200 200 200 | 200 200 200",
}
OPEN = {"healthz_healthz_get", "readyz_readyz_get", "metrics_metrics_get"}

# Path parameter -> its value in each case.
IDS: dict[str, dict[str, str]] = {
    "district_id": {"in": "D1", "out": "D1", "other": "D2"},
    "street_office_id": {"in": "S1", "out": "S2", "other": "S3"},
    "community_id": {"in": "C1", "out": "C2", "other": "C3"},
    "building_id": {"in": "B1", "out": "B2", "other": "B3"},
    "unit_id": {"in": "U1", "out": "U3", "other": "U4"},
    "contractor_id": {"in": "K1", "out": "K2", "other": "K2"},
    "dead_letter_id": {"in": "1", "out": "2", "other": "3"},
    "run_id": {"in": "1", "out": "1", "other": "2"},
    "run_a": {"in": "1", "out": "1", "other": "1"},
    "run_b": {"in": "2", "out": "2", "other": "2"},
    "fmt": {"in": "csv", "out": "csv", "other": "csv"},
    # Alerts are raised while the fleet is seeded; webhooks are made by create_webhook's own rows;
    # there are no backtests.
    "alert_id": {"in": "1", "out": "2", "other": "3"},
    "webhook_id": {"in": "1", "out": "2", "other": "3"},
    # Plans 1-6 are made by create_plan's own rows (admin and bureau on in, out, other), in that
    # order: 1 and 2 are D1's, 5 is D2's (an admin's; a bureau always plans its own district).
    "plan_id": {"in": "1", "out": "2", "other": "5"},
    "backtest_id": {"in": "1", "out": "2", "other": "3"},
}
_FUNDING_POLICY = (Path(__file__).parents[2] / "examples/funding/national-2024.yaml").read_text()
_UNIT_ROW = {"in": 0, "out": 2, "other": 3}  # fleet_rows() index of U1, U3, U4


def _new(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _csv(row: dict[str, Any]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode()


def _body(operation_id: str, case: str) -> dict[str, Any]:
    """The request body of a write, aimed at the case's ids (fresh ids for what it creates)."""
    ids = {name: values[case] for name, values in IDS.items()}
    name = {"name": "x", "name_en": "x"}
    bodies: dict[str, Any] = {
        "create_district": {"district_id": _new("D"), **name},
        "update_district": {"name_en": "x"},
        "create_street_office": {
            "street_office_id": _new("S"),
            "district_id": ids["district_id"],
            **name,
        },
        "update_street_office": {"name_en": "x"},
        "create_community": {
            "community_id": _new("C"),
            "street_office_id": ids["street_office_id"],
            **name,
        },
        "update_community": {"name_en": "x"},
        "create_building": {
            "building_id": _new("B"),
            "community_id": ids["community_id"],
            "name": "x",
            "floors": 6,
            "households": 24,
        },
        "update_building": {"name": "x"},
        "create_unit": {
            "unit_id": _new("U"),
            "registration_code": _new("R"),
            "building_id": ids["building_id"],
            "manufacturer": "M",
            "installed_on": "2000-01-01",
            "contractor_id": "K1",
        },
        "update_unit": {"model": "x"},
        "create_contractor": {"contractor_id": _new("K"), **name},
        "update_contractor": {"name_en": "x"},
        "start_run_v1_score_runs_post": {"as_of": "2023-05-01"},
        "create_webhook_v1_webhooks_post": {"url": "http://127.0.0.1:9/hook", "kinds": []},
        "create_plan_v1_plans_post": {
            "policy_yaml": _FUNDING_POLICY,
            "budgets": {
                "bond": [10**8, 10**8],
                "district": [10**8, 10**8],
                "advance": [10**8, 10**8],
            },
            "district_id": ids["district_id"],
        },
    }
    if operation_id == "import_register_v1_register_import_post":
        return {"content": _csv(fleet_rows()[_UNIT_ROW[case]]), "type": "text/csv"}
    if operation_id == "push_events_v1_events_post":
        event = {
            "kind": "fault",
            "unit_id": ids["unit_id"],
            "event_id": str(uuid.uuid4()),
            "occurred_at": "2023-04-12T09:30:00+08:00",
            "code": "01",
        }
        return {"json": [event]}
    if operation_id == "search_v1_search_get":
        return {"params": {"q": ids["unit_id"]}}
    return {"json": bodies[operation_id]} if operation_id in bodies else {}


def _request(
    client: TestClient, method: str, path: str, operation_id: str, case: str, token: str | None
) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: IDS[m[1]][case], path)
    body = _body(operation_id, case)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if "type" in body:
        headers["Content-Type"] = body.pop("type")
    return client.request(method, url, headers=headers, **body)


@pytest.fixture(scope="module")
def matrix_api(pg_server_url: str, template_db: str) -> Iterator[tuple[Api, str]]:
    """The app on a seeded database of this module's own, and a revoked bureau token."""
    with seeded_database(pg_server_url, template_db) as (url, tokens):
        with connect(url, autocommit=True) as conn:
            revoked, info = create_token(conn, role="bureau", bound_to="D1", name="revoked")
            revoke_token(conn, token_id=info.token_id)
        with TestClient(create_app(Settings(database_url=url))) as client:
            yield Api(client, tokens), revoked


def _operations(client: TestClient) -> list[tuple[str, str, str]]:
    doc = client.get("/openapi.json").json()
    return [
        (op["operationId"], method.upper(), path)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    ]


def test_every_operation_has_a_row(matrix_api: tuple[Api, str]) -> None:
    api, _ = matrix_api
    ids = {operation_id for operation_id, _, _ in _operations(api.client)}
    assert not ids - MATRIX.keys(), (
        f"operations without a row in MATRIX: {sorted(ids - MATRIX.keys())}"
    )
    assert not MATRIX.keys() - ids, (
        f"rows for operations that are gone: {sorted(MATRIX.keys() - ids)}"
    )


def _expected(operation_id: str) -> dict[tuple[str, str], int]:
    per_role = [part.split() for part in MATRIX[operation_id].split("|")]
    assert len(per_role) == len(ROLES) and all(len(p) == len(CASES) for p in per_role)
    return {
        (role, case): int(status)
        for role, statuses in zip(ROLES, per_role, strict=True)
        for case, status in zip(CASES, statuses, strict=True)
    }


def test_access_matrix(matrix_api: tuple[Api, str]) -> None:
    api, revoked = matrix_api
    wrong = []
    for operation_id, method, path in _operations(api.client):
        if operation_id not in MATRIX:
            continue  # reported by test_every_operation_has_a_row
        expected = _expected(operation_id)
        for case in CASES:
            for role in ROLES:
                got = _request(api.client, method, path, operation_id, case, api.tokens[role])
                if got.status_code != expected[role, case]:
                    wrong.append(
                        f"{operation_id} as {role} on {case}: {got.status_code}, "
                        f"expected {expected[role, case]} ({got.text[:120]})"
                    )
            anonymous = 200 if operation_id in OPEN else 401
            for label, token in (("no token", None), ("revoked token", revoked)):
                got = _request(api.client, method, path, operation_id, case, token)
                if got.status_code != anonymous:
                    wrong.append(f"{operation_id} with {label}: {got.status_code}")
    assert not wrong, "\n".join(wrong)


def test_a_contractor_pushes_events_only_for_its_units(matrix_api: tuple[Api, str]) -> None:
    # The push answers 200 for the batch; scope shows in each item's outcome.
    api, _ = matrix_api
    outcomes = {}
    for case in CASES:
        response = _request(
            api.client,
            "POST",
            "/v1/events",
            "push_events_v1_events_post",
            case,
            api.tokens["contractor"],
        )
        outcomes[case] = response.json()["items"][0]["outcome"]
    assert outcomes == {"in": "stored", "out": "rejected", "other": "stored"}
