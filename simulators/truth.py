"""Ground truth: for every unit on the 1st of every month, its hidden condition, the true probability
of a serious failure or a failed inspection in the next 12 months, and whether one happened.

A serious failure is an equipment-caused fault of severity critical, or an entrapment by an
equipment fault; a failed periodic inspection (or re-inspection) counts too.

The probability is exact under the hidden model. Only failed inspections change a unit's path
(stop, repair, re-inspection), and faults do not, so until the first failed inspection after the
date the realized path is the path of a history with no serious event; from a failed inspection
on, the path continues as if it had passed (planned renewals still apply). Along that path faults
are a Poisson process with the code rates, and inspections fail independently, so
P(none in 12 months) = exp(-integral of the serious rate) * product over inspections of (1 - p_fail).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import numpy as np

from simulators import params
from simulators.unitsim import FRESH_DAYS, UnitHistory

TRUTH_COLUMNS = ("unit_id", "date", "condition", "p_serious_12m", "serious_12m")


def month_starts(start: date, end: date) -> Iterator[date]:
    """The 1st of every month in [start, end)."""
    day = date(start.year, start.month, 1)
    if day < start:
        day = _next_month(day)
    while day < end:
        yield day
        day = _next_month(day)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def unit_truth(h: UnitHistory, start: date, end: date) -> list[dict[str, object]]:
    """The ground-truth rows of one unit."""
    n_days = (end - start).days
    cum = np.concatenate([[0.0], np.cumsum(h.aging_rate)]) / params.DAYS_PER_YEAR
    running = np.ones(h.effective_age.size, dtype=bool)
    for a, b in h.stops:
        running[a:b] = False
    failed_days = [d for d, failed in h.inspections if failed]
    serious = np.array(h.serious_days, dtype=int)
    rows: list[dict[str, object]] = []
    for day in month_starts(start, end):
        di = (day - start).days
        if di < h.active_from:
            continue
        we = di + (date(day.year + 1, day.month, 1) - day).days
        p = _p_serious(h, di, we, cum, running, failed_days)
        happened: int | None = None
        if we <= n_days:
            happened = int(bool(((serious >= di) & (serious < we)).any()))
        rows.append(
            {
                "unit_id": h.unit.unit_id,
                "date": day,
                "condition": float(h.condition(np.array([di]))[0]),
                "p_serious_12m": p,
                "serious_12m": happened,
            }
        )
    return rows


def _p_serious(
    h: UnitHistory,
    di: int,
    we: int,
    cum: np.ndarray,
    running: np.ndarray,
    failed_days: list[int],
) -> float:
    f = min((d for d in failed_days if di <= d < we), default=we)
    rate = (
        params.serious_rate_per_year(h.condition(slice(di, f)), h.usage * h.proneness)
        * running[di:f]
    )
    hazard = float(rate.sum()) / params.DAYS_PER_YEAR
    survive = 1.0
    for d, _ in h.inspections:
        if di <= d <= f and d < we and not _acceptance(h, d):
            survive *= 1.0 - params.p_inspection_fail(float(h.condition(np.array([d]))[0]))
    if f < we:
        hazard_after, survive_after = _continuation(h, f, we, cum)
        hazard += hazard_after
        survive *= survive_after
    return 1.0 - math.exp(-hazard) * survive


def _acceptance(h: UnitHistory, day: int) -> bool:
    return (day == h.active_from and h.active_from > 0) or any(d == day for d, _ in h.renewal_days)


def _continuation(h: UnitHistory, f: int, we: int, cum: np.ndarray) -> tuple[float, float]:
    """Serious hazard and inspection survival on days f+1 .. we-1 as if day f's inspection passed."""
    size = we - f - 1
    if size <= 0:
        return 0.0, 1.0
    ages = h.effective_age[f] + cum[f + 1 : we] - cum[f]  # index k is day f + 1 + k
    down = np.zeros(size, dtype=bool)
    renewed: list[int] = []
    for rd, kind in h.renewal_days:
        lo = rd - params.RENEWAL_DOWNTIME_DAYS[kind] - f - 1
        down[max(lo, 0) : max(min(rd - f - 1, size), 0)] = True
        if f < rd < we:
            k = rd - f - 1
            base = 0.0 if kind == "renewal" else float(ages[k]) * params.OVERHAUL_RESIDUAL
            ages[k:] = base + cum[rd:we] - cum[rd]
            renewed.append(rd)
    c = np.exp(-h.multiplier * (np.maximum(ages, 0.0) / params.ETA_YEARS) ** params.BETA)
    rate = params.serious_rate_per_year(c, h.usage * h.proneness)
    hazard = float((rate * ~down).sum()) / params.DAYS_PER_YEAR
    survive = 1.0
    for d in h.annual:
        if f < d < we and not down[d - f - 1] and not any(0 <= d - r < FRESH_DAYS for r in renewed):
            survive *= 1.0 - params.p_inspection_fail(float(c[d - f - 1]))
    return hazard, survive
