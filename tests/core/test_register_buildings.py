"""Register rows of buildings alone (walk-ups with no unit yet) and buildings' coordinates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pytest

from core.errors import ProblemList
from core.register import import_file, import_rows
from core.register_format import COLUMNS, UNIT_KEYS
from core.scope import Scope
from planning.retrofit import walkups
from tests.core.factories import unit_row
from tests.core.test_register import _write_csv as _write_rows

ZH = {c.key: c.zh for c in COLUMNS}
EXAMPLE = Path(__file__).parents[2] / "examples" / "register-walkups.csv"


def _write_csv(path: Path, rows: list[dict[str, Any]], zh: bool = False) -> Path:
    """Rows of different columns in one file: a cell a row does not give is left empty."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return _write_rows(path, [{k: row.get(k, "") for k in keys} for row in rows], zh=zh)


def walkup_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A row describing a six-floor walk-up with no elevator: every unit column empty."""
    row = {k: ("" if k in UNIT_KEYS else v) for k, v in unit_row(0).items()}
    row.update(
        building_id=f"W{n}",
        building=f"{n}号楼",
        floors="6",
        households="36",
        elderly_share="0.45",
        consent_share="0.8",
        lat="39.95",
        lon="116.25",
    )
    row.update(overrides)
    return row


def _building(conn: psycopg.Connection[Any], building_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT b.*, (SELECT count(*) FROM unit u WHERE u.building_id = b.building_id) AS units"
        " FROM building b WHERE building_id = %s",
        (building_id,),
    ).fetchone()
    assert row is not None, building_id
    return dict(row)


def test_a_row_without_a_unit_registers_its_building(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    point = {"lat": "39.9612", "lon": "116.2801"}
    rows = [unit_row(0, **point), unit_row(1, **point), walkup_row(7)]
    report = import_file(conn, _write_csv(tmp_path / "mixed.csv", rows))
    assert (report.rows, report.buildings_only, report.created, report.unchanged) == (3, 1, 2, 0)
    walkup = _building(conn, "W7")
    assert (walkup["units"], walkup["floors"], walkup["households"]) == (0, 6, 36)
    assert (float(walkup["consent_share"]), float(walkup["lat"]), float(walkup["lon"])) == (
        0.8,
        39.95,
        116.25,
    )
    tower = _building(conn, "C0-B0")
    assert (float(tower["lat"]), float(tower["lon"])) == (39.9612, 116.2801)
    again = import_file(conn, _write_csv(tmp_path / "mixed.csv", rows))
    assert (again.buildings_only, again.created, again.updated, again.unchanged) == (1, 0, 0, 2)
    assert _building(conn, "W7") == walkup


def test_a_file_of_walkups_alone_needs_no_unit_columns(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """Chinese headers, XLSX, and not one unit column: a street office's list of walk-ups."""
    rows = [
        {k: v for k, v in walkup_row(n).items() if k not in UNIT_KEYS and v != ""} for n in range(3)
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([ZH[k] for k in rows[0]])
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "walkups.xlsx"
    book.save(path)
    report = import_file(conn, path)
    assert (report.rows, report.buildings_only, report.created) == (3, 3, 0)
    assert [_building(conn, f"W{n}")["units"] for n in range(3)] == [0, 0, 0]


def test_a_row_with_any_unit_cell_needs_every_unit_column(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rows = [walkup_row(1, manufacturer="MakerA"), walkup_row(2, floors="")]
    with pytest.raises(ProblemList) as caught:
        import_file(conn, _write_csv(tmp_path / "half.csv", rows, zh=True))
    found = {(p.row, p.field, p.reason) for p in caught.value.problems}
    missing = "缺少必填值"
    assert found == {
        (2, "电梯编号", missing),
        (2, "注册代码", missing),
        (2, "安装日期", missing),
        (2, "维保单位编码", missing),
        (2, "维保单位", missing),
        (3, "层数", missing),
    }
    assert conn.execute("SELECT count(*) AS n FROM building").fetchone() == {"n": 0}


def test_a_walkup_row_must_agree_with_the_units_of_its_building(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rows = [unit_row(0), walkup_row(0, building_id="C0-B0", building="0号楼", floors="7")]
    with pytest.raises(ProblemList) as caught:
        import_file(conn, _write_csv(tmp_path / "clash.csv", rows))
    assert {(p.row, p.field) for p in caught.value.problems} >= {(3, "floors")}


@pytest.mark.parametrize(
    ("zh", "cells", "problem"),
    [
        (
            False,
            {"lat": "139.9"},
            ("lat", "expected a latitude in degrees between -90 and 90, e.g. 39.9042"),
        ),
        (
            True,
            {"lon": "east"},
            ("经度", "应为经度（度），在 -180 到 180 之间，如 116.4074"),
        ),
        (
            False,
            {"lon": ""},
            ("lon", "latitude and longitude go together: 'lat' is given, this one is missing"),
        ),
        (
            True,
            {"lat": ""},
            ("纬度", "经纬度须同时填写：已有「经度」，缺少此项"),
        ),
    ],
)
def test_coordinates_are_checked_in_the_files_language(
    conn: psycopg.Connection[Any],
    tmp_path: Path,
    zh: bool,
    cells: dict[str, str],
    problem: tuple[str, str],
) -> None:
    path = _write_csv(tmp_path / "bad.csv", [walkup_row(1, **cells)], zh=zh)
    with pytest.raises(ProblemList) as caught:
        import_file(conn, path)
    assert [(p.row, p.field, p.reason) for p in caught.value.problems] == [(2, *problem)]


def test_an_empty_coordinate_keeps_what_the_register_holds(conn: psycopg.Connection[Any]) -> None:
    import_rows(conn, [walkup_row(1)], source="first")
    import_rows(conn, [walkup_row(1, lat="", lon="", households="40")], source="second")
    walkup = _building(conn, "W1")
    assert (walkup["households"], float(walkup["lat"]), float(walkup["lon"])) == (40, 39.95, 116.25)


def test_a_bureau_registers_walkups_only_in_its_district(conn: psycopg.Connection[Any]) -> None:
    import_rows(conn, [walkup_row(1, district_id="D2", street_office_id="SO2")], source="admin")
    bureau = Scope("bureau", "D1")
    with pytest.raises(ProblemList) as caught:
        import_rows(conn, [walkup_row(1)], source="bureau", scope=bureau)
    assert {(p.row, p.field) for p in caught.value.problems} == {
        (2, "community_id"),
        (2, "building_id"),
    }
    new_place = {"district_id": "D2", "street_office_id": "SO9", "community_id": "C9"}
    with pytest.raises(ProblemList) as caught:
        import_rows(conn, [walkup_row(2, **new_place)], source="bureau", scope=bureau)
    assert {(p.row, p.field) for p in caught.value.problems} == {(2, "district_id")}
    report = import_rows(conn, [walkup_row(3, community_id="C3")], source="bureau", scope=bureau)
    assert report.buildings_only == 1 and _building(conn, "W3")["units"] == 0


def test_the_walkup_example_imports_and_its_walkups_are_retrofit_candidates(
    conn: psycopg.Connection[Any],
) -> None:
    report = import_file(conn, EXAMPLE)
    assert (report.rows, report.created, report.buildings_only) == (4, 1, 3)
    found = {w["building_id"] for w in walkups(conn, scope=Scope("bureau", "110108"))}
    assert found == {"EX-C02-B06", "EX-C02-B08", "EX-C03-B01"}
    assert walkups(conn, scope=Scope("bureau", "110105")) == []
