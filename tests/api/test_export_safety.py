"""Exports are safe to open: text that a spreadsheet would run as a formula is shown as text."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from api.exports import safe_cell
from tests.api.conftest import Api

FORMULAS = ['=HYPERLINK("http://evil.example","点击")', "+1+1", "-2+3", "@SUM(1)", "＝1+1"]


@pytest.mark.parametrize("text", [*FORMULAS, "\t=1", "\r=1"])
def test_formula_starts_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["2号楼", "B-1", "", 3, -1.5, None])
def test_other_values_are_kept(value: object) -> None:
    assert safe_cell(value) == value


def test_building_names_that_look_like_formulas_export_as_text(api: Api) -> None:
    admin = api.as_("admin")
    buildings = {"B1": FORMULAS[0], "B4": FORMULAS[3]}
    for building, name in buildings.items():
        response = api.client.patch(f"/v1/buildings/{building}", headers=admin, json={"name": name})
        assert response.status_code == 200, response.text
    path = "/v1/street-offices/S1/buildings"
    rows = list(
        csv.DictReader(
            io.StringIO(
                api.get("bureau", f"{path}.csv", params={"lang": "en"}).content.decode("utf-8-sig")
            )
        )
    )
    assert {r["Building code"]: r["Building"] for r in rows} == {
        b: "'" + name for b, name in buildings.items()
    }
    xlsx = api.get("bureau", f"{path}.xlsx", params={"lang": "en"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    column = header.index("Building") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert {c.value for c in cells} == {"'" + name for name in buildings.values()}
    assert all(c.data_type == "s" for c in cells)  # text, not a formula ("f")
