"""Choosing candidates: the exact MILP (scipy.optimize.milp, HiGHS), its LP-relaxation bound, and
the rule-based assignments beside it (greedy benefit per yuan, age-first, risk-first).

Constraints, in both: at most one action per unit over the horizon (or a second one at least the
minimum interval after the first, when asked); stopped units in the first period unless excluded;
in a building with k elevators at most k−1 (or one, if asked) worked on in the same period;
per-source budgets per year; each building's maintenance fund balance; the advance's limit per
building.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from core.errors import Invalid
from planning.funding import BUDGETED, Budgets
from planning.model import PAYERS, Candidates, Fleet, Options


@dataclass(frozen=True)
class Solution:
    """The chosen candidates and how good the choice is known to be."""

    method: str
    chosen: np.ndarray  # indices into the candidates
    objective: float
    bound: float | None
    seconds: float
    status: str

    @property
    def gap(self) -> float | None:
        """Relative gap between the objective and the bound (0 when proven optimal)."""
        if self.bound is None:
            return None
        return max(0.0, self.bound - self.objective) / max(abs(self.bound), 1e-12)


def building_caps(fleet: Fleet, options: Options) -> np.ndarray:
    """How many units of each building may be worked on in each period."""
    k = fleet.units_in_building
    cap = np.ones_like(k) if options.one_per_building_per_phase else np.maximum(k - 1, 1)
    excluded = np.array([u in options.excluded for u in fleet.unit_ids], dtype=bool)
    # A stopped unit left out of the plan stays out of service, taking one of the building's slots.
    idle = np.bincount(
        fleet.unit_building[fleet.stopped & excluded], minlength=len(fleet.building_ids)
    )
    mandatory = np.bincount(
        fleet.unit_building[fleet.stopped & ~excluded], minlength=len(fleet.building_ids)
    )
    caps = np.repeat(np.maximum(cap - idle, 0)[:, None], options.periods, axis=1)
    caps[:, 0] = np.maximum(caps[:, 0], mandatory)
    return caps


def _objective(c: Candidates) -> np.ndarray:
    # Ties in benefit go to the candidate stranding more households; the weight stays far below
    # any real difference in benefit.
    scale = float(c.benefit.max()) if c.benefit.size else 1.0
    top = float(c.tiebreak.max()) if c.tiebreak.size else 1.0
    return c.benefit + 1e-6 * scale * c.tiebreak / max(top, 1e-12)


def _constraints(
    fleet: Fleet, c: Candidates, budgets: Budgets, options: Options
) -> LinearConstraint:
    n, nb, periods, years = (
        len(fleet.unit_ids),
        len(fleet.building_ids),
        options.periods,
        options.years,
    )
    m = c.unit.size
    cols = np.arange(m)
    b = fleet.unit_building[c.unit]
    ones = np.ones(m)

    def rows(
        index: np.ndarray, values: np.ndarray, mask: np.ndarray, count: int
    ) -> sparse.csr_matrix:
        return sparse.csr_matrix((values[mask], (index[mask], cols[mask])), shape=(count, m))

    everything = np.ones(m, dtype=bool)
    # Money in units of ¥10,000 keeps the rows' coefficients near the binaries' scale for HiGHS.
    money = 1e-4
    lb_unit = np.zeros(n)
    lb_unit[c.mandatory_units] = 1
    parts = [
        (rows(c.unit, ones, c.first, n), lb_unit, np.ones(n)),
        (
            rows(b * periods + c.period, ones, everything, nb * periods),
            np.zeros(nb * periods),
            building_caps(fleet, options).ravel().astype(float),
        ),
    ]
    for source in BUDGETED:
        parts.append(
            (
                rows(c.year, c.split[source] * money, c.split[source] > 0, years),
                np.zeros(years),
                np.array(budgets.amounts[source][:years], dtype=float) * money,
            )
        )
    fund = c.payer == PAYERS.index("maintenance_fund")
    parts.append(
        (
            rows(b, c.split["maintenance_fund"] * money, fund, nb),
            np.zeros(nb),
            fleet.fund_balance.astype(float) * money,
        )
    )
    owners = (c.payer == PAYERS.index("owners")) & np.isfinite(c.owners_capacity[b])
    parts.append(
        (rows(b, c.split["owners"] * money, owners, nb), np.zeros(nb), c.owners_capacity * money)
    )
    if budgets.advance_max_units_per_building is not None:
        advance = c.payer == PAYERS.index("advance")
        parts.append(
            (
                rows(b, ones, advance, nb),
                np.zeros(nb),
                np.full(nb, float(budgets.advance_max_units_per_building)),
            )
        )
    if c.parent is not None and (~c.first).any():
        # A second action only after its own first: Σ its followers − the first ≤ 0.
        second = np.flatnonzero(~c.first)
        followed, row = np.unique(c.parent[second], return_inverse=True)
        link = sparse.csr_matrix(
            (
                np.concatenate([np.ones(second.size), -np.ones(followed.size)]),
                (
                    np.concatenate([row, np.arange(followed.size)]),
                    np.concatenate([second, followed]),
                ),
            ),
            shape=(followed.size, m),
        )
        parts.append((link, np.full(followed.size, -np.inf), np.zeros(followed.size)))
    return LinearConstraint(
        sparse.vstack([p[0] for p in parts]).tocsr(),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def solve_milp(
    fleet: Fleet,
    c: Candidates,
    *,
    budgets: Budgets,
    options: Options,
    time_limit: float = 60.0,
    gap: float = 0.005,
) -> Solution:
    """The exact plan: maximize discounted risk avoided under every constraint."""
    started = time.perf_counter()
    if c.unit.size == 0:
        return Solution("milp", np.zeros(0, dtype=int), 0.0, 0.0, 0.0, "optimal")
    weight = _objective(c)
    res = milp(
        -weight,
        constraints=_constraints(fleet, c, budgets, options),
        integrality=np.ones(c.unit.size),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "mip_rel_gap": gap, "disp": False},
    )
    seconds = time.perf_counter() - started
    if res.x is None:
        raise Invalid(
            "no plan satisfies the constraints: the first year's budgets cannot pay for the "
            "stopped units' work; raise them, add an advance, or exclude units with a reason"
        )
    chosen = np.flatnonzero(res.x > 0.5)
    bound = -float(res.mip_dual_bound) if res.mip_dual_bound is not None else None
    status = "optimal" if res.status == 0 else "time_limit"
    return Solution("milp", chosen, float(weight[chosen].sum()), bound, seconds, status)


def lp_relaxation(
    fleet: Fleet, c: Candidates, *, budgets: Budgets, options: Options
) -> tuple[float, np.ndarray]:
    """The LP relaxation's optimum (no plan can do better) and its fractional choice."""
    if c.unit.size == 0:
        return 0.0, np.zeros(0)
    weight = _objective(c)
    rows = _constraints(fleet, c, budgets, options)
    # Every row's lower bound is met by any x ≥ 0 except the stopped units' "exactly once"; a row
    # without an upper bound (owners whose money has no known limit) says nothing.
    floor = np.flatnonzero(rows.lb > 0)
    ceiling = np.flatnonzero(np.isfinite(rows.ub))
    res = linprog(
        -weight,
        A_ub=sparse.vstack([rows.A[ceiling], -rows.A[floor]]).tocsr(),
        b_ub=np.concatenate([rows.ub[ceiling], -rows.lb[floor]]),
        bounds=(0, 1),
        method="highs-ds",
    )
    if res.x is None:
        raise Invalid("no plan satisfies the constraints (see the first year's budgets)")
    return -float(res.fun), res.x


