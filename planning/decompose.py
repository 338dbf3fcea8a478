"""Large plans by Lagrangian decomposition: a proven bound and a plan within a stated gap of it.

Only the budget rows (per source per year, 15 at most) tie buildings together; every other row
(one action per unit, k − 1 units per building per period, the fund balance, the owners' money,
the advance's limit per building) stays inside one building. Pricing the budget rows at λ ≥ 0
splits the plan into one small problem per building, each solved exactly by enumerating its
units' choices:

    L(λ) = λ·budget + Σ_buildings max over the building's feasible choices of (w − λ·money)·x

For every λ ≥ 0 and every plan x that meets the budgets, w·x ≤ L(λ) (the priced term λ·(budget −
money·x) is never negative), so the smallest L found is a true upper bound on the best plan, at
least as tight as the LP relaxation's at the best λ. A cutting-plane master (Kelley's method in a
trust region, an LP over the ≤ 15 prices) chooses the next λ. The plan is the buildings' choices
at the best prices, repaired to fit the budgets: buildings in order of what the priced money
adds to them, each keeping its best choice that still fits; the gap is (bound − plan) / bound.

To keep the enumeration small without losing exactness, options worth nothing at the prices (but
a stopped unit's) are dropped, and so is an option beaten by one of the same unit, periods and
payer that is worth more for less of the building's money. Past that, a unit of a building of k
units offers its best few options (fewer the larger k); those left out stand in as one "virtual"
option per period, worth the best of them and using no money, which keeps each building's maximum
an upper bound. Buildings of more than MAX_UNITS units are not enumerated: their choice is built
greedily and their bound is each unit's best option alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from core.errors import Invalid
from planning.funding import BUDGETED, Budgets
from planning.model import PAYERS, Candidates, Fleet, Options
from planning.solve import Solution, _objective, building_caps

MILLION = 1e6
# Options per unit enumerated in a building of k units: (T + 1)^k choices per building.
TOP = {2: 40, 3: 14, 4: 7, 5: 4, 6: 3, 7: 2, 8: 2}
PERIODS_VIRTUAL = 6  # up to this many periods, left-out options stand in per period
MAX_UNITS = 8  # larger buildings: a greedy choice and a looser bound
CHUNK = 1_500_000  # building × choice cells per block of the enumeration


@dataclass
class _Problem:
    """The decomposition's arrays, built once per solve."""

    weight: np.ndarray  # per candidate
    money: np.ndarray  # candidates × sources, millions of yuan
    money_row: np.ndarray  # candidates × sources: the budget row (source, year) it draws on
    budget: np.ndarray  # per budget row
    opt_cands: np.ndarray  # options × 2: the candidates an option takes (−1: none)
    opt_unit: np.ndarray
    dense: np.ndarray  # units × K: option indices (−1 padding)
    opt_fund: np.ndarray
    opt_owners: np.ndarray
    opt_advance: np.ndarray
    opt_periods: np.ndarray  # periods × options: units of work the option puts in each period
    period_used: np.ndarray
    opt_first_period: np.ndarray
    pareto_order: np.ndarray  # options by class, then local money ascending
    pareto_start: np.ndarray  # True where a class starts in that order
    groups: list[tuple[int, np.ndarray, np.ndarray]]  # (k, buildings × k units, buildings)
    mandatory: np.ndarray  # per unit
    unit_building: np.ndarray
    caps: np.ndarray  # buildings × periods
    fund_balance: np.ndarray
    owners_capacity: np.ndarray
    advance_max: float


