"""The planning problem as arrays: the fleet, the options, and every candidate (unit, period,
action, payer of the remainder) with its cost split by source and its benefit.

Benefit is CNAIM-style: the discounted cumulative risk (PoF × consequence) avoided over the
benefit window. Without work a unit's PoF grows by ``pof_growth`` a year; from the period an action
is done, its PoF path is the do-nothing path times the action's residual (a tenth for a
replacement, more for an overhaul). Scaling the path rather than restarting it keeps a later action
worth less than the same action sooner, whatever the window's end. Both are linear in the unit's
risk, so the benefit of an action in a period is the unit's risk times a factor of the action and
the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from core.errors import Invalid
from planning.catalogue import RENEWALS, Catalogue
from planning.funding import Budgets, FundingPolicy

PAYERS = ("maintenance_fund", "owners", "advance")
NEVER = 10_000  # a period index past any horizon: the gate never opens


@dataclass
class Fleet:
    """Buildings and units as parallel arrays; ``unit_building`` indexes the buildings."""

    building_ids: list[str]
    building_names: list[str]
    street_office_ids: list[str]
    district_ids: list[str]
    households: np.ndarray
    elderly_share: np.ndarray
    fund_balance: np.ndarray
    fund_vote_on: list[date | None]
    collection_rate: np.ndarray  # NaN where unknown
    collection_expected_on: list[date | None]
    floor_area: np.ndarray  # m², NaN where unknown
    unit_ids: list[str]
    unit_building: np.ndarray
    pof: np.ndarray
    cof: np.ndarray
    stopped: np.ndarray
    age_years: np.ndarray
    stops: np.ndarray  # NaN where unknown
    speed_mps: np.ndarray  # NaN where unknown
    assessment_action: list[str | None]
    assessment_on: list[date | None]

    @property
    def units_in_building(self) -> np.ndarray:
        """How many elevators each building has."""
        return np.bincount(self.unit_building, minlength=len(self.building_ids))


@dataclass(frozen=True)
class Options:
    """How a plan is made."""

    start: date
    years: int = 2
    period_months: int = 12
    discount_rate: float = 0.035
    pof_growth: float = 1.12
    benefit_years: int = 10
    one_per_building_per_phase: bool = False
    excluded: dict[str, str] = field(default_factory=dict)
    failure_downtime_days: float = 3.0
    backup_share: float = 0.25
    # None: at most one action per unit over the horizon; N: a second action N years or more
    # after the first.
    min_interval_years: int | None = None
    # None: retrofits take the bond money renewals leave; X: retrofits are chosen beside renewals,
    # one resident served counting as X of risk avoided.
    retrofit_rate: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.years <= 5:
            raise Invalid("the horizon must be 1 to 5 years")
        if not 2000 <= self.start.year <= 2100:
            raise Invalid(f"the plan must start between 2000 and 2100, not {self.start}")
        if self.period_months not in (1, 2, 3, 4, 6, 12):
            raise Invalid("period_months must divide a year: 1, 2, 3, 4, 6 or 12")
        if self.benefit_years < self.years:
            raise Invalid("benefit_years must be at least the horizon in years")
        if self.min_interval_years is not None and not 1 <= self.min_interval_years <= 5:
            raise Invalid("the minimum interval between two actions on a unit must be 1 to 5 years")
        if self.retrofit_rate is not None and not self.retrofit_rate > 0:
            raise Invalid("the retrofit exchange rate must be a positive number")

    @property
    def periods(self) -> int:
        """Periods in the horizon."""
        return self.years * 12 // self.period_months

    def period_start(self, p: int) -> date:
        """The first day of period ``p`` (0-based)."""
        months = self.start.month - 1 + p * self.period_months
        return date(self.start.year + months // 12, months % 12 + 1, 1)

    def period_of(self, day: date | None) -> int:
        """The first period starting on or after ``day`` (0 for the past, NEVER for None)."""
        if day is None:
            return NEVER
        for p in range(self.periods):
            if self.period_start(p) >= day:
                return p
        return NEVER


@dataclass
class Candidates:
    """Every feasible (unit, period, action, payer) with its money and benefit."""

    unit: np.ndarray
    period: np.ndarray
    year: np.ndarray
    action: np.ndarray  # index into RENEWALS
    payer: np.ndarray  # index into PAYERS
    cost: np.ndarray
    split: dict[str, np.ndarray]  # yuan per source
    benefit: np.ndarray
    tiebreak: np.ndarray
    mandatory_units: np.ndarray
    owners_capacity: np.ndarray  # per building
    # Per candidate, for a unit's second action: the first action's candidate it follows (−1 for
    # a first action); None when a unit takes at most one action.
    parent: np.ndarray | None = None

    @property
    def first(self) -> np.ndarray:
        """True for a unit's first action."""
        return np.ones(self.unit.size, dtype=bool) if self.parent is None else self.parent < 0


