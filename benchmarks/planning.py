"""Planning a district and a city: 20,000 units × 5 years × 3 actions must be solved to optimality
(or to a proven gap under 0.5%) in under 60 seconds; 200,000 units with the gap to a true bound
reported. Both sizes go to the Lagrangian decomposition (planning/decompose.py), as the planner's
automatic choice does past planning.plan.MILP_LIMIT candidates.

The fleet is synthetic (buildings of one to three units, ages 3-35 years, PoF and consequence drawn
like a score run's, 1% stopped, funds and collections at random), and the budgets pay for about a
tenth of the fleet's renewals over the horizon, so they bind. Raw baselines measured in the same run:
HiGHS's dual simplex solving the LP relaxation of the same problem (the floor under any method that
solves the LP, as branch and bound does first) and one numpy sort of the candidates by benefit per
yuan (the floor under any pass over the candidates). The machine is shared: CPU seconds and the load
average are printed beside wall seconds.

    .venv/bin/python benchmarks/planning.py [--units 20000] [--city-units 200000] [--years 5]
        [--city-time-limit 600] [--no-lp]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# planning package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import numpy as np

from planning.catalogue import load_catalogue
from planning.decompose import decomposition
from planning.funding import Budgets, load_policy, parse_budgets
from planning.model import Candidates, Fleet, Options, candidates
from planning.solve import greedy, lp_relaxation

ROOT = Path(__file__).parents[1]
START = date(2026, 1, 1)
LIMIT_SECONDS = 60.0
LIMIT_GAP = 0.005


def synthetic_fleet(units: int, *, seed: int = 7) -> Fleet:
    """A district-like fleet of about ``units`` units."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3], size=units, p=[0.3, 0.5, 0.2])
    sizes = sizes[np.cumsum(sizes) <= units]
    nb = sizes.size
    unit_building = np.repeat(np.arange(nb), sizes)
    n = unit_building.size
    age = rng.uniform(3, 35, n)
    pof = np.clip(rng.lognormal(np.log(0.02) + 0.06 * age, 0.6), 1e-4, 0.95)
    households = rng.integers(20, 200, nb).astype(float)
    cof = households[unit_building] / sizes[unit_building] / 50
    funded = rng.random(nb) < 0.4
    stopped = rng.random(n) < 0.01
    collection = rng.uniform(0, 1, nb)
    # A stopped unit's owners have paid and its building's fund is there: a plan must be able to
    # fund it in the first year.
    collection[unit_building[stopped]] = 1.0
    funded[unit_building[stopped]] = True
    return Fleet(
        building_ids=[f"B{b}" for b in range(nb)],
        building_names=[f"{b}号楼" for b in range(nb)],
        street_office_ids=[f"S{b % 40}" for b in range(nb)],
        district_ids=["D1"] * nb,
        households=households,
        elderly_share=rng.uniform(0.1, 0.7, nb),
        fund_balance=np.where(funded, rng.uniform(0, 600_000, nb), 0.0)
        + np.isin(np.arange(nb), unit_building[stopped]) * 500_000,
        fund_vote_on=[date(2025, 6, 1) if f else None for f in funded],
        collection_rate=collection,
        collection_expected_on=[date(2026 + int(y), 7, 1) for y in rng.integers(0, 4, nb)],
        floor_area=households * 85,
        unit_ids=[f"U{i}" for i in range(n)],
        unit_building=unit_building,
        pof=pof,
        cof=cof,
        stopped=stopped,
        age_years=age,
        stops=rng.integers(6, 33, n).astype(float),
        speed_mps=rng.choice([1.0, 1.75, 2.5], n),
        assessment_action=[
            rng.choice(["replace", "modernize", "overhaul"])
            if a >= 15 and rng.random() < 0.5
            else None
            for a in age
        ],
        assessment_on=[date(2025, 9, 1)] * n,
    )


def _problem(units: int, years: int) -> tuple[Fleet, Candidates, Budgets, Options, float]:
    fleet = synthetic_fleet(units)
    n = len(fleet.unit_ids)
    # About a tenth of the fleet's renewals over the horizon: budgets bind.
    budgets = parse_budgets(
        {
            "bond": [n * 0.02 * 150_000],
            "district": [n * 0.02 * 60_000],
            "advance": [n * 0.005 * 70_000],
            "advance_max_units_per_building": 1,
        },
        years=years,
    )
    options = Options(start=START, years=years)
    # Owners pay by floor area (Runfeng Xinshang's ¥17.93 per m²), so their money binds too.
    policy = replace(
        load_policy(ROOT / "examples" / "funding" / "chengdu-2025.yaml"), levy_per_m2=17.93
    )
    started = time.perf_counter()
    c = candidates(
        fleet, catalogue=load_catalogue(), policy=policy, budgets=budgets, options=options
    )
    return fleet, c, budgets, options, time.perf_counter() - started


