"""The planner against the simulator's hidden truth: on a simulated city scored as of a date, the
MILP plan, the age-first rule and greedy-by-risk spend the same budget, and the simulator's own
degradation model says how many serious failures (and stranded household-days) each avoids over the
following years.

Only replacement and overhaul are offered, the two kinds of work the simulated world knows: a
replacement restarts a unit's effective age, an overhaul multiplies it by the simulator's residual.
True expected serious failures are the hidden serious-fault hazard integrated day by day (no
failures while a unit is down for the work), from the as-of date on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from planning.catalogue import load_catalogue
from planning.funding import parse_budgets, parse_policy
from planning.model import Candidates, Fleet, Options, candidates
from planning.solve import Solution, age_first, risk_first, solve_milp
from simulators import params
from simulators.unitsim import UnitHistory

# Bond subsidy for replacements of old or stopped units, and the bureau's own money for the rest
# of every job: the two budgets decide, and every method spends the same.
POLICY = """
version: evaluation-1
city: simulated
years: [2000, 2100]
bond:
  actions: [replace]
  per_unit: 150000
  eligibility: {min_age_years: 15, needs_assessment: false, stopped_qualifies: true}
district:
  share: 1.0
  caps: {replace: 1000000, overhaul: 1000000}
  needs_assessment: false
owners:
  collection_threshold: 0.5
"""
KINDS = {"replace": "renewal", "overhaul": "overhaul"}


@dataclass(frozen=True)
class Outcome:
    """What one method's choice does under the hidden model, per year from the as-of date."""

    method: str
    units: int
    cost: float
    failures: list[float]
    stranded: list[float]
    works: float


def evaluation_inputs(
    fleet: Fleet, *, start: date, years: int, units: int
) -> tuple[Candidates, Options, Any]:
    """Candidates and budgets for the comparison: the bond subsidy of replacing 3% of the fleet a
    year and the bureau's money for the rest of about that much work, so the methods must choose."""
    catalogue = load_catalogue()
    catalogue = replace(
        catalogue, actions={k: v for k, v in catalogue.actions.items() if k in KINDS}
    )
    policy = parse_policy(POLICY, where="evaluation policy")
    budgets = parse_budgets(
        {"bond": [0.03 * units * 150_000], "district": [0.03 * units * 250_000]}, years=years
    )
    # The benefit window is the compared window: each method is judged on what it optimizes.
    options = Options(start=start, years=years, benefit_years=years)
    c = candidates(fleet, catalogue=catalogue, policy=policy, budgets=budgets, options=options)
    return c, options, (catalogue, budgets)


def true_failures(
    h: UnitHistory, *, origin: date, start: date, years: int, work: tuple[date, str] | None
) -> np.ndarray:
    """Expected serious failures of one unit in each year from ``start`` under the hidden model,
    with ``work`` (the day it starts and its kind) or without."""
    d0 = (start - origin).days
    d1 = d0 + round(years * params.DAYS_PER_YEAR)
    ages = h.effective_age[d0:d1].copy()
    down = np.zeros(ages.size, dtype=bool)
    if work is not None:
        begins, kind = work
        sim_kind = KINDS[kind]
        b = (begins - origin).days - d0
        done = b + params.RENEWAL_DOWNTIME_DAYS[sim_kind]
        if 0 <= b < ages.size:
            down[b : min(done, ages.size)] = True
        if done < ages.size:
            cum = np.concatenate([[0.0], np.cumsum(h.aging_rate)]) / params.DAYS_PER_YEAR
            base = 0.0 if sim_kind == "renewal" else float(ages[done]) * params.OVERHAUL_RESIDUAL
            ages[done:] = base + cum[d0 + done : d1] - cum[d0 + done]
    c = np.exp(-h.multiplier * (np.maximum(ages, 0.0) / params.ETA_YEARS) ** params.BETA)
    rate = params.serious_rate_per_year(c, h.usage) * ~down / params.DAYS_PER_YEAR
    edges = np.round(np.arange(years + 1) * params.DAYS_PER_YEAR).astype(int)
    return np.array([rate[edges[y] : edges[y + 1]].sum() for y in range(years)])


def outcome(
    method: str,
    s: Solution | None,
    fleet: Fleet,
    c: Candidates,
    histories: dict[str, UnitHistory],
    *,
    origin: date,
    options: Options,
) -> Outcome:
    """True failures and stranded household-days of a choice (None: doing nothing)."""
    work: dict[int, tuple[date, str]] = {}
    cost = 0.0
    if s is not None:
        for i in s.chosen.tolist():
            action = ("replace", "modernize", "overhaul")[c.action[i]]
            work[int(c.unit[i])] = (options.period_start(int(c.period[i])), action)
            cost += float(c.cost[i])
    k = fleet.units_in_building
    failures = np.zeros(options.years)
    stranded = np.zeros(options.years)
    works = 0.0
    for u, unit_id in enumerate(fleet.unit_ids):
        h = histories.get(unit_id)
        if h is None:
            continue
        per_year = true_failures(
            h, origin=origin, start=options.start, years=options.years, work=work.get(u)
        )
        b = fleet.unit_building[u]
        share = 1.0 if k[b] <= 1 else options.backup_share
        failures += per_year
        stranded += per_year * fleet.households[b] * options.failure_downtime_days * share
        if u in work and k[b] <= 1:
            works += fleet.households[b] * params.RENEWAL_DOWNTIME_DAYS[KINDS[work[u][1]]]
    return Outcome(method, len(work), cost, failures.tolist(), stranded.tolist(), works)


def compare(
    fleet: Fleet,
    histories: dict[str, UnitHistory],
    *,
    origin: date,
    start: date,
    years: int = 3,
    time_limit: float = 120.0,
) -> list[Outcome]:
    """Do nothing, the MILP plan, age-first and greedy-by-risk, on the same budget."""
    c, options, (_catalogue, budgets) = evaluation_inputs(
        fleet, start=start, years=years, units=len(fleet.unit_ids)
    )
    replace_first = (0, 1, 2)
    choices: dict[str, Solution | None] = {
        "do_nothing": None,
        "milp": solve_milp(
            fleet, c, budgets=budgets, options=options, time_limit=time_limit, gap=0.005
        ),
        "age_first": age_first(
            fleet, c, budgets=budgets, options=options, action_order=replace_first
        ),
        "risk_first": risk_first(
            fleet, c, budgets=budgets, options=options, action_order=replace_first
        ),
    }
    return [
        outcome(name, s, fleet, c, histories, origin=origin, options=options)
        for name, s in choices.items()
    ]


def table(outcomes: list[Outcome]) -> str:
    """A Markdown table: true failures and the household-days they strand, what each method
    avoids, and apart from them the household-days single-elevator buildings spend without a lift
    during the works themselves."""
    nothing = outcomes[0]
    lines = [
        "| method | units worked on | cost (¥m) | true expected serious failures | avoided vs doing nothing | household-days stranded by failures | avoided | household-days without a lift during works |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        f, s = sum(o.failures), sum(o.stranded)
        lines.append(
            f"| {o.method} | {o.units} | {o.cost / 1e6:.1f} | {f:.1f} | "
            f"{sum(nothing.failures) - f:.1f} | {s:,.0f} | {sum(nothing.stranded) - s:,.0f} | "
            f"{o.works:,.0f} |"
        )
    return "\n".join(lines)


def end_of(start: date, years: int) -> date:
    """The day after a span of whole years from ``start`` (with a day to spare for leap years)."""
    return start + timedelta(days=round(years * 365.25) + 1)