def benefit_factor(options: Options, residual: float) -> np.ndarray:
    """Discounted PoF-years avoided per unit of current risk, for work starting in each period."""
    dt = options.period_months / 12
    steps = options.benefit_years * 12 // options.period_months
    t = np.arange(steps) * dt
    disc = (1 + options.discount_rate) ** -t * dt
    nothing = options.pof_growth**t
    avoided = disc * nothing * (1 - residual)
    return np.array([float(avoided[p:].sum()) for p in range(options.periods)])


def _action_costs(fleet: Fleet, catalogue: Catalogue, name: str) -> np.ndarray:
    action = catalogue.actions[name]
    costs = np.empty(len(fleet.unit_ids))
    for i in range(len(costs)):
        stops = None if np.isnan(fleet.stops[i]) else int(fleet.stops[i])
        speed = None if np.isnan(fleet.speed_mps[i]) else float(fleet.speed_mps[i])
        costs[i] = action.cost(stops=stops, speed_mps=speed)
    return costs


def _subsidies(
    fleet: Fleet, policy: FundingPolicy, name: str, cost: np.ndarray, start: date
) -> tuple[np.ndarray, np.ndarray]:
    """Bond subsidy and district share of each unit's ``name`` work."""
    n = len(fleet.unit_ids)
    assessed = np.array([a == name for a in fleet.assessment_action])
    bond = np.zeros(n)
    if policy.bond is not None and name in policy.bond.actions:
        b = policy.bond
        old = fleet.age_years >= b.min_age_years
        ok = old & (assessed if b.needs_assessment else True)
        if b.stopped_qualifies:
            ok = ok | fleet.stopped
        amounts = np.array([b.amount(None if np.isnan(s) else int(s)) for s in fleet.stops])
        bond = np.where(ok, np.minimum(amounts, cost), 0.0)
    district = np.zeros(n)
    d = policy.district
    if d is not None and name in d.caps:
        ok = assessed.copy() if d.needs_assessment else np.ones(n, dtype=bool)
        if d.needs_assessment and d.within_months_of_assessment is not None:
            recent = np.array(
                [
                    on is not None and (start - on).days <= d.within_months_of_assessment * 30.5
                    for on in fleet.assessment_on
                ]
            )
            ok &= recent
        district = np.where(ok, np.minimum(d.share * cost, d.caps[name]), 0.0)
        district = np.minimum(district, cost - bond)
    return bond, district


def payer_gates(fleet: Fleet, policy: FundingPolicy, options: Options) -> dict[str, np.ndarray]:
    """Per building, the first period each payer of the remainder may pay in."""
    nb = len(fleet.building_ids)
    fund_from = np.full(nb, NEVER)
    owners_from = np.full(nb, NEVER)
    for b in range(nb):
        if fleet.fund_balance[b] > 0:
            vote = fleet.fund_vote_on[b]
            fund_from[b] = (
                0 if vote is not None and vote <= options.start else options.period_of(vote)
            )
        rate = fleet.collection_rate[b]
        if not np.isnan(rate) and rate >= policy.collection_threshold:
            owners_from[b] = 0
        else:
            owners_from[b] = options.period_of(fleet.collection_expected_on[b])
    emergency = policy.fund.emergency_min_age_years
    if emergency is not None:
        # Beijing: old stopped units draw on the fund by emergency procedure, without a vote.
        for i in np.flatnonzero(fleet.stopped & (fleet.age_years >= emergency)):
            b = fleet.unit_building[i]
            if fleet.fund_balance[b] > 0:
                fund_from[b] = 0
    return {"maintenance_fund": fund_from, "owners": owners_from, "advance": np.zeros(nb, int)}


