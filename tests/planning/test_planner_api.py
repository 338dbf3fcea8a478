"""The plan routes: who may make and read plans, and what each scope sees."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from api.runs import start_run
from core.i18n import t
from core.settings import Settings, get_settings
from tests.api.conftest import Api, _seed, make_tokens

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

POLICY = (Path(__file__).parents[2] / "examples" / "funding" / "national-2024.yaml").read_text(
    encoding="utf-8"
)


@pytest.fixture
def api(db_url: str, conn: psycopg.Connection[Any]) -> Iterator[Api]:
    """The API's two-district fleet, scored, with a token per role."""
    _seed(conn)
    start_run(
        conn,
        settings=Settings(database_url=db_url, scoring_use_model=False),
        as_of=date(2023, 5, 1),
        note="test",
    )
    conn.execute("UPDATE building SET collection_rate = 0.9")
    tokens = make_tokens(conn)
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield Api(client, tokens)


def _make(api: Api, role: str, **body: Any) -> Any:
    return api.client.post(
        "/v1/plans",
        headers=api.as_(role),
        json={
            "policy_yaml": POLICY,
            "budgets": {"bond": [300000]},
            "start": "2023-06-01",
            "scenarios": False,
            **body,
        },
    )


def test_a_bureau_plans_its_district_and_a_street_office_reads_its_own(api: Api) -> None:
    made = _make(api, "bureau")
    assert made.status_code == 201, made.text
    plan = made.json()
    assert made.headers["Location"] == f"/v1/plans/{plan['plan_id']}"
    assert plan["district_id"] == "D1" and plan["trajectory"]["years"] == [2023, 2024]
    path = f"/v1/plans/{plan['plan_id']}"
    rows = api.get("bureau", f"{path}/rows").json()
    assert {r["unit_id"] for r in rows} <= {"U1", "U2", "U3"} and rows
    assert all(
        abs(
            r["bond"]
            + r["district"]
            + r["maintenance_fund"]
            + r["owners"]
            + r["advance"]
            - r["cost"]
        )
        < 0.01
        for r in rows
    )
    office = api.get("street_office", f"{path}/rows").json()
    assert {r["unit_id"] for r in office} == {r["unit_id"] for r in rows} & {"U1", "U2"}
    seen = api.get("street_office", path).json()
    assert seen["trajectory"] is None and seen["scenarios"] == []
    buildings = api.get("street_office", f"{path}/buildings").json()
    assert {b["building_id"] for b in buildings} <= {"B1"}
    # B4 is a six-floor walk-up with no elevator: a retrofit candidate of street office S1.
    retrofits = api.get("bureau", f"{path}/retrofits").json()
    assert [(r["building_id"], r["rank_in_street"]) for r in retrofits] == [("B4", 1)]
    assert retrofits[0]["residents_served"] > 0
    for role in ("contractor", "contractor2"):
        assert api.get(role, path).status_code == 404
        assert api.get(role, f"{path}/rows").status_code == 404
    assert [p["plan_id"] for p in api.get("bureau", "/v1/plans").json()] == [plan["plan_id"]]
    assert api.get("contractor", "/v1/plans").json() == []
    for lang, header in (("zh-CN", "电梯编号"), ("en", "Unit")):
        export = api.get("bureau", f"{path}/export.xlsx", params={"lang": lang})
        assert export.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(export.content))
        assert book.worksheets[0].cell(1, 1).value == header


def test_only_a_bureau_or_an_admin_makes_plans(api: Api) -> None:
    for role in ("street_office", "contractor"):
        assert _make(api, role).status_code == 403
    made = _make(api, "admin", district_id="D2")
    assert made.status_code == 201, made.text
    rows = api.get("admin", f"/v1/plans/{made.json()['plan_id']}/rows").json()
    assert {r["unit_id"] for r in rows} <= {"U4"}
    assert api.get("bureau", f"/v1/plans/{made.json()['plan_id']}").status_code == 404