def _load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def district(units: int, years: int, *, lp: bool) -> bool:
    """The decomposition on a district; True when it meets the target."""
    fleet, c, budgets, options, build = _problem(units, years)
    print(
        f"district: {len(fleet.unit_ids)} units, {c.unit.size} candidates, built in {build:.1f} s"
        f" ({_load()})"
    )
    lp_bound = None
    if lp:
        started, cpu = time.perf_counter(), time.process_time()
        lp_bound, _ = lp_relaxation(fleet, c, budgets=budgets, options=options)
        raw, raw_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"  raw baseline (LP relaxation, HiGHS dual simplex): {raw:.1f} s wall, "
            f"{raw_cpu:.1f} s CPU, bound {lp_bound:.2f}"
        )
    cpu = time.process_time()
    s = decomposition(
        fleet, c, budgets=budgets, options=options, time_limit=LIMIT_SECONDS, gap=LIMIT_GAP
    )
    cpu = time.process_time() - cpu
    assert s.bound is not None and s.gap is not None
    versus = ""
    if lp_bound is not None:
        versus = (
            f", {s.seconds / raw:.2f}× the LP's time; its bound {s.bound / lp_bound:.4f}× the LP's"
        )
    print(
        f"  decomposition: {s.seconds:.1f} s wall, {cpu:.1f} s CPU{versus}\n"
        f"  status {s.status}, {s.chosen.size} candidates chosen, objective {s.objective:.2f}, "
        f"bound {s.bound:.2f}, proven gap {s.gap:.3%} ({_load()})"
    )
    ok = s.seconds < LIMIT_SECONDS and s.gap < LIMIT_GAP
    print(f"  target (< {LIMIT_SECONDS:.0f} s, gap < {LIMIT_GAP:.1%}): {'met' if ok else 'MISSED'}")
    return ok


def city(units: int, years: int, *, time_limit: float) -> None:
    """The decomposition on a city, with its gap to its bound, against a plain greedy pass."""
    fleet, c, budgets, options, build = _problem(units, years)
    print(
        f"city: {len(fleet.unit_ids)} units, {c.unit.size} candidates, built in {build:.1f} s"
        f" ({_load()})"
    )
    started = time.perf_counter()
    np.argsort(-c.benefit / np.maximum(c.cost, 1.0))
    raw = time.perf_counter() - started
    plain = greedy(fleet, c, budgets=budgets, options=options)
    cpu = time.process_time()
    s = decomposition(fleet, c, budgets=budgets, options=options, time_limit=time_limit)
    cpu = time.process_time() - cpu
    assert s.bound is not None and s.gap is not None
    plain_gap = max(0.0, s.bound - plain.objective) / s.bound
    print(
        f"  raw baseline (one sort by benefit per yuan): {raw:.2f} s\n"
        f"  decomposition, {s.status}: {s.seconds:.1f} s wall, {cpu:.1f} s CPU "
        f"({s.seconds / raw:.0f}× the sort), {s.chosen.size} candidates chosen, "
        f"proven gap {s.gap:.3%} ({_load()})\n"
        f"  plain ratio greedy (no guide): {plain.seconds:.1f} s, gap to the same bound "
        f"{plain_gap:.2%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--units", type=int, default=20_000, help="units in the district (MILP; 0 skips it)"
    )
    parser.add_argument(
        "--city-units", type=int, default=200_000, help="units in the city (greedy)"
    )
    parser.add_argument("--years", type=int, default=5, help="horizon in years (1-5)")
    parser.add_argument(
        "--city-time-limit", type=float, default=600.0, help="the city's time limit, s"
    )
    parser.add_argument(
        "--no-lp", action="store_true", help="skip the LP-relaxation baseline of the district"
    )
    args = parser.parse_args()
    print(
        f"{platform.node()} {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    ok = district(args.units, args.years, lp=not args.no_lp) if args.units else True
    if args.city_units:
        city(args.city_units, args.years, time_limit=args.city_time_limit)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
