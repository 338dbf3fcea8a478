"""The register resources for every role: what each sees, what it may change, and 404 elsewhere."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import ROLES, UNITS, VISIBLE_BUILDINGS, VISIBLE_UNITS, Api

ALL_ROLES = list(ROLES)


def _ids(api: Api, role: str, path: str, key: str, **params: object) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        query = dict(params, limit=1, **({"cursor": cursor} if cursor else {}))
        response = api.get(role, path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found |= {item[key] for item in body["items"]}
        cursor = body["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_lists_and_reads_only_its_units(shared_api: Api, role: str) -> None:
    assert _ids(shared_api, role, "/v1/units", "unit_id") == VISIBLE_UNITS[role]
    for unit in UNITS:
        response = shared_api.get(role, f"/v1/units/{unit}")
        if unit in VISIBLE_UNITS[role]:
            assert response.status_code == 200
            assert response.json()["district_id"] == UNITS[unit][0]
        else:
            assert response.status_code == 404
            assert response.json()["type"].endswith("/not-found")
            # Out of scope reads exactly like absent.
            absent = shared_api.get(role, "/v1/units/NO-SUCH-UNIT").json()
            assert response.json()["detail"].replace(unit, "X") == absent["detail"].replace(
                "NO-SUCH-UNIT", "X"
            )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_sees_its_buildings_and_places(shared_api: Api, role: str) -> None:
    assert _ids(shared_api, role, "/v1/buildings", "building_id") == VISIBLE_BUILDINGS[role]
    expected_offices = {
        "admin": {"S1", "S2", "S3"},
        "bureau": {"S1", "S2"},
        "street_office": {"S1"},
        "contractor": {"S1", "S3"},
        "contractor2": {"S2"},
    }[role]
    assert _ids(shared_api, role, "/v1/street-offices", "street_office_id") == expected_offices
    expected_districts = {"admin": {"D1", "D2"}, "contractor": {"D1", "D2"}}.get(role, {"D1"})
    assert _ids(shared_api, role, "/v1/districts", "district_id") == expected_districts
    for district in ("D1", "D2"):
        status = shared_api.get(role, f"/v1/districts/{district}").status_code
        assert status == (200 if district in expected_districts else 404)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_contractor_directory_visibility(shared_api: Api, role: str) -> None:
    expected = {
        "admin": {"K1", "K2"},
        "bureau": {"K1", "K2"},
        "street_office": {"K1"},
        "contractor": {"K1"},
        "contractor2": {"K2"},
    }[role]
    assert _ids(shared_api, role, "/v1/contractors", "contractor_id") == expected


def test_filters_narrow_lists(shared_api: Api) -> None:
    assert _ids(shared_api, "admin", "/v1/units", "unit_id", building_id="B1") == {"U1", "U2"}
    assert _ids(shared_api, "admin", "/v1/units", "unit_id", district_id="D2") == {"U4"}
    assert _ids(shared_api, "bureau", "/v1/units", "unit_id", district_id="D2") == set()
    assert _ids(shared_api, "admin", "/v1/buildings", "building_id", street_office_id="S1") == {
        "B1",
        "B4",
    }
    building = shared_api.get("street_office", "/v1/buildings/B1").json()
    assert (building["units"], building["units_in_service"]) == (2, 2)


def test_without_a_token_everything_is_401(shared_api: Api) -> None:
    for path in ("/v1/units", "/v1/units/U1", "/v1/districts", "/v1/buildings/B1"):
        response = shared_api.client.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    bad = shared_api.client.get(
        "/v1/units", headers={"Authorization": "Bearer lw_000000000000_nope-nope-nope-nope-nope"}
    )
    assert bad.status_code == 401
    assert (
        shared_api.client.get("/v1/units", headers={"Authorization": "Basic abc"}).status_code
        == 401
    )


def test_cookie_token_is_accepted(shared_api: Api) -> None:
    shared_api.client.cookies.set("liftwatch_token", shared_api.tokens["street_office"])
    try:
        assert shared_api.client.get("/v1/units/U1").status_code == 200
        assert shared_api.client.get("/v1/units/U3").status_code == 404
    finally:
        shared_api.client.cookies.clear()


def test_bureau_creates_and_changes_inside_its_district_only(api: Api) -> None:
    h = api.as_("bureau")
    created = api.client.post(
        "/v1/communities",
        headers=h,
        json={"community_id": "C9", "street_office_id": "S1", "name": "新小区"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/communities/C9"
    outside = api.client.post(
        "/v1/communities",
        headers=h,
        json={"community_id": "C8", "street_office_id": "S3", "name": "x"},
    )
    # A parent outside the scope reads as one that does not exist.
    assert outside.status_code == 404
    assert outside.json()["detail"] == "no street office 'S3' in your scope"
    again = api.client.post(
        "/v1/communities",
        headers=h,
        json={"community_id": "C9", "street_office_id": "S1", "name": "新小区"},
    )
    assert again.status_code == 409
    patched = api.client.patch("/v1/buildings/B1", headers=h, json={"fund_status": "funded"})
    assert patched.status_code == 200 and patched.json()["fund_status"] == "funded"
    assert api.client.patch("/v1/buildings/B3", headers=h, json={"floors": 7}).status_code == 404
    district = api.client.post(
        "/v1/districts", headers=h, json={"district_id": "D9", "name": "新区"}
    )
    assert district.status_code == 403


def test_unit_changes_are_audited_and_move_the_contract(api: Api) -> None:
    h = api.as_("admin")
    response = api.client.patch(
        "/v1/units/U1", headers=h, json={"contractor_id": "K2", "service_status": "stopped"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["contractor_id"] == "K2"
    # The old contractor no longer sees the unit; the new one does.
    assert api.get("contractor", "/v1/units/U1").status_code == 404
    assert api.get("contractor2", "/v1/units/U1").status_code == 200
    timeline = api.get("admin", "/v1/units/U1/timeline").json()
    assert {c["field"] for c in timeline["changes"]} >= {"contractor_id", "service_status"}
    unknown = api.client.patch("/v1/units/U2", headers=h, json={"contractor_id": "K404"})
    assert unknown.status_code == 404


def test_create_unit_and_building(api: Api) -> None:
    h = api.as_("admin")
    building = api.client.post(
        "/v1/buildings",
        headers=h,
        json={
            "building_id": "B9",
            "community_id": "C3",
            "name": "9号楼",
            "floors": 7,
            "households": 28,
        },
    )
    assert building.status_code == 201, building.text
    assert building.json()["district_id"] == "D2"
    unit = api.client.post(
        "/v1/units",
        headers=h,
        json={
            "unit_id": "U9",
            "registration_code": "RC9",
            "building_id": "B9",
            "manufacturer": "MakerB",
            "installed_on": "2008-01-01",
            "contractor_id": "K2",
        },
    )
    assert unit.status_code == 201, unit.text
    assert api.get("contractor2", "/v1/units/U9").status_code == 200


@pytest.mark.parametrize("role", ["street_office", "contractor"])
def test_readers_may_not_write(shared_api: Api, role: str) -> None:
    h = shared_api.as_(role)
    assert (
        shared_api.client.patch("/v1/units/U1", headers=h, json={"model": "X"}).status_code == 403
    )
    assert (
        shared_api.client.post(
            "/v1/contractors", headers=h, json={"contractor_id": "K7", "name": "x"}
        ).status_code
        == 403
    )


def test_bad_input_is_422_with_each_field(shared_api: Api) -> None:
    response = shared_api.client.post(
        "/v1/buildings",
        headers=shared_api.as_("admin"),
        json={
            "building_id": "bad id",
            "community_id": "C1",
            "name": "",
            "floors": 0,
            "households": -1,
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    fields = {p["field"] for p in body["problems"]}
    assert {"body.building_id", "body.name", "body.floors", "body.households"} <= fields


def _csv(rows: list[dict[str, str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_register_import_by_role(api: Api) -> None:
    from tests.api.conftest import fleet_rows

    rows = fleet_rows()
    new = dict(rows[0], unit_id="U10", registration_code="RC10")
    body = _csv([*rows[:3], new])
    h = {**api.as_("bureau"), "Content-Type": "text/csv"}
    response = api.client.post("/v1/register/import", headers=h, content=body)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1 and response.json()["unchanged"] == 3
    assert api.get("bureau", "/v1/units/U10").status_code == 200
    outside = api.client.post("/v1/register/import", headers=h, content=_csv(rows))
    assert outside.status_code == 422
    assert {p["row"] for p in outside.json()["problems"]} == {5}
    reader = {**api.as_("street_office"), "Content-Type": "text/csv"}
    assert api.client.post("/v1/register/import", headers=reader, content=body).status_code == 403
    xml = {**api.as_("admin"), "Content-Type": "application/xml"}
    assert api.client.post("/v1/register/import", headers=xml, content=b"<a/>").status_code == 415


@pytest.mark.parametrize("role", ALL_ROLES)
def test_communities_by_role(shared_api: Api, role: str) -> None:
    expected = {
        "admin": {"C1", "C2", "C3"},
        "bureau": {"C1", "C2"},
        "street_office": {"C1"},
        "contractor": {"C1", "C3"},
        "contractor2": {"C2"},
    }[role]
    assert _ids(shared_api, role, "/v1/communities", "community_id") == expected
    for community in ("C1", "C2", "C3"):
        status = shared_api.get(role, f"/v1/communities/{community}").status_code
        assert status == (200 if community in expected else 404)


def test_bureau_registers_a_contractor_and_renames_its_street_office(api: Api) -> None:
    h = api.as_("bureau")
    created = api.client.post(
        "/v1/contractors", headers=h, json={"contractor_id": "K9", "name": "新维保"}
    )
    assert created.status_code == 201
    assert api.get("bureau", "/v1/contractors/K9").json()["name"] == "新维保"
    renamed = api.client.patch("/v1/street-offices/S1", headers=h, json={"name_en": "Balizhuang"})
    assert renamed.status_code == 200 and renamed.json()["name_en"] == "Balizhuang"
    assert (
        api.client.patch("/v1/street-offices/S3", headers=h, json={"name": "x"}).status_code == 404
    )
    assert api.client.patch("/v1/districts/D1", headers=h, json={"name": ""}).status_code == 422


def test_register_import_of_an_xlsx_with_chinese_headers(api: Api) -> None:
    import io

    import openpyxl

    from core.register_format import BY_HEADER
    from tests.api.conftest import fleet_rows

    row = dict(fleet_rows()[3], unit_id="U11", registration_code="RC11")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([BY_HEADER[key].zh for key in row])
    sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = api.client.post(
        "/v1/register/import",
        headers={**api.as_("admin"), "Content-Type": media},
        content=out.getvalue(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert api.get("contractor", "/v1/units/U11").json()["district_id"] == "D2"
    broken = api.client.post(
        "/v1/register/import",
        headers={**api.as_("admin"), "Content-Type": media},
        content=b"not a zip",
    )
    assert broken.status_code == 422


def test_a_buildings_coordinates_go_in_and_come_back(api: Api) -> None:
    h = api.as_("admin")
    body = {"building_id": "B8", "community_id": "C3", "name": "8号楼", "floors": 6}
    half = api.client.post("/v1/buildings", headers=h, json={**body, "households": 24, "lat": 30.5})
    assert half.status_code == 422
    made = api.client.post(
        "/v1/buildings", headers=h, json={**body, "households": 24, "lat": 30.5, "lon": 114.3}
    )
    assert made.status_code == 201, made.text
    assert (made.json()["lat"], made.json()["lon"]) == (30.5, 114.3)
    assert api.client.patch("/v1/buildings/B8", headers=h, json={"lat": 30.6}).status_code == 422
    moved = api.client.patch("/v1/buildings/B8", headers=h, json={"lat": 30.6, "lon": 114.4})
    assert (moved.json()["lat"], moved.json()["lon"]) == (30.6, 114.4)
    nulls = api.client.patch("/v1/buildings/B8", headers=h, json={"lat": None, "lon": None})
    assert nulls.status_code == 422


def test_a_register_file_registers_walkups_with_their_coordinates(api: Api) -> None:
    from tests.api.conftest import fleet_rows

    [first, *_] = fleet_rows()
    unit_columns = {"unit_id", "registration_code", "manufacturer", "model", "installed_on"}
    unit_columns |= {"renewed_on", "rated_load_kg", "rated_speed_mps", "stops", "drive_type"}
    unit_columns |= {"contractor_id", "contractor", "contractor_since", "service_status"}
    walkup = {k: v for k, v in first.items() if k not in unit_columns}
    walkup |= {
        "building_id": "W1",
        "building": "W1号楼",
        "floors": "6",
        "lat": "39.9",
        "lon": "116.3",
    }
    h = {**api.as_("bureau"), "Content-Type": "text/csv"}
    response = api.client.post("/v1/register/import", headers=h, content=_csv([walkup]))
    assert response.status_code == 200, response.text
    assert (response.json()["buildings_only"], response.json()["created"]) == (1, 0)
    building = api.get("bureau", "/v1/buildings/W1").json()
    assert (building["units"], building["lat"], building["lon"]) == (0, 39.9, 116.3)
    export = api.get(
        "admin",
        f"/v1/street-offices/{first['street_office_id']}/buildings.csv",
        params={"lang": "en"},
    )
    rows = {
        r["Building code"]: r
        for r in csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))
    }
    assert (rows["W1"]["Latitude"], rows["W1"]["Longitude"]) == ("39.9", "116.3")
