"""Writes are scoped by what they touch: the register as it is, not what a row or body claims."""

from __future__ import annotations

import csv
import io
from typing import Any

import psycopg

from tests.api.conftest import Api, fleet_rows


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _bureau_of_d2(api: Api, conn: psycopg.Connection[Any]) -> dict[str, str]:
    from api.tokens import create_token

    token, _ = create_token(conn, role="bureau", bound_to="D2", name="d2")
    return {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}


def _place(conn: psycopg.Connection[Any], unit: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM unit_place WHERE unit_id = %s", (unit,)).fetchone()
    assert row is not None
    return row


def test_a_bureau_cannot_take_over_another_districts_street_office(
    api: Api, conn: psycopg.Connection[Any]
) -> None:
    d2 = _bureau_of_d2(api, conn)
    # D1's unit U1 with its street office, community and building, claimed for D2, and handed to
    # a contractor of D2's choosing.
    takeover = dict(fleet_rows()[0], district_id="D2", district="区D2", contractor_id="K9")
    takeover["contractor"] = "维保K9"
    response = api.client.post("/v1/register/import", headers=d2, content=_csv([takeover]))
    assert response.status_code == 422, response.text
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {"street_office_id", "community_id", "building_id", "unit_id"}
    assert _place(conn, "U1") == {**_place(conn, "U1"), "district_id": "D1", "contractor_id": "K1"}
    assert conn.execute("SELECT 1 FROM contractor WHERE contractor_id = 'K9'").fetchone() is None
    assert api.get("bureau", "/v1/street-offices/S1").status_code == 200


def test_even_an_admin_moves_things_only_when_asked_and_the_move_is_recorded(
    api: Api, conn: psycopg.Connection[Any]
) -> None:
    admin = {**api.as_("admin"), "Content-Type": "text/csv"}
    moved = [dict(r, district_id="D2", district="区D2") for r in fleet_rows()[:2]]
    refused = api.client.post("/v1/register/import", headers=admin, content=_csv(moved))
    assert refused.status_code == 422
    assert {p["field"] for p in refused.json()["problems"]} == {"district_id"}
    assert "--allow-moves" in refused.json()["problems"][0]["reason"]
    assert _place(conn, "U1")["district_id"] == "D1"
    done = api.client.post(
        "/v1/register/import",
        headers=admin,
        params={"allow_moves": "true"},
        content=_csv(moved),
    )
    assert done.status_code == 200, done.text
    assert _place(conn, "U1")["district_id"] == "D2"
    record = conn.execute("SELECT entity, entity_id, old_value, new_value FROM register_move")
    assert record.fetchall() == [
        {"entity": "street_office", "entity_id": "S1", "old_value": "D1", "new_value": "D2"}
    ]


def test_a_bureau_changes_a_contractor_only_inside_its_district_and_when_asked(
    api: Api, conn: psycopg.Connection[Any]
) -> None:
    bureau = {**api.as_("bureau"), "Content-Type": "text/csv"}
    row = dict(fleet_rows()[0], contractor_id="K2", contractor="维保K2")
    unasked = api.client.post("/v1/register/import", headers=bureau, content=_csv([row]))
    assert unasked.status_code == 422
    assert [p["field"] for p in unasked.json()["problems"]] == ["contractor_id"]
    asked = api.client.post(
        "/v1/register/import", headers=bureau, params={"allow_moves": "1"}, content=_csv([row])
    )
    assert asked.status_code == 200, asked.text
    assert _place(conn, "U1")["contractor_id"] == "K2"
    change = conn.execute(
        "SELECT old_value, new_value, source FROM unit_change WHERE field = 'contractor_id'"
    ).fetchone()
    assert change is not None and (change["old_value"], change["new_value"]) == ("K1", "K2")
    assert change["source"].startswith("api:")


def test_only_an_admin_renames_a_contractor(api: Api) -> None:
    # K1 also serves D2: a bureau of D1 renaming it would rename it for D2 too.
    for role in ("bureau", "street_office", "contractor"):
        response = api.client.patch("/v1/contractors/K1", headers=api.as_(role), json={"name": "x"})
        assert response.status_code == 403, role
    assert api.get("admin", "/v1/contractors/K1").json()["name"] == "维保K1"
    renamed = api.client.patch(
        "/v1/contractors/K1", headers=api.as_("admin"), json={"name": "新名称"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "新名称"
    bureau = {**api.as_("bureau"), "Content-Type": "text/csv"}
    row = dict(fleet_rows()[0], contractor="另一个名称")
    through_import = api.client.post("/v1/register/import", headers=bureau, content=_csv([row]))
    assert through_import.status_code == 422
    assert [p["field"] for p in through_import.json()["problems"]] == ["contractor"]


def test_an_id_taken_outside_the_scope_reads_as_not_found_not_conflict(api: Api) -> None:
    h = api.as_("bureau")
    unit = {
        "registration_code": "RC-NEW",
        "building_id": "B1",
        "manufacturer": "MakerA",
        "installed_on": "2001-01-01",
        "contractor_id": "K1",
    }
    taken_elsewhere = api.client.post("/v1/units", headers=h, json={**unit, "unit_id": "U4"})
    assert taken_elsewhere.status_code == 404, taken_elsewhere.text
    absent = api.get("bureau", "/v1/units/U4").json()
    assert taken_elsewhere.json()["detail"] == absent["detail"]
    seen = api.client.post("/v1/units", headers=h, json={**unit, "unit_id": "U1"})
    assert seen.status_code == 409
    building = {"community_id": "C1", "name": "x", "floors": 3, "households": 9}
    b3 = api.client.post("/v1/buildings", headers=h, json={**building, "building_id": "B3"})
    assert b3.status_code == 404
    created = api.client.post("/v1/units", headers=h, json={**unit, "unit_id": "U-FREE"})
    assert created.status_code == 201
