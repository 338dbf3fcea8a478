"""The hidden degradation model's parameters: every number the simulator's truth depends on.

Each value is documented in docs/simulators.md. Nothing here is visible to liftwatch's scoring: it
sees only the register and the events these parameters produce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta, timezone

import numpy as np

from core.faultcodes import FAULT_CODES

TZ = timezone(timedelta(hours=8))
DAYS_PER_YEAR = 365.25

# Condition c = exp(-m * (A / ETA_YEARS) ** BETA): A is the effective age in years since installation
# or the last major renewal, m = manufacturer factor * usage factor * frailty.
ETA_YEARS = 28.0
BETA = 2.2

# Maintenance: visits due every 15 days. Each day past due, the unit ages faster.
VISIT_INTERVAL_DAYS = 15
OVERDUE_AGING = 0.25  # extra effective-age rate per 15 days overdue
OVERDUE_CAP = 4.0  # at most 4 * 15 days of overdue effect
HISTORY_MISS_AGING = 0.5  # history before the simulation: rate 1 + this * contractor miss rate

# Usage: trips per day relative to a nominal high-rise unit; scales condition hazard and fault rates.
NOMINAL_TRIPS_PER_DAY = 300.0
USAGE_EXPONENT = 0.5  # condition hazard grows with the square root of usage
USAGE_CLIP = (0.3, 3.0)

# Restoration: what is left of the effective age after each kind of work.
OVERHAUL_RESIDUAL = 0.25
REPAIR_RESIDUAL = 0.7  # repair of a unit stopped by a failed inspection
RENEWAL_DOWNTIME_DAYS = {"renewal": 60, "overhaul": 14}

# Periodic inspection: score = c + N(0, INSPECTION_NOISE); below FAIL_BELOW fails, below
# RECTIFY_BELOW passes after rectification, else passes.
INSPECTION_NOISE = 0.07
FAIL_BELOW = 0.28
RECTIFY_BELOW = 0.60
REPAIR_DELAY_DAYS = (14, 60)  # failed inspection -> repair visit
REINSPECTION_DELAY_DAYS = (2, 10)  # repair visit -> re-inspection
RENEWAL_WAIT_DAYS = 365  # a failed unit with renewal planned this soon stays stopped until it


@dataclass(frozen=True)
class CodeRate:
    """One equipment fault code: its rate for a new unit at nominal usage, its growth with wear, and
    how often it traps passengers."""

    code: str
    base_per_year: float
    wear: float
    p_entrapment: float


# Equipment codes of GB/T 24476 (core/faultcodes.py): rate = base * usage * exp(wear * (1 - c)).
EQUIPMENT_CODES: tuple[CodeRate, ...] = (
    CodeRate("01", 0.25, 3.0, 0.02),
    CodeRate("02", 0.60, 3.0, 0.0),
    CodeRate("03", 0.50, 3.0, 0.02),
    CodeRate("04", 0.02, 3.5, 0.5),
    CodeRate("05", 0.002, 4.5, 0.1),
    CodeRate("06", 0.03, 3.5, 0.2),
    CodeRate("07", 0.30, 2.5, 0.0),
    CodeRate("08", 0.05, 3.0, 0.1),
    CodeRate("91", 0.002, 4.5, 0.5),
    CodeRate("92", 0.002, 4.5, 0.5),
    CodeRate("93", 0.004, 3.5, 1.0),
    CodeRate("94", 0.002, 4.0, 1.0),
    CodeRate("95", 0.001, 4.5, 0.0),
    CodeRate("96", 0.001, 5.0, 0.3),
    CodeRate("97", 0.80, 2.5, 0.0),
)
# Codes whose records are themselves entrapments (困人) whatever the draw says.
ENTRAPMENT_CODES = frozenset({"93", "94"})
FAULT_MINUTES = {"minor": (5, 60), "major": (30, 240), "critical": (120, 1440)}

# External and misuse events, independent of condition: (rate per year, chance of entrapment).
POWER_CUTS_PER_BUILDING_YEAR = 1.2  # code 41, every unit of the building reports it
POWER_CUT_ENTRAPMENT = 0.08
POWER_CUT_MINUTES = (20, 240)
FIRE_RETURN_PER_BUILDING_YEAR = 0.03  # code 44 (alarm tests and false alarms)
MISUSE_PER_YEAR = {"98": (2.0, 0.03), "99": (0.5, 0.0)}  # scaled by usage factor
MISUSE_MINUTES = (1, 15)

# Status counters.
DOOR_CYCLES_PER_TRIP = 2.1
SECONDS_PER_TRIP = 40.0


def usage_factor(trips_per_day: float) -> float:
    """Usage relative to a nominal unit, clipped to a plausible range."""
    lo, hi = USAGE_CLIP
    return min(hi, max(lo, trips_per_day / NOMINAL_TRIPS_PER_DAY))


def condition(effective_age_years: float, multiplier: float) -> float:
    """Hidden health in [0, 1] (1 = as new) from effective age and the unit's hazard multiplier."""
    return math.exp(-multiplier * (max(effective_age_years, 0.0) / ETA_YEARS) ** BETA)


def p_inspection_fail(c: float) -> float:
    """Chance a periodic inspection of a unit in condition c fails."""
    return 0.5 * math.erfc((c - FAIL_BELOW) / (INSPECTION_NOISE * math.sqrt(2)))


def serious_rate_per_year(c: np.ndarray, usage: float) -> np.ndarray:
    """Rate of serious equipment failures (critical, or trapping passengers) in condition c."""
    wear = 1.0 - np.asarray(c, dtype=float)
    return np.asarray(usage * sum(base * np.exp(k * wear) for base, k in _SERIOUS_TERMS))


def _serious_share(rate: CodeRate) -> float:
    if rate.code in ENTRAPMENT_CODES or FAULT_CODES[rate.code].severity == "critical":
        return 1.0
    return rate.p_entrapment


_SERIOUS_TERMS = [
    (r.base_per_year * _serious_share(r), r.wear) for r in EQUIPMENT_CODES if _serious_share(r) > 0
]
