"""Making a plan: candidates, the chosen method, and everything a bureau reads from the result:
rows with their funding split, each building's phases and what it waits for, the risk trajectory
against doing nothing and against the age-first rule, and the marginal value of more budget."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.errors import Invalid
from planning.catalogue import RENEWALS, Catalogue
from planning.decompose import decomposition
from planning.funding import BUDGETED, Budgets, FundingPolicy
from planning.joint import check_joint, funded_retrofits, with_retrofits
from planning.model import NEVER, PAYERS, Candidates, Fleet, Options, candidates, payer_gates
from planning.solve import Solution, age_first, heuristic, solve_milp

METHODS = ("auto", "milp", "decomposition", "greedy")
# Up to this many candidates (about 600 units over five years) HiGHS's branch and bound proves
# the optimum within seconds; past it the decomposition reaches a proven 0.5% far sooner.
MILP_LIMIT = 20_000
SPLIT = ("bond", "district", *PAYERS)
SCENARIO_YUAN = 1_000_000.0


@dataclass
class Plan:
    """A plan and what it is worth."""

    options: Options
    method: str
    rows: list[dict[str, Any]]
    buildings: list[dict[str, Any]]
    trajectory: dict[str, Any]
    scenarios: list[dict[str, Any]]
    summary: dict[str, Any]
    retrofits: list[dict[str, Any]] = field(default_factory=list)


def _solve(
    fleet: Fleet, c: Candidates, method: str, budgets: Budgets, options: Options, time_limit: float
) -> Solution:
    if method == "auto":
        method = "milp" if c.unit.size <= MILP_LIMIT else "decomposition"
    if method == "milp":
        return solve_milp(fleet, c, budgets=budgets, options=options, time_limit=time_limit)
    if method == "decomposition":
        return decomposition(fleet, c, budgets=budgets, options=options, time_limit=time_limit)
    if method == "greedy":
        return heuristic(fleet, c, budgets=budgets, options=options)
    raise Invalid(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def unit_pof_by_year(
    fleet: Fleet, c: Candidates, chosen: np.ndarray, options: Options, catalogue: Catalogue
) -> np.ndarray:
    """Expected failures of each unit in each year of the horizon under a choice (units × years)."""
    dt = options.period_months / 12
    t = np.arange(options.periods) * dt
    growth = options.pof_growth ** t[None, :]
    pof = fleet.pof[:, None] * growth
    residual = np.array(
        [catalogue.actions[a].residual_pof if a in catalogue.actions else 1.0 for a in RENEWALS]
    )
    for i in chosen.tolist():
        u, p, a = c.unit[i], c.period[i], c.action[i]
        pof[u, p:] *= residual[a]
    per_period = pof * dt
    return per_period.reshape(len(fleet.unit_ids), options.years, -1).sum(axis=2)


def outcome(
    fleet: Fleet, c: Candidates, chosen: np.ndarray, options: Options, catalogue: Catalogue
) -> dict[str, list[float]]:
    """Expected failures and stranded household-days per year under a choice."""
    failures = unit_pof_by_year(fleet, c, chosen, options, catalogue)
    k = fleet.units_in_building[fleet.unit_building]
    # A failure of a building's only elevator strands every household; with another one running,
    # a share of them (those who cannot wait or walk) is stranded.
    exposure = (
        fleet.households[fleet.unit_building]
        * options.failure_downtime_days
        * np.where(k <= 1, 1.0, options.backup_share)
    )
    stranded = failures * exposure[:, None]
    for i in chosen.tolist():
        u = c.unit[i]
        if k[u] <= 1:
            days = catalogue.actions[RENEWALS[c.action[i]]].days_out
            stranded[u, c.year[i]] += fleet.households[fleet.unit_building[u]] * days
    return {
        "failures": [round(float(v), 4) for v in failures.sum(axis=0)],
        "stranded_household_days": [round(float(v), 1) for v in stranded.sum(axis=0)],
    }


def _rows(fleet: Fleet, c: Candidates, s: Solution, options: Options) -> list[dict[str, Any]]:
    order = sorted(s.chosen.tolist(), key=lambda i: (c.period[i], fleet.unit_ids[c.unit[i]]))
    phases: dict[int, list[int]] = {}
    for i in order:
        b = int(fleet.unit_building[c.unit[i]])
        if c.period[i] not in phases.setdefault(b, []):
            phases[b].append(int(c.period[i]))
    mandatory = set(c.mandatory_units.tolist())
    rows = []
    for i in order:
        u = int(c.unit[i])
        b = int(fleet.unit_building[u])
        p = int(c.period[i])
        rows.append(
            {
                "unit_id": fleet.unit_ids[u],
                "building_id": fleet.building_ids[b],
                "street_office_id": fleet.street_office_ids[b],
                "district_id": fleet.district_ids[b],
                "year": options.period_start(p).year,
                "period": p + 1,
                "starts_on": options.period_start(p),
                "phase": phases[b].index(p) + 1,
                "action": RENEWALS[c.action[i]],
                "cost": round(float(c.cost[i]), 2),
                **{source: round(float(c.split[source][i]), 2) for source in SPLIT},
                "benefit": float(c.benefit[i]),
                "pof": float(fleet.pof[u]),
                "cof": float(fleet.cof[u]),
                "mandatory": u in mandatory and bool(c.first[i]),
            }
        )
    return rows


def _buildings(
    fleet: Fleet,
    rows: list[dict[str, Any]],
    policy: FundingPolicy,
    options: Options,
) -> list[dict[str, Any]]:
    gates = payer_gates(fleet, policy, options)
    k = fleet.units_in_building
    by_building: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_building.setdefault(row["building_id"], []).append(row)
    assessment_age = policy.bond.min_age_years if policy.bond else 15.0
    out = []
    for b, building_id in enumerate(fleet.building_ids):
        planned = by_building.get(building_id, [])
        units = [fleet.unit_ids[i] for i in np.flatnonzero(fleet.unit_building == b)]
        waits: list[dict[str, Any]] = []
        pending = len(planned) < len(units) or any(
            r["owners"] > 0 and r["period"] > 1 for r in planned
        )
        if gates["owners"][b] > 0 and pending:
            rate = fleet.collection_rate[b]
            gate = int(gates["owners"][b])
            waits.append(
                {
                    "kind": "collection",
                    "threshold": policy.collection_threshold,
                    "rate": None if np.isnan(rate) else float(rate),
                    "expected_on": fleet.collection_expected_on[b],
                    "opens": options.period_start(gate) if gate < NEVER else None,
                }
            )
        if fleet.fund_balance[b] > 0 and gates["maintenance_fund"][b] > 0 and pending:
            rebuilding = policy.fund.replacement_is_rebuilding and any(
                r["action"] == "replace" for r in planned
            )
            waits.append(
                {
                    "kind": "vote",
                    "approve_share": 0.75 if rebuilding else policy.fund.approve_share,
                    "quorum": policy.fund.quorum,
                    "expected_on": fleet.fund_vote_on[b],
                }
            )
        unassessed = [
            fleet.unit_ids[i]
            for i in np.flatnonzero(fleet.unit_building == b)
            if fleet.assessment_action[i] is None
            and not fleet.stopped[i]
            and fleet.age_years[i] >= assessment_age
        ]
        if unassessed:
            waits.append({"kind": "assessment", "units": unassessed})
        phases: dict[int, dict[str, Any]] = {}
        for r in planned:
            phase = phases.setdefault(
                r["phase"],
                {
                    "phase": r["phase"],
                    "period": r["period"],
                    "starts_on": r["starts_on"],
                    "units": [],
                },
            )
            phase["units"].append({"unit_id": r["unit_id"], "action": r["action"]})
        if not planned and not waits:
            continue
        out.append(
            {
                "building_id": building_id,
                "name": fleet.building_names[b],
                "street_office_id": fleet.street_office_ids[b],
                "district_id": fleet.district_ids[b],
                "units": int(k[b]),
                "households": int(fleet.households[b]),
                "phases": [phases[n] for n in sorted(phases)],
                "waits": waits,
            }
        )
    return out


def make_plan(
    fleet: Fleet,
    *,
    catalogue: Catalogue,
    policy: FundingPolicy,
    budgets: Budgets,
    options: Options,
    method: str = "auto",
    time_limit: float = 60.0,
    scenarios: bool = True,
    retrofits: list[dict[str, Any]] | None = None,
) -> Plan:
    """A plan for the fleet, with its trajectory against doing nothing and the age-first rule.
    With ``options.retrofit_rate``, the ranked ``retrofits`` are chosen beside the renewals."""
    check_joint(policy, options)
    c = candidates(fleet, catalogue=catalogue, policy=policy, budgets=budgets, options=options)
    joint_fleet, joint = fleet, c
    if options.retrofit_rate is not None and retrofits:
        joint_fleet, joint = with_retrofits(fleet, c, retrofits, options=options)
    renewals = c.unit.size

    def solve(b: Budgets) -> Solution:
        return _solve(joint_fleet, joint, method, b, options, time_limit)

    s = solve(budgets)
    chosen = s.chosen[s.chosen < renewals]
    replace_first = tuple(RENEWALS.index(a) for a in RENEWALS)
    oldest = age_first(fleet, c, budgets=budgets, options=options, action_order=replace_first)
    nothing = np.zeros(0, dtype=int)
    years = [
        options.period_start(p).year for p in range(0, options.periods, 12 // options.period_months)
    ]
    trajectory = {
        "years": years,
        "plan": outcome(fleet, c, chosen, options, catalogue),
        "do_nothing": outcome(fleet, c, nothing, options, catalogue),
        "age_first": outcome(fleet, c, oldest.chosen, options, catalogue),
    }
    rows = _rows(fleet, c, replace(s, chosen=chosen), options)
    found = []
    if scenarios:
        for source in BUDGETED:
            more = solve(budgets.bumped(source, SCENARIO_YUAN))
            found.append(
                {
                    "source": source,
                    "extra_yuan": SCENARIO_YUAN,
                    "benefit_gain": max(0.0, more.objective - s.objective),
                    "units_added": int(
                        (more.chosen < renewals).sum() - (s.chosen < renewals).sum()
                    ),
                }
            )
    totals = {source: round(sum(r[source] for r in rows), 2) for source in SPLIT}
    summary = {
        "method": s.method,
        "status": s.status,
        "objective": s.objective,
        "bound": s.bound,
        "gap": s.gap,
        "seconds": round(s.seconds, 3),
        "units": len(fleet.unit_ids),
        "planned": len(rows),
        "cost": round(sum(r["cost"] for r in rows), 2),
        "by_source": totals,
        "risk_avoided": float(c.benefit[chosen].sum()),
        "age_first_benefit": oldest.objective,
        "excluded": dict(options.excluded),
        "min_interval_years": options.min_interval_years,
    }
    ranked = list(retrofits or [])
    if options.retrofit_rate is not None:
        funded = s.chosen[s.chosen >= renewals]
        funded_retrofits(
            ranked, joint, s.chosen, units=len(fleet.unit_ids), renewals=renewals, options=options
        )
        served = sum(r["residents_served"] for r in ranked if r["year"] is not None)
        # Kept apart: what the retrofits add is residents served, never risk avoided.
        summary["retrofits"] = {
            "rate": options.retrofit_rate,
            "funded": int(funded.size),
            "residents_served": int(served),
            "value": float(joint.benefit[funded].sum()),
            "bond": round(float(joint.split["bond"][funded].sum()), 2),
        }
    return Plan(
        options=options,
        method=s.method,
        rows=rows,
        buildings=_buildings(fleet, rows, policy, options),
        trajectory=trajectory,
        scenarios=found,
        summary=summary,
        retrofits=ranked,
    )
