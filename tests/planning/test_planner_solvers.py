"""Every method keeps every rule on random fleets, the MILP is never beaten by the heuristics, and
the LP relaxation bounds them all."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from planning.catalogue import load_catalogue
from planning.funding import BUDGETED, Budgets, load_policy, parse_budgets
from planning.model import PAYERS, Candidates, Fleet, Options, candidates
from planning.plan import make_plan
from planning.solve import (
    Solution,
    age_first,
    building_caps,
    greedy,
    lagrangian_bound,
    lp_relaxation,
    risk_first,
    solve_milp,
)

POLICY = Path(__file__).parents[2] / "examples" / "funding" / "chengdu-2025.yaml"
START = date(2026, 1, 1)


def random_fleet(seed: int, buildings: int = 40) -> Fleet:
    """Buildings of one to three units with random scores, ages, funds and collections."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3], size=buildings)
    ub = np.repeat(np.arange(buildings), sizes)
    n = ub.size
    age = rng.uniform(5, 35, n)
    return Fleet(
        building_ids=[f"B{b}" for b in range(buildings)],
        building_names=[f"{b}号楼" for b in range(buildings)],
        street_office_ids=["S1"] * buildings,
        district_ids=["D1"] * buildings,
        households=rng.integers(20, 200, buildings).astype(float),
        elderly_share=rng.uniform(0, 0.8, buildings),
        fund_balance=np.where(rng.random(buildings) < 0.5, rng.uniform(0, 500_000, buildings), 0),
        fund_vote_on=[date(2025, 1, 1)] * buildings,
        collection_rate=rng.uniform(0, 1, buildings),
        collection_expected_on=[date(2027, 3, 1)] * buildings,
        floor_area=rng.uniform(3_000, 20_000, buildings),
        unit_ids=[f"U{i}" for i in range(n)],
        unit_building=ub,
        pof=rng.uniform(0.01, 0.5, n),
        cof=rng.uniform(0.5, 3, n),
        stopped=np.zeros(n, dtype=bool),
        age_years=age,
        stops=rng.integers(6, 30, n).astype(float),
        speed_mps=np.full(n, 1.5),
        assessment_action=[("replace" if a > 15 else None) for a in age],
        assessment_on=[date(2025, 6, 1)] * n,
    )


def _check(fleet: Fleet, c: Candidates, s: Solution, budgets: Budgets, options: Options) -> None:
    chosen = s.chosen
    units = c.unit[chosen]
    assert len(set(units.tolist())) == units.size, "one action per unit"
    caps = building_caps(fleet, options)
    b = fleet.unit_building[units]
    for building, period in set(zip(b.tolist(), c.period[chosen].tolist(), strict=True)):
        worked = ((b == building) & (c.period[chosen] == period)).sum()
        assert worked <= caps[building, period]
        assert worked < max(fleet.units_in_building[building], 2), "one elevator keeps running"
    for source in BUDGETED:
        for year in range(options.years):
            spent = c.split[source][chosen][c.year[chosen] == year].sum()
            assert spent <= budgets.amounts[source][year] + 1e-3
    fund = c.payer[chosen] == PAYERS.index("maintenance_fund")
    spent = np.bincount(
        b[fund],
        weights=c.split["maintenance_fund"][chosen][fund],
        minlength=len(fleet.building_ids),
    )
    assert (spent <= fleet.fund_balance + 1e-3).all()
    assert set(c.mandatory_units.tolist()) <= set(units.tolist())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_method_keeps_the_rules_and_the_milp_wins(seed: int) -> None:
    fleet = random_fleet(seed)
    fleet.stopped[np.random.default_rng(seed).choice(len(fleet.unit_ids), 3, replace=False)] = True
    fleet.collection_rate[fleet.unit_building[fleet.stopped]] = 1.0
    policy = load_policy(POLICY)
    budgets = parse_budgets(
        {
            "bond": [600_000],
            "district": [300_000],
            "advance": [140_000],
            "advance_max_units_per_building": 1,
        },
        years=3,
    )
    options = Options(start=START, years=3)
    c = candidates(
        fleet, catalogue=load_catalogue(), policy=policy, budgets=budgets, options=options
    )
    bound, guide = lp_relaxation(fleet, c, budgets=budgets, options=options)
    lagrangian, priced = lagrangian_bound(fleet, c, budgets=budgets, options=options)
    assert lagrangian >= bound * (1 - 1e-6)  # it drops rows the LP keeps: never tighter
    exact = solve_milp(fleet, c, budgets=budgets, options=options, gap=1e-6)
    others = [
        greedy(fleet, c, budgets=budgets, options=options, guide=np.round(guide, 3)),
        greedy(fleet, c, budgets=budgets, options=options, guide=priced),
        greedy(fleet, c, budgets=budgets, options=options),
        age_first(fleet, c, budgets=budgets, options=options, action_order=(0, 1, 2)),
        risk_first(fleet, c, budgets=budgets, options=options, action_order=(0, 1, 2)),
    ]
    for s in (exact, *others):
        _check(fleet, c, s, budgets, options)
        assert s.objective <= bound * (1 + 1e-6)
        assert s.objective <= exact.objective * (1 + 1e-6)
    assert exact.status == "optimal" and exact.gap is not None and exact.gap < 1e-4


def test_a_greedy_plan_reports_its_gap_to_the_lp_bound() -> None:
    fleet = random_fleet(4, buildings=60)
    budgets = parse_budgets({"bond": [900_000], "district": [400_000]}, years=2)
    plan = make_plan(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(POLICY),
        budgets=budgets,
        options=Options(start=START, years=2),
        method="greedy",
        scenarios=False,
    )
    s = plan.summary
    assert s["method"] == "greedy" and s["bound"] >= s["objective"] > 0
    assert 0 <= s["gap"] < 0.2


def test_past_the_lp_limit_the_heuristic_reports_a_lagrangian_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import planning.solve

    monkeypatch.setattr(planning.solve, "LP_LIMIT", 0)
    fleet = random_fleet(5, buildings=60)
    budgets = parse_budgets({"bond": [900_000], "district": [400_000]}, years=2)
    options = Options(start=START, years=2)
    c = candidates(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(POLICY),
        budgets=budgets,
        options=options,
    )
    s = planning.solve.heuristic(fleet, c, budgets=budgets, options=options)
    lp, _ = lp_relaxation(fleet, c, budgets=budgets, options=options)
    assert s.status == "heuristic (lagrangian bound)"
    assert s.bound is not None and s.bound >= lp * (1 - 1e-6) >= s.objective
    _check(fleet, c, s, budgets, options)
