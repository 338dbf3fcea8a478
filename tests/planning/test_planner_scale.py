"""The decomposition's bound is a true bound and its plan keeps every rule; the automatic choice by
size; a minimum interval allowing a second action; retrofits chosen beside renewals at a stated
exchange rate, reported apart."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import planning.plan
from planning.catalogue import RENEWALS, load_catalogue
from planning.decompose import decomposition
from planning.funding import Budgets, load_policy, parse_budgets
from planning.model import Candidates, Fleet, Options, candidates
from planning.plan import make_plan
from planning.solve import Solution, greedy, lp_relaxation, solve_milp
from tests.planning.test_planner_solvers import POLICY, START, _check, random_fleet

NATIONAL_2026 = Path(__file__).parents[2] / "examples" / "funding" / "national-2026.yaml"


def _problem(
    seed: int, buildings: int, years: int, **option: object
) -> tuple[Fleet, Candidates, Budgets, Options]:
    fleet = random_fleet(seed, buildings=buildings)
    budgets = parse_budgets(
        {
            "bond": [buildings * 15_000],
            "district": [buildings * 7_500],
            "advance": [buildings * 3_500],
            "advance_max_units_per_building": 1,
        },
        years=years,
    )
    options = Options(start=START, years=years, **option)  # type: ignore[arg-type]
    c = candidates(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(POLICY),
        budgets=budgets,
        options=options,
    )
    return fleet, c, budgets, options


def _check_intervals(c: Candidates, s: Solution, options: Options) -> None:
    """At most two actions per unit, the second after its own first by the minimum interval."""
    chosen = set(s.chosen.tolist())
    per_unit: dict[int, list[int]] = {}
    for i in sorted(chosen):
        per_unit.setdefault(int(c.unit[i]), []).append(i)
    for picks in per_unit.values():
        firsts = [i for i in picks if c.first[i]]
        assert len(firsts) == 1 and len(picks) <= 2
        for i in picks:
            if not c.first[i]:
                assert c.parent is not None and int(c.parent[i]) == firsts[0]
                months = (c.period[i] - c.period[firsts[0]]) * options.period_months
                assert options.min_interval_years is not None
                assert months >= options.min_interval_years * 12


@pytest.mark.parametrize("seed", [1, 2])
def test_the_decomposition_bound_holds_and_its_plan_keeps_every_rule(seed: int) -> None:
    fleet, c, budgets, options = _problem(seed, buildings=80, years=3)
    fleet.stopped[[0, 5]] = True
    fleet.collection_rate[fleet.unit_building[fleet.stopped]] = 1.0
    c = candidates(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(POLICY),
        budgets=budgets,
        options=options,
    )
    exact = solve_milp(fleet, c, budgets=budgets, options=options, gap=1e-7)
    s = decomposition(fleet, c, budgets=budgets, options=options)
    _check(fleet, c, s, budgets, options)
    assert s.method == "decomposition" and s.bound is not None and s.gap is not None
    # A true bound: never below the optimum; the plan never above it.
    assert s.bound >= exact.objective * (1 - 1e-9)
    assert s.objective <= exact.objective * (1 + 1e-9)
    # Pricing only the budgets keeps the per-building rows whole: no looser than the LP.
    lp, _ = lp_relaxation(fleet, c, budgets=budgets, options=options)
    assert s.bound <= lp * (1 + 1e-6)
    assert s.status == ("within_gap" if s.gap <= 0.005 else "gap_above_target")
    assert s.gap < 0.05


def test_the_decomposition_closes_in_on_the_optimum_as_the_fleet_grows() -> None:
    fleet, c, budgets, options = _problem(3, buildings=600, years=3)
    s = decomposition(fleet, c, budgets=budgets, options=options)
    _check(fleet, c, s, budgets, options)
    assert s.gap is not None and s.gap < 0.01
    plain = greedy(fleet, c, budgets=budgets, options=options)
    assert plain.objective < s.objective


def test_auto_takes_the_milp_for_small_plans_and_the_decomposition_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = random_fleet(4, buildings=30)
    budgets = parse_budgets({"bond": [900_000], "district": [400_000]}, years=2)
    kw = {
        "catalogue": load_catalogue(),
        "policy": load_policy(POLICY),
        "budgets": budgets,
        "options": Options(start=START, years=2),
        "scenarios": False,
    }
    small = make_plan(fleet, **kw)  # type: ignore[arg-type]
    assert small.summary["method"] == "milp" and small.summary["status"] == "optimal"
    monkeypatch.setattr(planning.plan, "MILP_LIMIT", 0)
    large = make_plan(fleet, **kw)  # type: ignore[arg-type]
    s = large.summary
    assert s["method"] == "decomposition" and large.method == "decomposition"
    assert s["bound"] >= small.summary["objective"] * (1 - 1e-9) >= s["objective"] * (1 - 1e-9)
    assert s["gap"] == pytest.approx((s["bound"] - s["objective"]) / s["bound"])


def test_a_minimum_interval_allows_a_second_action_years_after_the_first() -> None:
    fleet, once, budgets, _ = _problem(5, buildings=25, years=5)
    # Money enough for second actions: the interval, not the budget, is what limits them.
    budgets = parse_budgets({"bond": [5e6], "district": [5e6], "advance": [5e6]}, years=5)
    options = Options(start=START, years=5, min_interval_years=3)
    c = candidates(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(POLICY),
        budgets=budgets,
        options=options,
    )
    assert c.parent is not None and (~c.first).any()
    # A second action is worth its own share of what the first left: the first's residual times
    # what the same action would avoid as a first in that period.
    catalogue = load_catalogue()
    child = int(np.flatnonzero(~c.first)[0])
    first = int(c.parent[child])
    same = np.flatnonzero(
        c.first
        & (c.unit == c.unit[child])
        & (c.period == c.period[child])
        & (c.action == c.action[child])
    )
    residual = catalogue.actions[RENEWALS[c.action[first]]].residual_pof
    assert c.benefit[child] == pytest.approx(c.benefit[same[0]] * residual)
    assert c.split["bond"][child] == 0 and c.split["district"][child] == 0
    exact = solve_milp(fleet, c, budgets=budgets, options=options, gap=1e-7)
    twice = np.bincount(c.unit[exact.chosen])
    assert (twice == 2).any(), "with money to spare some unit is worked on twice"
    for s in (
        exact,
        decomposition(fleet, c, budgets=budgets, options=options),
        greedy(fleet, c, budgets=budgets, options=options),
    ):
        _check_intervals(c, s, options)
        assert s.objective <= exact.objective * (1 + 1e-9)
    single = solve_milp(
        fleet, once, budgets=budgets, options=replace(options, min_interval_years=None)
    )
    assert np.bincount(once.unit[single.chosen]).max() == 1
    assert exact.objective > single.objective


def _walkups(n: int) -> list[dict[str, object]]:
    return [
        {
            "building_id": f"W{i}",
            "street_office_id": "S1",
            "district_id": "D1",
            "need": 10.0 - i,
            "residents_served": 60 + 5 * i,
            "cost": 600_000.0,
            "subsidy": 240_000.0,
            "year": None,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("method", ["milp", "decomposition"])
def test_retrofits_compete_for_the_bond_pot_at_the_stated_rate(method: str) -> None:
    fleet = random_fleet(6, buildings=30)
    policy = load_policy(NATIONAL_2026)
    budgets = parse_budgets({"bond": [1_000_000]}, years=2)

    def plan(rate: float | None) -> planning.plan.Plan:
        return make_plan(
            fleet,
            catalogue=load_catalogue(),
            policy=policy,
            budgets=budgets,
            options=Options(start=START, years=2, retrofit_rate=rate),
            method=method,
            scenarios=False,
            retrofits=_walkups(4),
        )

    cheap, dear = plan(1e-6), plan(100.0)
    for p in (cheap, dear):
        funded = [r for r in p.retrofits if r["year"] is not None]
        s = p.summary["retrofits"]
        assert s["funded"] == len(funded)
        assert s["residents_served"] == sum(r["residents_served"] for r in funded)
        # Risk avoided counts the renewals alone.
        assert p.summary["risk_avoided"] == pytest.approx(sum(r["benefit"] for r in p.rows))
        for y, year in enumerate((2026, 2027)):
            bond = sum(r["bond"] for r in p.rows if r["year"] == year)
            bond += sum(r["subsidy"] for r in funded if r["year"] == year)
            assert bond <= budgets.amounts["bond"][y] + 1e-3
    assert cheap.summary["retrofits"]["funded"] < dear.summary["retrofits"]["funded"] == 4
    assert dear.summary["risk_avoided"] < cheap.summary["risk_avoided"]


def test_a_retrofit_rate_needs_a_policy_whose_retrofits_share_the_pot() -> None:
    with pytest.raises(Exception, match="from_bond_pot"):
        make_plan(
            random_fleet(7, buildings=5),
            catalogue=load_catalogue(),
            policy=load_policy(POLICY),
            budgets=parse_budgets({"bond": [1e6]}, years=1),
            options=Options(start=START, years=1, retrofit_rate=1.0),
            retrofits=_walkups(1),
        )


def test_a_building_of_many_units_gets_a_greedy_choice_and_a_bound_that_still_holds() -> None:
    fleet = random_fleet(8, buildings=30)
    fleet.unit_building[:10] = 0  # a tower of ten elevators: too many to enumerate
    fleet.stopped[3] = True
    fleet.collection_rate[0] = 1.0
    budgets = parse_budgets({"bond": [450_000], "district": [200_000]}, years=3)
    options = Options(start=START, years=3)
    c = candidates(
        fleet,
        catalogue=load_catalogue(),
        policy=load_policy(POLICY),
        budgets=budgets,
        options=options,
    )
    exact = solve_milp(fleet, c, budgets=budgets, options=options, gap=1e-7)
    s = decomposition(fleet, c, budgets=budgets, options=options)
    _check(fleet, c, s, budgets, options)
    assert s.bound is not None and s.bound >= exact.objective * (1 - 1e-9) >= s.objective
    tower = fleet.unit_building[c.unit[s.chosen]] == 0
    assert tower.any() and 3 in c.unit[s.chosen].tolist()
