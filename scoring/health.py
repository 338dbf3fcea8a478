"""A transparent deterioration index in the spirit of CNAIM: health, probability and consequence of failure.

Health starts from age against expected life, ``H0 = min(5.5, 0.5 e^(b age))`` with
``b = ln(11) / expected life`` (busy units have a shorter expected life), and is multiplied by
condition modifiers (equipment faults, serious faults, entrapments, the failure trend, inspection
findings) and reliability modifiers (overdue inspection, missed maintenance). The probability of
failure follows the CNAIM cubic ``PoF = K (1 + CH + (CH)^2/2 + (CH)^3/6)``; the consequence of
failure grows with the households a unit serves, the floors they would climb, their elderly share,
and the lack of another elevator in the building. Risk = PoF x CoF.

Every modifier is kept, and the health it adds is attributed to it in proportion to its logarithm,
so the factors of a unit add up to its health.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.shrinkage import ShrunkRates

CONDITION_FACTORS = (
    "fault_rate",
    "fault_rate_1y",
    "fault_rate_90d",
    "fault_rate_history",
    "fault_rate_decayed",
    "serious_rate",
    "entrapments",
    "trend",
    "rectification",
    "inspection_result",
    "inspection_findings",
    "repeated_findings",
    "findings_load",
    "batch_failures",
    "failed_inspection",
    "recent_failed_inspection",
)
RELIABILITY_FACTORS = ("usage", "inspection_overdue", "missed_maintenance")
MODIFIERS = CONDITION_FACTORS + RELIABILITY_FACTORS
# Every term of the log-rate: age (log initial health) and each modifier's logarithm.
FACTORS = ("age", *MODIFIERS)


def prior_weights(policy: Mapping[str, Any]) -> dict[str, float]:
    """Each factor's weight under the policy alone: 1 unless the policy says otherwise (a factor
    with prior weight 0 counts only once the fleet's own history shows it matters)."""
    mods = policy["health"]["modifiers"]
    age = float(policy["health"].get("age_prior_weight", 1.0))
    return {"age": age, **{m: float(mods[m].get("prior_weight", 1.0)) for m in MODIFIERS}}


@dataclass
class HealthScores:
    """Health, PoF, CoF and risk per unit, and every factor behind them."""

    expected_life: np.ndarray
    duty: np.ndarray
    initial: np.ndarray
    modifiers: dict[str, np.ndarray]
    terms: dict[str, np.ndarray]
    weights: dict[str, float]
    contributions: dict[str, np.ndarray]
    collar: np.ndarray
    health: np.ndarray
    pof: np.ndarray
    consequence: dict[str, np.ndarray]
    cof: np.ndarray
    risk: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _clip_power(ratio: np.ndarray, spec: Mapping[str, Any]) -> np.ndarray:
    lo, hi = spec["bounds"]
    return np.clip(np.power(np.maximum(ratio, 1e-9), spec["exponent"]), lo, hi)


def _per_unit(count: np.ndarray, per: float, cap: float) -> np.ndarray:
    return np.minimum(1.0 + per * np.nan_to_num(count), cap)


def initial_health(age_years: np.ndarray, expected_life: np.ndarray, cap: float) -> np.ndarray:
    """CNAIM initial health: 0.5 when new, 5.5 at the end of the expected life."""
    b = np.log(11.0) / expected_life
    return np.minimum(cap, 0.5 * np.exp(b * np.maximum(age_years, 0.0)))


def soft_cap(health: np.ndarray, *, knee: float, top: float, scale: float) -> np.ndarray:
    """The index as is up to the knee, then bent toward the top on a log scale: a unit must be
    e^(scale * 3.4) times past the knee to read 9.9 of 10, so few units reach the top and those
    beyond the scale keep their order by condition."""
    over = np.log(np.maximum(health, knee) / knee)
    span = top - knee
    return np.where(health <= knee, health, knee + span * (1.0 - np.exp(-over / scale)))


def probability_of_failure(health: np.ndarray, *, k: float, c: float) -> np.ndarray:
    """CNAIM PoF curve (per year), capped at 1."""
    ch = c * health
    return np.minimum(k * (1.0 + ch + ch**2 / 2.0 + ch**3 / 6.0), 1.0)