def owners_capacity(fleet: Fleet, policy: FundingPolicy) -> np.ndarray:
    """What each building's owners can pay once collection passes the threshold (inf: no limit
    known): the levy per m² on the floor area, at the threshold's share or the recorded rate."""
    if policy.levy_per_m2 is None:
        return np.full(len(fleet.building_ids), np.inf)
    share = np.fmax(np.nan_to_num(fleet.collection_rate), policy.collection_threshold)
    capacity = fleet.floor_area * policy.levy_per_m2 * share
    return np.where(np.isnan(capacity), np.inf, capacity)


def candidates(
    fleet: Fleet,
    *,
    catalogue: Catalogue,
    policy: FundingPolicy,
    budgets: Budgets,
    options: Options,
) -> Candidates:
    """Every candidate the constraints allow before budgets: gates, exclusions, mandatory work."""
    unknown = set(options.excluded) - set(fleet.unit_ids)
    if unknown:
        raise Invalid(f"excluded units not in the plan's fleet: {', '.join(sorted(unknown))}")
    for unit, reason in options.excluded.items():
        if not reason.strip():
            raise Invalid(f"excluding {unit} needs a reason (e.g. 'awaiting demolition')")
    excluded = np.array([u in options.excluded for u in fleet.unit_ids], dtype=bool)
    mandatory = fleet.stopped & ~excluded
    gates = payer_gates(fleet, policy, options)
    capacity = owners_capacity(fleet, policy)
    has_advance = any(v > 0 for v in budgets.amounts["advance"])
    risk = fleet.pof * fleet.cof
    k = fleet.units_in_building
    # Ties: the households (weighted by elderly share) a failure would strand.
    stranded = fleet.households * (1 + np.nan_to_num(fleet.elderly_share)) / np.maximum(k, 1)
    tiebreak_unit = stranded[fleet.unit_building]
    parts: list[dict[str, np.ndarray]] = []
    for a, name in enumerate(RENEWALS):
        if name not in catalogue.actions:
            continue
        cost = _action_costs(fleet, catalogue, name)
        bond, district = _subsidies(fleet, policy, name, cost, options.start)
        rest = cost - bond - district
        factor = benefit_factor(options, catalogue.actions[name].residual_pof)
        for p in range(options.periods):
            for j, payer in enumerate(PAYERS):
                if payer == "advance" and not has_advance:
                    continue
                open_ = gates[payer][fleet.unit_building] <= p
                if payer == "maintenance_fund":
                    open_ &= fleet.fund_balance[fleet.unit_building] >= rest
                if payer == "owners":
                    open_ &= capacity[fleet.unit_building] >= rest
                # Work the subsidies pay in full needs no payer of a remainder: one variant.
                paid = rest <= 0
                open_ = np.where(paid, payer == "owners", open_)
                ok = open_ & ~excluded & (~mandatory | (p == 0))
                idx = np.flatnonzero(ok)
                if idx.size == 0:
                    continue
                split = {s: np.zeros(idx.size) for s in ("bond", "district", *PAYERS)}
                split["bond"], split["district"] = bond[idx], district[idx]
                split[payer] = rest[idx]
                parts.append(
                    {
                        "unit": idx,
                        "period": np.full(idx.size, p),
                        "action": np.full(idx.size, a),
                        "payer": np.full(idx.size, j),
                        "cost": cost[idx],
                        "benefit": risk[idx] * factor[p],
                        "tiebreak": tiebreak_unit[idx],
                        **{f"split_{s}": v for s, v in split.items()},
                    }
                )
    if not parts:
        return _empty(mandatory, capacity)
    cat = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    parent = None
    if options.min_interval_years is not None:
        cat, parent = _second_actions(
            fleet,
            cat,
            catalogue=catalogue,
            gates=gates,
            capacity=capacity,
            has_advance=has_advance,
            excluded=excluded,
            options=options,
        )
    missing = sorted(
        fleet.unit_ids[i] for i in np.flatnonzero(mandatory) if not (cat["unit"] == i).any()
    )
    if missing:
        raise Invalid(
            "stopped units with no way to pay for work in the first year: "
            f"{', '.join(missing)}; record a maintenance-fund vote or owners' collection, add an "
            "advance, or exclude them with a reason"
        )
    return Candidates(
        unit=cat["unit"],
        period=cat["period"],
        year=cat["period"] * options.period_months // 12,
        action=cat["action"],
        payer=cat["payer"],
        cost=cat["cost"],
        split={s: cat[f"split_{s}"] for s in ("bond", "district", *PAYERS)},
        benefit=cat["benefit"],
        tiebreak=cat["tiebreak"],
        mandatory_units=np.flatnonzero(mandatory),
        owners_capacity=capacity,
        parent=parent,
    )


