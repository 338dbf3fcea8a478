"""The register file carries the planner's optional facts; an empty cell keeps what is stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from core.errors import ProblemList
from core.register import import_rows
from simulators.scenario import load_scenario


def _rows() -> list[dict[str, Any]]:
    return [r for r in load_scenario("seed-cases").register_rows() if r["community_id"] == "RFXS"]


def test_planning_columns_are_imported_and_kept(conn: psycopg.Connection[Any]) -> None:
    rows = _rows()
    for r in rows:
        if r["building_id"] == "RFXS-B01":
            r.update(
                {
                    "建筑面积": "16,200",
                    "业主缴费比例": "35%",
                    "预计缴费达标日期": "2023/6/20",
                    "维修资金表决日期": None,
                    "加装电梯同意比例": "0.9",
                }
            )
        r["assessment_action"] = "大修" if r["unit_id"] == "RFXS-01-1" else None
        r["assessment_on"] = date(2023, 3, 1) if r["unit_id"] == "RFXS-01-1" else None
    rows = [
        {
            k: v
            for k, v in r.items()
            if k
            not in (
                "floor_area_m2",
                "collection_rate",
                "collection_expected_on",
                "fund_vote_on",
                "consent_share",
            )
        }
        for r in rows
    ]
    for r in rows:
        r.setdefault("建筑面积", None)
        r.setdefault("业主缴费比例", None)
        r.setdefault("预计缴费达标日期", None)
        r.setdefault("加装电梯同意比例", None)
    import_rows(conn, rows, source="test")
    b = conn.execute("SELECT * FROM building WHERE building_id = 'RFXS-B01'").fetchone()
    assert b["floor_area_m2"] == Decimal("16200.00")
    assert b["collection_rate"] == Decimal("0.350")
    assert b["collection_expected_on"] == date(2023, 6, 20)
    assert b["consent_share"] == Decimal("0.900") and b["fund_vote_on"] is None
    u = conn.execute("SELECT * FROM unit WHERE unit_id = 'RFXS-01-1'").fetchone()
    assert (u["assessment_on"], u["assessment_action"]) == (date(2023, 3, 1), "overhaul")
    # A later file without these columns leaves them as they are.
    import_rows(conn, _rows(), source="test")
    b = conn.execute(
        "SELECT collection_rate FROM building WHERE building_id = 'RFXS-B01'"
    ).fetchone()
    assert b["collection_rate"] == Decimal("0.350")


def test_bad_planning_cells_are_named(conn: psycopg.Connection[Any]) -> None:
    rows = _rows()
    rows[0]["assessment_action"] = "paint it"
    with pytest.raises(ProblemList) as caught:
        import_rows(conn, rows, source="test")
    assert any(
        p.field == "assessment_action" and "expected one of" in p.reason
        for p in caught.value.problems
    )
    assert conn.execute("SELECT count(*) AS n FROM unit").fetchone()["n"] == 0