def test_bad_plan_inputs_are_problems(api: Api) -> None:
    bad = _make(api, "bureau", policy_yaml="version: x\n")
    assert bad.status_code == 422
    assert "city is missing" in bad.json()["detail"]
    bad = _make(api, "bureau", budgets={"bond": ["lots"]})
    assert bad.status_code == 422 and "bond must be numbers" in bad.json()["detail"]
    bad = _make(api, "bureau", excluded={"U9": "gone"})
    assert bad.status_code == 422 and "U9" in bad.json()["detail"]
    assert _make(api, "bureau", years=9).status_code == 422
    assert api.get("bureau", "/v1/plans/999").status_code == 404


def test_from_2026_retrofits_take_the_bond_money_renewals_leave(api: Api) -> None:
    policy_2026 = (
        Path(__file__).parents[2] / "examples" / "funding" / "national-2026.yaml"
    ).read_text(encoding="utf-8")
    made = _make(api, "bureau", policy_yaml=policy_2026, budgets={"bond": [2_000_000]})
    assert made.status_code == 201, made.text
    path = f"/v1/plans/{made.json()['plan_id']}"
    rows = api.get("bureau", f"{path}/rows").json()
    (walkup,) = api.get("bureau", f"{path}/retrofits").json()
    assert walkup["subsidy"] == min(0.4 * walkup["cost"], 280_000)
    left = 2_000_000 - sum(r["bond"] for r in rows if r["year"] == 2023)
    assert walkup["year"] == (2023 if left >= walkup["subsidy"] else 2024)
    # Under the 2024 rule retrofits have their own money: ranked, not funded from the bond pot.
    old = _make(api, "bureau", budgets={"bond": [2_000_000]}).json()
    (ranked,) = api.get("bureau", f"/v1/plans/{old['plan_id']}/retrofits").json()
    assert ranked["year"] is None and ranked["subsidy"] == 0


def test_a_retrofit_rate_chooses_the_walkup_beside_renewals_and_reports_it_apart(
    api: Api,
) -> None:
    policy_2026 = (
        Path(__file__).parents[2] / "examples" / "funding" / "national-2026.yaml"
    ).read_text(encoding="utf-8")
    # The pot pays the walk-up's subsidy or a renewal's, not both; a high rate picks the walk-up.
    made = _make(
        api,
        "bureau",
        policy_yaml=policy_2026,
        budgets={"bond": [300_000]},
        years=1,
        retrofit_rate=1000.0,
        min_interval_years=1,
    )
    assert made.status_code == 201, made.text
    plan = made.json()
    assert plan["options"]["retrofit_rate"] == 1000.0 and plan["options"]["min_interval_years"] == 1
    path = f"/v1/plans/{plan['plan_id']}"
    (walkup,) = api.get("bureau", f"{path}/retrofits").json()
    retrofits = plan["summary"]["retrofits"]
    assert walkup["year"] == 2023 and retrofits["funded"] == 1
    assert retrofits["residents_served"] == walkup["residents_served"]
    rows = api.get("bureau", f"{path}/rows").json()
    assert sum(r["bond"] for r in rows) + walkup["subsidy"] <= 300_000
    assert plan["summary"]["risk_avoided"] == pytest.approx(sum(r["benefit"] for r in rows))
    for lang in ("zh-CN", "en"):
        page = api.client.get(
            f"/dashboards/plans/{plan['plan_id']}",
            params={"lang": lang},
            headers=api.as_("bureau"),
        )
        said = t(
            lang, "plan.retrofits_joint", rate="1000", funded=1, served=walkup["residents_served"]
        )  # type: ignore[arg-type]
        assert said in page.text
    bad = _make(api, "bureau", retrofit_rate=1.0)
    assert bad.status_code == 422 and "from_bond_pot" in bad.json()["detail"]
    assert _make(api, "bureau", min_interval_years=0).status_code == 422