def _prepare(fleet: Fleet, c: Candidates, budgets: Budgets, options: Options) -> _Problem:
    years = options.years
    money = np.column_stack([c.split[source] / MILLION for source in BUDGETED])
    money_row = np.column_stack([s * years + c.year for s in range(len(BUDGETED))]).astype(np.int32)
    budget = np.concatenate(
        [np.array(budgets.amounts[source][:years], dtype=float) / MILLION for source in BUDGETED]
    )
    first = np.flatnonzero(c.first)
    pairs = np.zeros((0, 2), dtype=int)
    if c.parent is not None:
        child = np.flatnonzero(~c.first)
        pairs = np.column_stack([c.parent[child], child])
    opt_cands = np.vstack([np.column_stack([first, np.full(first.size, -1)]), pairs])
    opt_unit = c.unit[opt_cands[:, 0]]
    b = fleet.unit_building[c.unit]
    fund = np.where(c.payer == PAYERS.index("maintenance_fund"), c.split["maintenance_fund"], 0.0)
    owners = np.where(
        (c.payer == PAYERS.index("owners")) & np.isfinite(c.owners_capacity[b]),
        c.split["owners"],
        0.0,
    )
    advance = (c.payer == PAYERS.index("advance")).astype(float)

    def per_option(values: np.ndarray) -> np.ndarray:
        second = np.where(opt_cands[:, 1] >= 0, values[np.maximum(opt_cands[:, 1], 0)], 0.0)
        return values[opt_cands[:, 0]] + second

    periods = np.zeros((options.periods, opt_cands.shape[0]), dtype=np.int8)
    for col in (0, 1):
        has = opt_cands[:, col] >= 0
        np.add.at(periods, (c.period[opt_cands[has, col]], np.flatnonzero(has)), 1)
    # Options of a unit that put work in the same periods and draw on the same one local source
    # (the fund or the owners) compete only on value and that money: one costing more and worth no
    # more is never needed.
    local = per_option(fund) + per_option(owners)
    payer_of = np.column_stack(
        [c.payer[opt_cands[:, 0]], np.where(opt_cands[:, 1] >= 0, c.payer[opt_cands[:, 1]], -1)]
    )
    second_period = np.where(opt_cands[:, 1] >= 0, c.period[np.maximum(opt_cands[:, 1], 0)], -1)
    mixed = (per_option(fund) > 0) & (per_option(owners) > 0)
    own_class = np.where(mixed, np.arange(opt_cands.shape[0]), -1)
    pareto_order = np.lexsort(
        (
            local,
            own_class,
            payer_of[:, 1],
            payer_of[:, 0],
            second_period,
            c.period[opt_cands[:, 0]],
            opt_unit,
        )
    )
    keys = np.column_stack(
        [opt_unit, c.period[opt_cands[:, 0]], second_period, payer_of, own_class]
    )[pareto_order]
    pareto_start = np.ones(pareto_order.size, dtype=bool)
    pareto_start[1:] = (keys[1:] != keys[:-1]).any(axis=1)
    n = len(fleet.unit_ids)
    order = np.argsort(opt_unit, kind="stable")
    counts = np.bincount(opt_unit, minlength=n)
    k_max = max(int(counts.max()) if counts.size else 0, 1)
    dense = np.full((n, k_max), -1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(order.size) - np.repeat(starts, counts)
    dense[opt_unit[order], slot] = order
    nb = len(fleet.building_ids)
    per_building = fleet.units_in_building
    by_building = np.argsort(fleet.unit_building, kind="stable")
    first_unit = np.concatenate([[0], np.cumsum(per_building)[:-1]])
    groups = []
    for k in np.unique(per_building[per_building > 0]):
        which = np.flatnonzero(per_building == k)
        units = by_building[first_unit[which][:, None] + np.arange(k)[None, :]]
        groups.append((int(k), units, which))
    mandatory = np.zeros(n, dtype=bool)
    mandatory[c.mandatory_units] = True
    advance_max = budgets.advance_max_units_per_building
    return _Problem(
        weight=_objective(c),
        money=money,
        money_row=money_row,
        budget=budget,
        opt_cands=opt_cands,
        opt_unit=opt_unit,
        dense=dense,
        opt_fund=per_option(fund),
        opt_owners=per_option(owners),
        opt_advance=per_option(advance),
        opt_periods=periods,
        period_used=np.asarray(periods.any(axis=1)),
        opt_first_period=c.period[opt_cands[:, 0]],
        pareto_order=pareto_order,
        pareto_start=pareto_start,
        groups=groups,
        mandatory=mandatory,
        unit_building=fleet.unit_building,
        caps=building_caps(fleet, options).astype(float),
        fund_balance=fleet.fund_balance.astype(float),
        owners_capacity=np.where(np.isfinite(c.owners_capacity), c.owners_capacity, np.inf)
        if c.owners_capacity.size
        else np.full(nb, np.inf),
        advance_max=float(advance_max) if advance_max is not None else np.inf,
    )


@dataclass
class _Choice:
    """Every building's best choice at some prices."""

    value: np.ndarray  # per building: the best choice's priced value
    bound: np.ndarray  # per building: an upper bound on any choice's priced value
    options: np.ndarray  # per unit: the chosen option (−1: none)


def _choose(
    pr: _Problem,
    prices: np.ndarray,
    *,
    buildings: np.ndarray | None = None,
    banned: np.ndarray | None = None,
) -> _Choice:
    """Each building's best feasible choice of its units' options at ``prices``. ``banned``
    candidates are not offered."""
    reduced = pr.weight - (pr.money * prices[pr.money_row]).sum(axis=1)
    if banned is not None:
        reduced = np.where(banned, -np.inf, reduced)
    cand = pr.opt_cands
    second = np.where(cand[:, 1] >= 0, reduced[np.maximum(cand[:, 1], 0)], 0.0)
    opt_value = reduced[cand[:, 0]] + second
    useful = _useful(pr, opt_value)
    idx = np.flatnonzero(useful)
    idx = idx[np.lexsort((-opt_value[idx], pr.opt_unit[idx]))]
    n = pr.dense.shape[0]
    counts = np.bincount(pr.opt_unit[idx], minlength=n)
    dense = np.full((n, max(int(counts.max()), 1)), -1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    dense[pr.opt_unit[idx], np.arange(idx.size) - np.repeat(starts, counts)] = idx
    values = np.append(opt_value, -np.inf)[dense]  # padding −1 reads the −inf at the end
    nb = pr.caps.shape[0]
    out = _Choice(np.zeros(nb), np.zeros(nb), np.full(n, -1))
    keep = None if buildings is None else np.zeros(nb, dtype=bool)
    if keep is not None:
        keep[buildings] = True
    for k, units_all, bidx_all in pr.groups:
        if keep is not None:
            sel = keep[bidx_all]
            units_all, bidx_all = units_all[sel], bidx_all[sel]
        if units_all.shape[0] == 0:
            continue
        if k > MAX_UNITS:
            for row in range(units_all.shape[0]):
                _choose_large(pr, dense, values, units_all[row], int(bidx_all[row]), out)
            continue
        # Buildings of alike width together: (width + 1)^k choices each, width capped by TOP.
        width = np.minimum(counts[units_all].max(axis=1), TOP.get(k, 1) if k > 1 else 10**9)
        for top in np.unique(width).tolist():
            these = np.flatnonzero(width == top)
            truncated = (counts[units_all[these]] > top).any()
            periods = pr.opt_periods.shape[0]
            virtual = (periods if periods <= PERIODS_VIRTUAL else 1) if truncated else 0
            choices = 1 + top + virtual
            step = max(1, CHUNK // choices**k)
            for lo in range(0, these.size, step):
                rows = these[lo : lo + step]
                _choose_block(pr, dense, values, units_all[rows], bidx_all[rows], top, out)
    return out


def _choose_large(
    pr: _Problem, dense: np.ndarray, values: np.ndarray, units: np.ndarray, b: int, out: _Choice
) -> None:
    """A building of many units: options best first (stopped units' first), each taken if its
    unit has none yet and the building's slots and money allow it."""
    v = values[units]
    head = np.where(np.isfinite(v), v, -np.inf).max(axis=1)
    out.bound[b] = float(np.where(pr.mandatory[units], head, np.maximum(head, 0.0)).sum())
    caps = pr.caps[b].copy()
    fund, owners, advance = pr.fund_balance[b], pr.owners_capacity[b], pr.advance_max
    row, col = np.nonzero(np.isfinite(v))
    order = np.lexsort((-v[row, col], ~pr.mandatory[units[row]]))
    taken = np.zeros(units.size, dtype=bool)
    total = 0.0
    for i in order.tolist():
        u, o = int(row[i]), int(dense[units[row[i]], col[i]])
        slots = pr.opt_periods[:, o]
        if taken[u] or (slots > caps).any():
            continue
        if pr.opt_fund[o] > fund + 1e-6 or pr.opt_owners[o] > owners + 1e-6:
            continue
        if pr.opt_advance[o] > advance + 1e-9:
            continue
        caps -= slots
        fund -= pr.opt_fund[o]
        owners -= pr.opt_owners[o]
        advance -= pr.opt_advance[o]
        taken[u] = True
        out.options[units[u]] = o
        total += float(v[row[i], col[i]])
    stranded = pr.mandatory[units] & ~taken
    out.value[b] = -np.inf if stranded.any() else total
    if stranded.any():
        out.options[units] = -1


def _useful(pr: _Problem, opt_value: np.ndarray) -> np.ndarray:
    """Options worth enumerating: worth more than nothing (or of a stopped unit), and not beaten
    by one of the same class that is worth more for less local money."""
    ordered = opt_value[pr.pareto_order]
    finite = np.isfinite(ordered)
    span = float(np.abs(ordered[finite]).max()) * 2 + 1 if finite.any() else 1.0
    shifted = np.where(finite, ordered, -span / 2) + np.cumsum(pr.pareto_start) * span
    best_before = np.maximum.accumulate(shifted)
    best_before = np.concatenate([[-np.inf], best_before[:-1]])
    best_before[pr.pareto_start] = -np.inf
    keep = np.zeros(opt_value.size, dtype=bool)
    keep[pr.pareto_order] = finite & (shifted > best_before)
    return keep & ((opt_value > 0) | pr.mandatory[pr.opt_unit])


def _choose_block(
    pr: _Problem,
    dense: np.ndarray,
    values: np.ndarray,
    units: np.ndarray,
    bidx: np.ndarray,
    top: int,
    out: _Choice,
) -> None:
    nbc, k = units.shape
    v = values[units]  # nbc × k × K, each unit's options best first
    width = min(top, v.shape[2])
    pv = v[:, :, :width]
    opt = dense[units][:, :, :width]
    # The options left out of the enumeration stand in as one "virtual" option per period (or one
    # for the whole horizon): the best left-out value, no money, one slot of that period. Every
    # real choice is matched by one at least as good that uses no more of anything, so the best
    # over real and virtual options bounds the building's problem from above.
    left_out = np.isfinite(v)
    left_out[:, :, :width] = False
    periods = pr.opt_periods.shape[0]
    per_period = periods <= PERIODS_VIRTUAL
    virtual = []
    if left_out.any():
        if per_period:
            first = pr.opt_first_period[np.maximum(dense[units], 0)]
            virtual = [
                np.where(left_out & (first == p), v, -np.inf).max(axis=2) for p in range(periods)
            ]
        else:
            virtual = [np.where(left_out, v, -np.inf).max(axis=2)]
    nv = len(virtual)
    value_of = np.concatenate(
        [np.zeros((nbc, k, 1)), pv] + [x[:, :, None] for x in virtual], axis=2
    )
    # A stopped unit must take one of its options.
    value_of[:, :, 0] = np.where(pr.mandatory[units], -np.inf, 0.0)
    option_of = np.concatenate([np.full((nbc, k, 1), -1), opt, np.full((nbc, k, nv), -1)], axis=2)
    safe = np.maximum(option_of, 0)
    valid = option_of >= 0

    def combined(per: np.ndarray) -> np.ndarray:
        # Every combination of one choice per unit, in itertools.product order.
        acc = per[:, 0, :]
        for u in range(1, k):
            acc = (acc[:, :, None] + per[:, u, None, :]).reshape(nbc, -1)
        return acc

    value = combined(value_of)
    ok = np.isfinite(value)

    def within(per: np.ndarray, limit: np.ndarray) -> None:
        nonlocal ok
        if (per.max(axis=2).sum(axis=1) <= limit + 1e-6).all():
            return
        ok &= combined(per) <= limit[:, None] + 1e-6

    def used(per_option: np.ndarray) -> np.ndarray:
        return np.where(valid, per_option[safe], 0.0)

    within(used(pr.opt_fund), pr.fund_balance[bidx])
    within(used(pr.opt_owners), pr.owners_capacity[bidx])
    if np.isfinite(pr.advance_max):
        within(used(pr.opt_advance), np.full(nbc, pr.advance_max))
    for p in np.flatnonzero(pr.period_used).tolist():
        per = used(pr.opt_periods[p])
        if per_period and nv:
            per[:, :, 1 + width + p] = 1.0
        within(per, pr.caps[bidx, p])
    value = np.where(ok, value, -np.inf)
    bound = value.max(axis=1)
    real_shape = (1 + width,) * k
    grid = np.zeros((1 + width + nv,) * k, dtype=bool)
    grid[tuple(slice(0, n) for n in real_shape)] = True
    value = np.where(grid.ravel()[None, :], value, -np.inf)
    best = np.argmax(value, axis=1)
    best_value = value[np.arange(nbc), best]
    # A building with no feasible choice at all leaves the problem infeasible; its bound then is
    # what each unit's best option alone could add.
    head = np.where(np.isfinite(v), v, -np.inf).max(axis=2)
    loose = np.where(pr.mandatory[units], head, np.maximum(head, 0.0)).sum(axis=1)
    out.value[bidx] = best_value
    out.bound[bidx] = np.where(np.isfinite(bound), bound, loose)
    pick = np.column_stack(np.unravel_index(best, (1 + width + nv,) * k))
    for u in range(k):
        o = option_of[np.arange(nbc), u, pick[:, u]]
        out.options[units[:, u]] = np.where(np.isfinite(best_value), o, -1)


def _spend(pr: _Problem, choice_options: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidates the options take, and their money per budget row."""
    opts = choice_options[choice_options >= 0]
    cands = pr.opt_cands[opts].ravel()
    cands = cands[cands >= 0]
    return cands, _spent(pr, cands)


def _spent(pr: _Problem, cands: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Money per budget row of ``cands`` (per group × row when ``groups`` is given)."""
    rows = pr.budget.size
    row = pr.money_row[cands]
    if groups is None:
        return np.bincount(row.ravel(), pr.money[cands].ravel(), minlength=rows)
    count = int(groups.max()) + 1 if groups.size else 0
    flat = (groups[:, None] * rows + row).ravel()
    return np.bincount(flat, pr.money[cands].ravel(), minlength=count * rows).reshape(-1, rows)


def lagrangian(
    pr: _Problem, *, deadline: float, tolerance: float = 1e-5, iterations: int = 80
) -> tuple[float, np.ndarray]:
    """The smallest L(λ) found by Kelley's cutting planes in a trust region, and its λ."""
    rows = pr.budget.size
    cuts_g: list[np.ndarray] = []
    cuts_rhs: list[float] = []
    best, best_prices = np.inf, np.zeros(rows)
    prices = np.zeros(rows)
    positive = pr.money > 0
    ratios = (pr.weight[:, None] / np.where(positive, pr.money, np.inf))[positive]
    top_price = float(ratios.max()) * 2 if ratios.size else 1.0
    radius = float(np.median(ratios)) if ratios.size else 1.0
    for _ in range(iterations):
        ch = _choose(pr, prices)
        value = float(prices @ pr.budget + ch.bound.sum())
        _, spent = _spend(pr, ch.options)
        g = pr.budget - spent
        cuts_g.append(g)
        cuts_rhs.append(value - float(g @ prices))
        if value < best:
            improved = best - value
            best, best_prices = value, prices.copy()
            radius *= 2 if improved > 1e-3 * abs(best) else 1
        else:
            radius /= 2
        if time.perf_counter() > deadline:
            break
        # Master: min θ with θ ≥ L_k + g_k·(λ − λ_k) for every cut, λ in the trust region.
        lo = np.maximum(0.0, best_prices - radius)
        hi = np.minimum(top_price, best_prices + radius)
        a_ub = np.hstack([np.array(cuts_g), -np.ones((len(cuts_g), 1))])
        res = linprog(
            np.append(np.zeros(rows), 1.0),
            A_ub=a_ub,
            b_ub=-np.array(cuts_rhs),
            bounds=[*zip(lo, hi, strict=True), (None, None)],
            method="highs",
        )
        if res.x is None:
            break
        predicted = float(res.x[-1])
        prices = res.x[:rows]
        if best - predicted <= tolerance * abs(best):
            break
    return best, best_prices


def _building_spend(pr: _Problem, unit_options: np.ndarray) -> np.ndarray:
    """Money per budget row of each building's chosen options (buildings × rows)."""
    has = np.flatnonzero(unit_options >= 0)
    pairs = pr.opt_cands[unit_options[has]]
    owner = np.repeat(pr.unit_building[has], 2)
    cands = pairs.ravel()
    ok = cands >= 0
    spend = _spent(pr, cands[ok], owner[ok])
    nb = pr.caps.shape[0]
    out = np.zeros((nb, pr.budget.size))
    out[: spend.shape[0]] = spend
    return out


def repair(pr: _Problem, prices: np.ndarray) -> np.ndarray:
    """A plan within the budgets from the buildings' choices at ``prices``: buildings with stopped
    units first, then in order of what the priced money adds to their choice; each takes its best
    choice among the candidates that still fit. Returns the chosen candidates."""
    nb = pr.caps.shape[0]
    priced = np.asarray((pr.money > 0).any(axis=1))
    rows = pr.money_row
    left = pr.budget.copy()
    plan = np.full(pr.dense.shape[0], -1)
    undecided = np.ones(nb, dtype=bool)
    unpriced = _choose(pr, prices, banned=priced)
    has_mandatory = np.bincount(pr.unit_building[pr.mandatory], minlength=nb) > 0
    for _ in range(8):
        banned = priced & (pr.money > left[rows] + 1e-9).any(axis=1)
        todo = np.flatnonzero(undecided)
        ch = _choose(pr, prices, buildings=todo, banned=banned)
        spend = _building_spend(pr, ch.options)
        margin = ch.value - np.where(np.isfinite(unpriced.value), unpriced.value, 0.0)
        todo = todo[np.isfinite(ch.value[todo])]
        free = todo[~(spend[todo] > 0).any(axis=1)]
        costly = todo[(spend[todo] > 0).any(axis=1)]
        costly = costly[np.lexsort((-margin[costly], ~has_mandatory[costly]))]
        accepted = [free]
        for b in costly.tolist():
            if (spend[b] <= left + 1e-9).all():
                left -= spend[b]
                accepted.append(np.array([b]))
        took = np.concatenate(accepted)
        units = np.isin(pr.unit_building, took)
        plan[units] = ch.options[units]
        undecided[took] = False
        if took.size == free.size or not undecided.any():
            break
    rest = np.flatnonzero(undecided)
    if rest.size:
        if (has_mandatory[rest] & ~np.isfinite(unpriced.value[rest])).any():
            raise Invalid(
                "the first year's budgets cannot pay for the stopped units' work; raise them, "
                "add an advance, or exclude units with a reason"
            )
        units = np.isin(pr.unit_building, rest)
        plan[units] = unpriced.options[units]
    _upgrade(pr, prices, plan, left, priced)
    chosen = pr.opt_cands[plan[plan >= 0]].ravel()
    return np.sort(chosen[chosen >= 0])


def _building_weight(pr: _Problem, unit_options: np.ndarray) -> np.ndarray:
    """The objective of each building's chosen options."""
    nb = pr.caps.shape[0]
    has = np.flatnonzero(unit_options >= 0)
    pairs = pr.opt_cands[unit_options[has]]
    weight = pr.weight[np.maximum(pairs, 0)] * (pairs >= 0)
    return np.bincount(pr.unit_building[has], weight.sum(axis=1), minlength=nb)


def _upgrade(
    pr: _Problem, prices: np.ndarray, plan: np.ndarray, left: np.ndarray, priced: np.ndarray
) -> None:
    """Spend what the budgets have left on buildings whose plan draws on no budget, at ever lower
    prices, each upgrade kept only if it adds to the objective."""
    for scale in (0.7, 0.4, 0.0):
        spend_now = _building_spend(pr, plan)
        todo = np.flatnonzero(~(spend_now > 0).any(axis=1))
        banned = priced & (pr.money > left[pr.money_row] + 1e-9).any(axis=1)
        ch = _choose(pr, prices * scale, buildings=todo, banned=banned)
        spend = _building_spend(pr, ch.options)
        gain = _building_weight(pr, ch.options) - _building_weight(pr, plan)
        todo = todo[np.isfinite(ch.value[todo]) & (gain[todo] > 1e-9)]
        todo = todo[(spend[todo] > 0).any(axis=1)]
        took = []
        for b in todo[np.argsort(-gain[todo], kind="stable")].tolist():
            if (spend[b] <= left + 1e-9).all():
                left -= spend[b]
                took.append(b)
        units = np.isin(pr.unit_building, took)
        plan[units] = ch.options[units]


def decomposition(
    fleet: Fleet,
    c: Candidates,
    *,
    budgets: Budgets,
    options: Options,
    time_limit: float = 60.0,
    gap: float = 0.005,
) -> Solution:
    """The plan by Lagrangian decomposition, with its proven bound."""
    started = time.perf_counter()
    if c.unit.size == 0:
        return Solution("decomposition", np.zeros(0, dtype=int), 0.0, 0.0, 0.0, "optimal")
    pr = _prepare(fleet, c, budgets, options)
    bound, prices = lagrangian(pr, deadline=started + 0.6 * time_limit)
    chosen = repair(pr, prices)
    objective = float(pr.weight[chosen].sum())
    s = Solution(
        "decomposition", chosen, objective, bound, time.perf_counter() - started, "heuristic"
    )
    status = "within_gap" if s.gap is not None and s.gap <= gap else "gap_above_target"
    return Solution(s.method, s.chosen, s.objective, s.bound, s.seconds, status)