def health_scores(
    cols: Mapping[str, np.ndarray],
    faults: ShrunkRates,
    serious: ShrunkRates,
    policy: Mapping[str, Any],
    *,
    expected_life_years: float,
    recent: Mapping[str, ShrunkRates],
    weights: Mapping[str, float] | None = None,
) -> HealthScores:
    """Score every unit from its feature columns and shrunk rates under a policy.

    Each factor's term is the logarithm of the policy's modifier (of initial health for age);
    a unit's log-index is the weighted sum of its terms. The policy's prior weights reproduce the
    CNAIM-style index; weights fitted on the fleet's own history (``scoring.learning``) replace
    them. ``recent`` holds the shrunk fault rates over 365 and 90 days.
    """
    h = policy["health"]
    mods = h["modifiers"]
    trips = cols["trips_per_day"]
    duty_ratio = np.where(np.isnan(trips), 1.0, trips / h["reference_trips_per_day"])
    duty = np.clip(np.power(np.maximum(duty_ratio, 1e-9), h["duty_exponent"]), *h["duty_bounds"])
    life = expected_life_years / duty
    h0 = initial_health(cols["age_years"], life, h["max_initial_health"])

    fleet_fault = _fleet_mean(faults.rate)
    fleet_serious = _fleet_mean(serious.rate)
    beta = cols["trend_beta"]
    trend_ok = (cols["trend_faults"] >= policy["features"]["trend_min_faults"]) & ~np.isnan(beta)
    spec_trend = mods["trend"]
    recent_fail = mods["recent_failed_inspection"]
    rect = mods["rectification"]
    ent = mods["entrapments"]
    miss = mods["missed_maintenance"]
    finds = mods["inspection_findings"]
    result = mods["inspection_result"]
    repeat = mods["repeated_findings"]
    load = mods["findings_load"]
    batch = mods["batch_failures"]
    fleet_1y = _fleet_mean(recent["fault_rate_1y"].rate)
    fleet_90d = _fleet_mean(recent["fault_rate_90d"].rate)
    fleet_history = _fleet_mean(recent["fault_rate_history"].rate)
    fleet_decayed = _fleet_mean(recent["fault_rate_decayed"].rate)
    base = {
        "fault_rate": _clip_power(faults.rate / fleet_fault, mods["fault_rate"]),
        "fault_rate_1y": _clip_power(
            recent["fault_rate_1y"].rate / fleet_1y, mods["fault_rate_1y"]
        ),
        "fault_rate_90d": _clip_power(
            recent["fault_rate_90d"].rate / fleet_90d, mods["fault_rate_90d"]
        ),
        "fault_rate_history": _clip_power(
            recent["fault_rate_history"].rate / fleet_history, mods["fault_rate_history"]
        ),
        "fault_rate_decayed": _clip_power(
            recent["fault_rate_decayed"].rate / fleet_decayed, mods["fault_rate_decayed"]
        ),
        "serious_rate": _clip_power(serious.rate / fleet_serious, mods["serious_rate"]),
        "entrapments": _per_unit(cols["entrapments_365d"], ent["per_event"], ent["max"]),
        "trend": np.where(
            trend_ok,
            np.clip(
                1.0 + spec_trend["per_beta"] * (np.nan_to_num(beta, nan=1.0) - 1.0),
                *spec_trend["bounds"],
            ),
            1.0,
        ),
        "rectification": _per_unit(cols["open_rectification"], rect["per_item"], rect["max"]),
        "inspection_result": np.select(
            [cols["last_periodic_result"] == 1, cols["last_periodic_result"] == 2],
            [result["pass_after_rectification"], result["fail"]],
            1.0,
        ),
        "inspection_findings": np.minimum(
            1.0
            + finds["per_item"] * np.nan_to_num(cols["last_defects"])
            + finds["per_serious_item"] * np.nan_to_num(cols["last_serious_defects"]),
            finds["max"],
        ),
        "findings_load": np.minimum(
            1.0
            + load["per_item"] * np.nan_to_num(cols["findings_decayed"])
            + load["per_serious_item"] * np.nan_to_num(cols["serious_findings_decayed"]),
            load["max"],
        ),
        # Batch-mates' failures stand in for a unit's own evidence: a unit that failed an
        # inspection itself is read by that failure, not also by its batch's (one cause, once).
        "batch_failures": np.where(
            cols["failed_inspections_3y"] > 0,
            1.0,
            np.minimum(
                1.0
                + batch["per_share"]
                * np.divide(
                    cols["batch_failed_peers"],
                    cols["batch_peers"],
                    out=np.zeros(len(cols["batch_peers"])),
                    where=cols["batch_peers"] > 0,
                ),
                batch["max"],
            ),
        ),
        "repeated_findings": np.where(
            cols["defect_inspections_3y"] >= repeat["min_inspections"],
            np.minimum(
                1.0 + repeat["per_inspection"] * cols["defect_inspections_3y"], repeat["max"]
            ),
            1.0,
        ),
        # A failed inspection not yet followed by a pass: the unit is stopped until it is
        # repaired and re-inspected, so what the failure says of the following months is learned
        # from the fleet's history like any other factor (no fixed floor under the index).
        "failed_inspection": np.where(
            cols["failed_inspection_open"] > 0, mods["failed_inspection"]["value"], 1.0
        ),
        "recent_failed_inspection": np.where(
            (cols["failed_inspections_3y"] > 0) & (cols["failed_inspection_open"] < 1),
            recent_fail["value"],
            1.0,
        ),
        "inspection_overdue": np.where(
            cols["inspection_overdue"] > 0, mods["inspection_overdue"]["value"], 1.0
        ),
        "missed_maintenance": _per_unit(cols["missed_maintenance"], miss["per_visit"], miss["max"]),
    }
    use = mods["usage"]
    base["usage"] = np.clip(np.power(np.maximum(duty_ratio, 1e-9), use["exponent"]), *use["bounds"])
    terms = {"age": np.log(h0), **{m: np.log(base[m]) for m in MODIFIERS}}
    w = dict(prior_weights(policy))
    w.update(weights or {})
    initial = np.exp(w["age"] * terms["age"])
    logs = {m: w[m] * terms[m] for m in MODIFIERS}
    modifiers = {m: np.exp(logs[m]) for m in MODIFIERS}
    total_log = np.sum(np.vstack(list(logs.values())), axis=0)
    lo, hi = h["bounds"]
    scale = float(h.get("cap_scale", 1.0))
    # The floor is reached smoothly (sqrt(x^2 + lo^2)), so units below it keep their order.
    raw = np.hypot(initial * np.exp(total_log), lo)
    failed = cols["failed_inspection_open"] > 0
    # An optional floor under the index of a unit with an open failed inspection (a CNAIM-style
    # collar; none by default).
    collar = h.get("failed_inspection_collar")
    health = soft_cap(
        np.where(failed, np.maximum(raw, collar), raw) if collar else raw,
        knee=h["knee"],
        top=hi,
        scale=scale,
    )

    # Shares of the log-product, scaled to the soft-capped index, so the factors add up to it.
    capped_raw = soft_cap(raw, knee=h["knee"], top=hi, scale=scale)
    added = capped_raw - initial
    with np.errstate(divide="ignore", invalid="ignore"):
        share = {m: np.where(total_log != 0, logs[m] / total_log, 0.0) for m in MODIFIERS}
    contributions = {"age": initial, **{m: added * share[m] for m in MODIFIERS}}

    pof = probability_of_failure(health, k=policy["pof"]["k"], c=policy["pof"]["c"])
    consequence = consequence_factors(cols, policy["consequence"])
    cof = np.prod(np.vstack(list(consequence.values())), axis=0)
    return HealthScores(
        expected_life=life,
        duty=duty,
        initial=initial,
        modifiers=modifiers,
        terms=terms,
        weights=w,
        contributions=contributions,
        collar=health - capped_raw,
        health=health,
        pof=pof,
        consequence=consequence,
        cof=cof,
        risk=pof * cof,
        extra={
            "fault_rate_ratio": faults.rate / fleet_fault,
            "serious_rate_ratio": serious.rate / fleet_serious,
            "fleet_fault_rate": np.full(len(health), fleet_fault),
            "fleet_serious_rate": np.full(len(health), fleet_serious),
            "elderly_assumed": np.full(
                len(health), policy["consequence"].get("elderly_unknown_share", 0.2)
            ),
        },
    )


def _fleet_mean(rates: np.ndarray) -> float:
    mean = float(np.nanmean(rates)) if len(rates) else 0.0
    return mean if mean > 0 else 1.0


def consequence_factors(
    cols: Mapping[str, np.ndarray], spec: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """The consequence-of-failure factors; their product is the CoF (1 for a typical unit)."""
    units = np.maximum(cols["units_in_building"], 1.0)
    served = np.nan_to_num(cols["households"]) / units
    elderly = np.nan_to_num(cols["elderly_share"], nan=spec.get("elderly_unknown_share", 0.2))
    others = cols["other_units_in_service"]
    red = spec["redundancy"]
    return {
        "households": np.clip(served / spec["reference_households"], *spec["households_bounds"]),
        "floors": np.clip(
            np.nan_to_num(cols["floors"], nan=6.0) / spec["reference_floors"],
            *spec["floors_bounds"],
        ),
        "elderly": 1.0 + spec["elderly_weight"] * elderly,
        "redundancy": np.where(
            others < 1, red["none"], np.where(others < 2, red["one"], red["more"])
        ),
    }
