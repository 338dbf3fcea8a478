"""The two renewals the planner must reproduce, from the seed cases' register in the database."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from core.scope import ADMIN
from planning.catalogue import load_catalogue
from planning.funding import load_policy, parse_budgets
from planning.inputs import load_fleet
from planning.model import Options
from planning.plan import make_plan
from tests.planning.factories import score_run, seed_register, set_building, set_unit

EXAMPLES = Path(__file__).parents[2] / "examples" / "funding"


def _phases(rows: list[dict[str, Any]]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["period"], []).append(row["unit_id"])
    return {p: sorted(u) for p, u in sorted(found.items())}


def test_daoxiangyuan_west_one_unit_per_building_then_the_rest(
    conn: psycopg.Connection[Any],
) -> None:
    rows = seed_register(conn, "DXYX")
    stopped = sorted(r["unit_id"] for r in rows if r["service_status"] == "stopped")
    assert len(stopped) == 3
    for r in rows:
        # The 2020 inspection recommended replacing all eight; owners pay what the fund cannot.
        set_unit(conn, r["unit_id"], assessment_on=date(2020, 6, 1), assessment_action="replace")
        set_building(conn, r["building_id"], collection_rate=0.6)
    set_building(conn, "DXYX-B02", fund_vote_on=date(2023, 3, 1))
    # Scores that tempt a planner to break the rules: a stopped unit scored low (it must still come
    # first), and a running unit of a building whose other unit is stopped scored high (it must
    # still wait, or the building would have no elevator).
    pof = {r["unit_id"]: 0.3 if r["unit_id"] in stopped else 0.1 for r in rows}
    pof[stopped[-1]] = 0.02
    pof["DXYX-02-2"] = 0.25
    pof["DXYX-04-2"] = 0.12
    run_id = score_run(conn, pof)
    start = date(2023, 5, 1)
    fleet = load_fleet(conn, run_id=run_id, scope=ADMIN, start=start)
    budgets = parse_budgets({"bond": [600_000]}, years=2)  # four replacements' subsidy a year
    plan = make_plan(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(EXAMPLES / "national-2024.yaml"),
        budgets=budgets,
        options=Options(start=start, years=2),
    )
    phases = _phases(plan.rows)
    assert list(phases) == [1, 2]
    first, second = phases[1], phases[2]
    assert len(first) == 4 and len(second) == 4
    assert set(stopped) <= set(first)
    assert "DXYX-04-2" in first
    assert "DXYX-02-2" in second
    building = {r["unit_id"]: r["building_id"] for r in plan.rows}
    assert len({building[u] for u in first}) == 4, "one unit per building in the first phase"
    assert len({building[u] for u in second}) == 4
    for row in plan.rows:
        assert row["action"] == "replace"
        assert row["bond"] == 150_000
        paid = sum(row[s] for s in ("bond", "district", "maintenance_fund", "owners", "advance"))
        assert abs(paid - row["cost"]) < 0.01
        assert row["mandatory"] == (row["unit_id"] in stopped)
    # Building 2's fund (¥380,000, vote passed) pays one unit's remainder; owners pay the rest.
    fund = [r for r in plan.rows if r["maintenance_fund"] > 0]
    assert [r["building_id"] for r in fund] == ["DXYX-B02"]
    assert sum(r["maintenance_fund"] for r in fund) <= 380_000
    assert plan.trajectory["plan"]["failures"][1] < plan.trajectory["do_nothing"]["failures"][1]


def test_runfeng_xinshang_advance_first_then_collection(conn: psycopg.Connection[Any]) -> None:
    rows = seed_register(conn, "RFXS")
    buildings = sorted({r["building_id"] for r in rows})
    # Collection per building when the plan starts, and when each is expected to pass 50%.
    passes = {b: date(2023, 6, 10 + 3 * n) for n, b in enumerate(buildings)}
    for n, b in enumerate(buildings):
        set_building(
            conn,
            b,
            floor_area_m2=16_200,
            collection_rate=0.2 + 0.04 * n,
            collection_expected_on=passes[b],
        )
    pof = {r["unit_id"]: 0.15 + 0.001 * i for i, r in enumerate(rows)}
    run_id = score_run(conn, pof)
    start = date(2023, 5, 1)
    fleet = load_fleet(conn, run_id=run_id, scope=ADMIN, start=start)
    budgets = parse_budgets({"advance": [420_000], "advance_max_units_per_building": 1}, years=1)
    plan = make_plan(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(EXAMPLES / "beijing-changping-2023.yaml"),
        budgets=budgets,
        options=Options(start=start, years=1, period_months=1),
    )
    assert len(plan.rows) == 18
    assert all(r["action"] == "overhaul" and r["cost"] == 70_000 for r in plan.rows)
    first = [r for r in plan.rows if r["phase"] == 1]
    later = [r for r in plan.rows if r["phase"] == 2]
    assert sorted(r["building_id"] for r in first) == buildings, "one unit per building first"
    assert all(r["period"] == 1 and r["advance"] == 70_000 for r in first), [
        (r["unit_id"], r["period"], r["advance"], r["owners"]) for r in plan.rows
    ]
    assert sum(r["advance"] for r in plan.rows) == 420_000
    assert len(later) == 12
    for r in later:
        assert r["owners"] == 70_000 and r["advance"] == 0
        # The month after the building's collection is expected to pass 50%.
        assert r["starts_on"] == date(2023, 7, 1) and r["starts_on"] >= passes[r["building_id"]]
    waits = {b["building_id"]: b["waits"] for b in plan.buildings}
    for n, b in enumerate(buildings):
        (collection,) = [w for w in waits[b] if w["kind"] == "collection"]
        assert collection["threshold"] == 0.5
        assert abs(collection["rate"] - (0.2 + 0.04 * n)) < 1e-9
        assert collection["expected_on"] == passes[b]
