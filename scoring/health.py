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
    "serious_rate",
    "entrapments",
    "trend",
    "rectification",
    "inspection_result",
    "inspection_findings",
    "repeated_findings",
    "recent_failed_inspection",
)
RELIABILITY_FACTORS = ("usage", "inspection_overdue", "missed_maintenance")
MODIFIERS = CONDITION_FACTORS + RELIABILITY_FACTORS


@dataclass
class HealthScores:
    """Health, PoF, CoF and risk per unit, and every factor behind them."""

    expected_life: np.ndarray
    duty: np.ndarray
    initial: np.ndarray
    modifiers: dict[str, np.ndarray]
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


def soft_cap(health: np.ndarray, *, knee: float, top: float) -> np.ndarray:
    """Health as is up to the knee, then bent smoothly toward the top: units past the scale keep
    their order instead of all reading 10."""
    over = np.maximum(health - knee, 0.0)
    span = top - knee
    return np.where(health <= knee, health, knee + span * (1.0 - np.exp(-over / span)))


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
) -> HealthScores:
    """Score every unit from its feature columns and shrunk rates under a policy."""
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
    modifiers = {
        "fault_rate": _clip_power(faults.rate / fleet_fault, mods["fault_rate"]),
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
        "repeated_findings": np.where(
            cols["defect_inspections_3y"] >= repeat["min_inspections"],
            np.minimum(
                1.0 + repeat["per_inspection"] * cols["defect_inspections_3y"], repeat["max"]
            ),
            1.0,
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
    modifiers["usage"] = np.clip(
        np.power(np.maximum(duty_ratio, 1e-9), use["exponent"]), *use["bounds"]
    )
    product = np.prod(np.vstack([modifiers[m] for m in MODIFIERS]), axis=0)
    lo, hi = h["bounds"]
    raw = np.maximum(h0 * product, lo)
    failed = cols["failed_inspection_open"] > 0
    health = soft_cap(
        np.where(failed, np.maximum(raw, h["failed_inspection_collar"]), raw),
        knee=h["knee"],
        top=hi,
    )

    logs = {m: np.log(modifiers[m]) for m in MODIFIERS}
    total_log = np.sum(np.vstack(list(logs.values())), axis=0)
    # Shares of the log-product, scaled to the soft-capped health, so the factors add up to it.
    capped_raw = soft_cap(raw, knee=h["knee"], top=hi)
    added = capped_raw - h0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = {m: np.where(total_log != 0, logs[m] / total_log, 0.0) for m in MODIFIERS}
    contributions = {"age": h0, **{m: added * share[m] for m in MODIFIERS}}

    pof = probability_of_failure(health, k=policy["pof"]["k"], c=policy["pof"]["c"])
    consequence = consequence_factors(cols, policy["consequence"])
    cof = np.prod(np.vstack(list(consequence.values())), axis=0)
    return HealthScores(
        expected_life=life,
        duty=duty,
        initial=h0,
        modifiers=modifiers,
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