def _second_actions(
    fleet: Fleet,
    cat: dict[str, np.ndarray],
    *,
    catalogue: Catalogue,
    gates: dict[str, np.ndarray],
    capacity: np.ndarray,
    has_advance: bool,
    excluded: np.ndarray,
    options: Options,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Second actions, each following one first-action candidate at least the minimum interval
    earlier. The subsidies were for the first (its assessment, its age), so a second action's
    whole cost falls on its payer. Its benefit is exact given the first: the first leaves the PoF
    path at its residual, and the second takes its share of what is left from its own period on."""
    assert options.min_interval_years is not None
    gap = -(-options.min_interval_years * 12 // options.period_months)
    risk = fleet.pof * fleet.cof
    names = [name for name in RENEWALS if name in catalogue.actions]
    residual = np.ones(len(RENEWALS))
    for name in names:
        residual[RENEWALS.index(name)] = catalogue.actions[name].residual_pof
    first_residual = residual[cat["action"]]
    n_first = cat["unit"].size
    parts: list[dict[str, np.ndarray]] = []
    parents: list[np.ndarray] = []
    for name in names:
        a = RENEWALS.index(name)
        cost = _action_costs(fleet, catalogue, name)
        factor = benefit_factor(options, catalogue.actions[name].residual_pof)
        for p in range(gap, options.periods):
            for j, payer in enumerate(PAYERS):
                if payer == "advance" and not has_advance:
                    continue
                open_ = (gates[payer][fleet.unit_building] <= p) & ~excluded
                if payer == "maintenance_fund":
                    open_ &= fleet.fund_balance[fleet.unit_building] >= cost
                if payer == "owners":
                    open_ &= capacity[fleet.unit_building] >= cost
                follows = np.flatnonzero(open_[cat["unit"]] & (cat["period"] <= p - gap))
                if follows.size == 0:
                    continue
                u = cat["unit"][follows]
                zero = np.zeros(follows.size)
                part = {key: np.empty(0) for key in cat}
                part.update(
                    {
                        "unit": u,
                        "period": np.full(follows.size, p),
                        "action": np.full(follows.size, a),
                        "payer": np.full(follows.size, j),
                        "cost": cost[u],
                        "benefit": risk[u] * first_residual[follows] * factor[p],
                        "tiebreak": cat["tiebreak"][follows],
                    }
                )
                for source in ("bond", "district", *PAYERS):
                    part[f"split_{source}"] = cost[u] if source == payer else zero
                parts.append(part)
                parents.append(follows)
    parent = np.full(n_first, -1)
    if not parts:
        return cat, parent
    merged = {key: np.concatenate([cat[key], *(part[key] for part in parts)]) for key in cat}
    return merged, np.concatenate([parent, *parents])


def _empty(mandatory: np.ndarray, capacity: np.ndarray) -> Candidates:
    if mandatory.any():
        raise Invalid("stopped units with no way to pay for work in the first year")
    z = np.zeros(0)
    zi = np.zeros(0, dtype=int)
    return Candidates(zi, zi, zi, zi, zi, z, {}, z, z, np.flatnonzero(mandatory), capacity)