def lagrangian_bound(
    fleet: Fleet, c: Candidates, *, budgets: Budgets, options: Options, iterations: int = 200
) -> tuple[float, np.ndarray]:
    """An upper bound for city-sized problems whose LP is too large, and the prices it finds.

    The budget rows are priced (λ ≥ 0 per source and year) and every per-building row is dropped;
    each unit then takes its best candidate at those prices (a stopped unit must take one). For any
    prices this bounds the plan from above; projected subgradient steps lower it. Returns the best
    bound and, per candidate, its benefit less the priced money (the heuristic's guide)."""
    if c.unit.size == 0:
        return 0.0, np.zeros(0)
    weight = _objective(c)
    years = options.years
    order = np.argsort(c.unit, kind="stable")
    units, starts = np.unique(c.unit[order], return_index=True)
    group = np.repeat(np.arange(units.size), np.diff(np.append(starts, order.size)))
    mandatory = np.isin(units, c.mandatory_units)
    # Money in millions of yuan keeps the prices and the benefit on comparable scales.
    split = {source: c.split[source][order] / 1e6 for source in BUDGETED}
    year = c.year[order]
    cap = {source: np.array(budgets.amounts[source][:years]) / 1e6 for source in BUDGETED}
    prices = {source: np.zeros(years) for source in BUDGETED}
    w = weight[order]
    best, best_prices = np.inf, {source: p.copy() for source, p in prices.items()}
    step = float(w.max()) / 10 if w.size else 1.0
    for k in range(iterations):
        reduced = w - sum(prices[source][year] * split[source] for source in BUDGETED)
        top = np.maximum.reduceat(reduced, starts)
        value = float(np.where(mandatory, top, np.maximum(top, 0.0)).sum())
        value += sum(float(prices[source] @ cap[source]) for source in BUDGETED)
        if value < best:
            best, best_prices = value, {source: p.copy() for source, p in prices.items()}
        # The subgradient: what the units' best choices spend, less each row's budget.
        hit = np.flatnonzero((reduced >= top[group]) & (mandatory | (top > 0))[group])
        _, first = np.unique(group[hit], return_index=True)
        picked = hit[first]
        spend = {
            source: np.bincount(year[picked], weights=split[source][picked], minlength=years)
            - cap[source]
            for source in BUDGETED
        }
        norm = float(np.sqrt(sum((v**2).sum() for v in spend.values())))
        if norm == 0:
            break
        for source in BUDGETED:
            prices[source] = np.maximum(
                0.0, prices[source] + step / np.sqrt(1 + k) * spend[source] / norm
            )
    guide = weight - sum(best_prices[source][c.year] * c.split[source] / 1e6 for source in BUDGETED)
    return best, guide


