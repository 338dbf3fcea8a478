"""Retrofits chosen beside renewals, when the user states the exchange rate between them.

From 2026 a walk-up's added elevator and a unit's renewal draw their subsidies from the same bond
pot. The planner cannot weigh residents served against risk avoided by itself; given a rate ("one
resident served counts as X of risk avoided", discounted from the year the elevator is added like
the risk is), each ranked walk-up enters the problem as a building of one pseudo-unit whose
candidates are its retrofit in each plan year, drawing its subsidy on that year's bond budget. Every
solver then chooses both together. The plan reports them apart: the renewals' risk avoided, and the
retrofits' residents served with the value the rate gave them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from core.errors import Invalid
from planning.funding import Budgets, FundingPolicy
from planning.model import PAYERS, Candidates, Fleet, Options


def check_joint(policy: FundingPolicy, options: Options) -> None:
    """Choosing retrofits beside renewals needs a policy whose retrofit subsidy shares the pot."""
    if options.retrofit_rate is None:
        return
    if policy.retrofit is None or not policy.retrofit.from_bond_pot:
        raise Invalid(
            "a retrofit exchange rate needs a funding policy whose retrofit subsidy is paid from "
            "the bond pot (retrofit.from_bond_pot, as in examples/funding/national-2026.yaml)"
        )


def with_retrofits(
    fleet: Fleet, c: Candidates, retrofits: list[dict[str, Any]], *, options: Options
) -> tuple[Fleet, Candidates]:
    """The fleet and candidates with each subsidized walk-up as a one-unit building whose
    candidates are its retrofit in the first period of each plan year."""
    assert options.retrofit_rate is not None
    walkups = [r for r in retrofits if r["subsidy"] > 0]
    k = len(walkups)
    if k == 0:
        return fleet, c
    n, nb = len(fleet.unit_ids), len(fleet.building_ids)
    zeros, nans = np.zeros(k), np.full(k, np.nan)
    x = replace(
        fleet,
        building_ids=fleet.building_ids + [f"retrofit:{r['building_id']}" for r in walkups],
        building_names=fleet.building_names + [r["building_id"] for r in walkups],
        street_office_ids=fleet.street_office_ids + [r["street_office_id"] for r in walkups],
        district_ids=fleet.district_ids + [r["district_id"] for r in walkups],
        households=np.concatenate([fleet.households, zeros]),
        elderly_share=np.concatenate([fleet.elderly_share, zeros]),
        fund_balance=np.concatenate([fleet.fund_balance, zeros]),
        fund_vote_on=fleet.fund_vote_on + [None] * k,
        collection_rate=np.concatenate([fleet.collection_rate, nans]),
        collection_expected_on=fleet.collection_expected_on + [None] * k,
        floor_area=np.concatenate([fleet.floor_area, nans]),
        unit_ids=fleet.unit_ids + [f"retrofit:{r['building_id']}" for r in walkups],
        unit_building=np.concatenate([fleet.unit_building, nb + np.arange(k)]),
        pof=np.concatenate([fleet.pof, zeros]),
        cof=np.concatenate([fleet.cof, zeros]),
        stopped=np.concatenate([fleet.stopped, np.zeros(k, dtype=bool)]),
        age_years=np.concatenate([fleet.age_years, zeros]),
        stops=np.concatenate([fleet.stops, nans]),
        speed_mps=np.concatenate([fleet.speed_mps, nans]),
        assessment_action=fleet.assessment_action + [None] * k,
        assessment_on=fleet.assessment_on + [None] * k,
    )
    per_year = 12 // options.period_months
    years = np.repeat(np.arange(options.years), k)
    which = np.tile(np.arange(k), options.years)
    cost = np.array([float(r["cost"]) for r in walkups])[which]
    subsidy = np.array([float(r["subsidy"]) for r in walkups])[which]
    served = np.array([float(r["residents_served"]) for r in walkups])[which]
    value = options.retrofit_rate * served * (1 + options.discount_rate) ** -years.astype(float)
    size = which.size
    # The owners (or whoever builds it) pay the rest; no budget row and no limit here.
    split = {source: np.concatenate([c.split[source], np.zeros(size)]) for source in c.split}
    split["bond"][c.unit.size :] = subsidy
    split["owners"][c.unit.size :] = cost - subsidy
    joint = Candidates(
        unit=np.concatenate([c.unit, n + which]),
        period=np.concatenate([c.period, years * per_year]),
        year=np.concatenate([c.year, years]),
        action=np.concatenate([c.action, np.zeros(size, dtype=int)]),
        payer=np.concatenate([c.payer, np.full(size, PAYERS.index("owners"))]),
        cost=np.concatenate([c.cost, cost]),
        split=split,
        benefit=np.concatenate([c.benefit, value]),
        tiebreak=np.concatenate([c.tiebreak, np.zeros(size)]),
        mandatory_units=c.mandatory_units,
        owners_capacity=np.concatenate([c.owners_capacity, np.full(k, np.inf)]),
        parent=None if c.parent is None else np.concatenate([c.parent, np.full(size, -1)]),
    )
    return x, joint


def funded_retrofits(
    retrofits: list[dict[str, Any]],
    joint: Candidates,
    chosen: np.ndarray,
    *,
    units: int,
    renewals: int,
    options: Options,
) -> None:
    """Set each chosen walk-up's ``year`` from the joint solution (``units``: the fleet's units;
    ``renewals``: how many of the joint candidates are renewals, the walk-ups' come after)."""
    walkups = [r for r in retrofits if r["subsidy"] > 0]
    n = units
    for i in chosen[chosen >= renewals].tolist():
        r = walkups[int(joint.unit[i]) - n]
        r["year"] = options.period_start(int(joint.period[i])).year


def fund_from_leftover(
    retrofits: list[dict[str, Any]],
    *,
    rows: list[dict[str, Any]],
    budgets: Budgets,
    options: Options,
    policy: FundingPolicy,
) -> None:
    """Without an exchange rate: give the bond money the renewal plan leaves each year to
    retrofits in order of need per yuan of subsidy, setting each funded one's ``year``. Renewals
    keep priority: a retrofit never displaces a planned renewal."""
    if policy.retrofit is None or not policy.retrofit.from_bond_pot:
        return
    left = list(budgets.amounts["bond"][: options.years])
    for r in rows:
        left[(r["period"] - 1) * options.period_months // 12] -= r["bond"]
    per_year = 12 // options.period_months
    for r in sorted(retrofits, key=lambda r: -r["need"] / max(r["subsidy"], 1.0)):
        for y in range(options.years):
            if r["subsidy"] > 0 and left[y] >= r["subsidy"]:
                left[y] -= r["subsidy"]
                r["year"] = options.period_start(y * per_year).year
                break