def assign(
    fleet: Fleet,
    c: Candidates,
    order: np.ndarray,
    *,
    budgets: Budgets,
    options: Options,
    method: str,
) -> Solution:
    """Walk candidates in ``order`` (mandatory units first) and keep each one that still fits."""
    started = time.perf_counter()
    if c.unit.size == 0:
        return Solution(method, np.zeros(0, dtype=int), 0.0, None, 0.0, "heuristic")
    mandatory = np.zeros(len(fleet.unit_ids), dtype=bool)
    mandatory[c.mandatory_units] = True
    # Stopped units first, those with the fewest ways to pay first among them, each by its
    # cheapest option, so one stopped unit's choice never takes the last money another needs.
    options_per_unit = np.bincount(c.unit, minlength=len(fleet.unit_ids))
    forced = np.flatnonzero(mandatory[c.unit] & c.first)
    forced = forced[np.lexsort((c.cost[forced], options_per_unit[c.unit[forced]]))]
    order = np.concatenate([forced, order[~mandatory[c.unit[order]]]])
    left = {s: list(budgets.amounts[s]) for s in BUDGETED}
    caps = building_caps(fleet, options)
    fund_left = fleet.fund_balance.astype(float).copy()
    owners_left = c.owners_capacity.astype(float).copy()
    owners_payer = PAYERS.index("owners")
    owners_money = c.split["owners"].tolist() if c.split else []
    advance_left = np.full(len(fleet.building_ids), budgets.advance_max_units_per_building or 10**9)
    done = np.zeros(len(fleet.unit_ids), dtype=bool)
    again = np.zeros(len(fleet.unit_ids), dtype=bool)
    parent = c.parent.tolist() if c.parent is not None else [-1] * c.unit.size
    taken = np.zeros(c.unit.size, dtype=bool)
    fund_payer, advance_payer = PAYERS.index("maintenance_fund"), PAYERS.index("advance")
    unit, period, year, payer = (
        c.unit.tolist(),
        c.period.tolist(),
        c.year.tolist(),
        c.payer.tolist(),
    )
    money = {s: c.split[s].tolist() for s in BUDGETED}
    fund_money = c.split["maintenance_fund"].tolist()
    ub = fleet.unit_building.tolist()
    chosen = []
    for i in order.tolist():
        u = unit[i]
        follows = parent[i]
        if done[u] if follows < 0 else (again[u] or not taken[follows]):
            continue
        b, p, y = ub[u], period[i], year[i]
        if caps[b, p] <= 0:
            continue
        if any(money[s][i] > left[s][y] + 1e-6 for s in BUDGETED):
            continue
        if payer[i] == fund_payer and fund_money[i] > fund_left[b] + 1e-6:
            continue
        if payer[i] == advance_payer and advance_left[b] <= 0:
            continue
        if payer[i] == owners_payer and owners_money[i] > owners_left[b] + 1e-6:
            continue
        for s in BUDGETED:
            left[s][y] -= money[s][i]
        if payer[i] == fund_payer:
            fund_left[b] -= fund_money[i]
        if payer[i] == advance_payer:
            advance_left[b] -= 1
        if payer[i] == owners_payer:
            owners_left[b] -= owners_money[i]
        caps[b, p] -= 1
        if follows < 0:
            done[u] = True
        else:
            again[u] = True
        taken[i] = True
        chosen.append(i)
    missing = sorted(fleet.unit_ids[u] for u in c.mandatory_units if not done[u])
    if missing:
        raise Invalid(
            f"the first year's budgets cannot pay for the stopped units {', '.join(missing)}; "
            "raise them, add an advance, or exclude units with a reason"
        )
    picked = np.array(chosen, dtype=int)
    weight = _objective(c)
    return Solution(
        method,
        picked,
        float(weight[picked].sum()),
        None,
        time.perf_counter() - started,
        "heuristic",
    )


def greedy(
    fleet: Fleet,
    c: Candidates,
    *,
    budgets: Budgets,
    options: Options,
    guide: np.ndarray | None = None,
) -> Solution:
    """Benefit per yuan first, ties to the candidate stranding more households. With ``guide`` (the
    LP relaxation's fractional choice, or the benefit less the Lagrangian-priced money), higher
    guides come first: a plain ratio order takes every unit's cheapest action and never reaches
    the better ones."""
    ratio = c.benefit / np.maximum(c.cost, 1.0)
    keys = [-c.tiebreak, -ratio]
    if guide is not None:
        keys.append(-guide)
    order = np.lexsort(keys)
    return assign(fleet, c, order, budgets=budgets, options=options, method="greedy")


# Above this many candidates the LP relaxation takes too long and too much memory on one machine;
# the heuristic is then guided and bounded by the budgets' Lagrangian prices instead.
LP_LIMIT = 600_000


def heuristic(fleet: Fleet, c: Candidates, *, budgets: Budgets, options: Options) -> Solution:
    """The greedy plan with its bound: the LP relaxation's when it is small enough to solve, else
    the Lagrangian bound (never below the LP's, so the gap reported is never understated)."""
    started = time.perf_counter()
    if c.unit.size <= LP_LIMIT:
        bound, x = lp_relaxation(fleet, c, budgets=budgets, options=options)
        guide, how = np.round(x, 3), "lp"
    else:
        bound, guide = lagrangian_bound(fleet, c, budgets=budgets, options=options)
        how = "lagrangian"
    s = greedy(fleet, c, budgets=budgets, options=options, guide=guide)
    return Solution(
        s.method,
        s.chosen,
        s.objective,
        bound,
        time.perf_counter() - started,
        f"heuristic ({how} bound)",
    )


def age_first(
    fleet: Fleet,
    c: Candidates,
    *,
    budgets: Budgets,
    options: Options,
    action_order: tuple[int, ...],
) -> Solution:
    """The rule most cities use: oldest units first, earliest period, actions in the given order."""
    rank = np.empty(len(action_order), dtype=int)
    rank[list(action_order)] = np.arange(len(action_order))
    order = np.lexsort((c.payer, rank[c.action], c.period, -fleet.age_years[c.unit]))
    return assign(fleet, c, order, budgets=budgets, options=options, method="age_first")


def risk_first(
    fleet: Fleet,
    c: Candidates,
    *,
    budgets: Budgets,
    options: Options,
    action_order: tuple[int, ...],
) -> Solution:
    """Highest current risk first, earliest period, actions in the given order."""
    rank = np.empty(len(action_order), dtype=int)
    rank[list(action_order)] = np.arange(len(action_order))
    risk = (fleet.pof * fleet.cof)[c.unit]
    order = np.lexsort((c.payer, rank[c.action], c.period, -risk))
    return assign(fleet, c, order, budgets=budgets, options=options, method="risk_first")
