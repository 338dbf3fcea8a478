"""Learning the condition model's weights from the fleet's own history, as of a scoring date.

At a scoring date T the fleet is read as it stood at T-24, T-21, T-18, T-15 and T-12 months
(snapshots), and each snapshot is paired with the equipment faults of the 12 months that followed
it: every outcome ends by T, so nothing after T is read. Snapshots from before the fleet's first
recorded event are left out (every unit looks spotless before records begin). A Poisson GLM
(``scoring.glm``) then weighs each factor of the index, pulled toward the policy's prior weights
with a strength in pseudo-events; a fleet with too little history keeps the prior.

Large fleets learn on a share of their buildings of about ``learning.sample_units`` units: five
snapshots of them (ten thousand unit-years) determine a dozen weights well, and learning stays a
small part of the run instead of scoring the whole fleet five more times.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as day_start
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.rows import tuple_row

from scoring.features import sample_unit_ids
from scoring.glm import FittedWeights, fit_poisson
from scoring.health import FACTORS, prior_weights
from scoring.policy import Policy
from scoring.run import compute_scores, first_event_day

CST = ZoneInfo("Asia/Shanghai")

OUTCOME_SQL = """
SELECT e.unit_id, count(*) AS faults,
       count(*) FILTER (WHERE e.severity = 'critical' OR e.entrapment) AS serious
FROM fault_event e
WHERE e.cause = 'equipment' AND e.occurred_at >= %(lo)s AND e.occurred_at < %(hi)s
  AND e.unit_id = ANY(%(ids)s)
GROUP BY e.unit_id
"""


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), the month's last day when it is shorter."""
    year, month = divmod(day.month - 1 + months, 12)
    first = date(day.year + year, month + 1, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.replace(day=min(day.day, (following - timedelta(days=1)).day))


def snapshot_days(*, as_of: date, spec: dict[str, Any]) -> list[date]:
    """T-24m, T-21m, ... T-12m by default: every snapshot's 12-month outcome ends by T."""
    first = int(spec.get("first_months_back", 24))
    step = int(spec.get("step_months", 3))
    horizon = int(spec.get("horizon_months", 12))
    return [add_months(as_of, -m) for m in range(first, horizon - 1, -step)]


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), day_start(), CST)


def _outcomes(
    conn: psycopg.Connection[Any], *, day: date, months: int, units: list[str]
) -> dict[str, tuple[int, int]]:
    """Each sampled unit's equipment faults, and serious ones, in the months after ``day``
    (read through the unit index: the sample is a small share of the fleet)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            OUTCOME_SQL,
            {
                "lo": _end_of(day),
                "hi": _end_of(add_months(day, months)),
                "ids": units,
            },
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in cur}


def learn(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    progress: Callable[[str], None] | None = None,
) -> FittedWeights | None:
    """The weights fitted on history known at ``as_of``, or None when it is too short to learn."""
    spec = dict(policy.params.get("learning") or {})
    if not spec.get("enabled", True):
        return None
    say = progress or (lambda _msg: None)
    first = first_event_day(conn)
    days = [d for d in snapshot_days(as_of=as_of, spec=spec) if first is not None and d >= first]
    if not days:
        say("learning: no 12-month window after the first event yet; policy weights kept")
        return None
    with conn.cursor(row_factory=tuple_row) as cur:
        count = cur.execute("SELECT count(*) FROM unit").fetchone()
    units = int(count[0]) if count else 0
    parts = max(1, math.ceil(units / int(spec.get("sample_units", 4_000))))
    months = int(spec.get("horizon_months", 12))
    started = time.perf_counter()
    terms, faults, serious = [], [], []
    sampled = sample_unit_ids(conn, 0, parts)
    for day in days:
        scored = compute_scores(
            conn,
            as_of=day,
            policy=policy,
            expected_life_years=expected_life_years,
            sample_units=sampled,
            records_from=first,
        )
        happened = _outcomes(conn, day=day, months=months, units=sampled)
        # Units out of service at the snapshot could not fail in use: they teach nothing.
        keep = scored.columns["in_service"] > 0
        hs = scored.health
        terms.append(np.column_stack([hs.terms[k] for k in FACTORS])[keep])
        ids = np.asarray(scored.features.unit_ids, dtype=object)[keep]
        faults.append(np.array([happened.get(u, (0, 0))[0] for u in ids], dtype=float))
        serious.append(np.array([happened.get(u, (0, 0))[1] for u in ids], dtype=float))
    z = np.vstack(terms)
    y = np.concatenate(faults)
    min_events = float(spec.get("min_events", 30))
    if y.sum() < min_events:
        say(
            f"learning: {y.sum():.0f} faults in the training windows (< {min_events:.0f}); "
            "policy weights kept"
        )
        return None
    prior = prior_weights(policy.params)
    strength = float(spec.get("prior_strength", 200.0))
    fitted = fit_poisson(z, y, names=FACTORS, prior=prior, strength=strength)
    grave = fit_poisson(z, np.concatenate(serious), names=FACTORS, prior=prior, strength=strength)
    window = {
        "snapshots": [d.isoformat() for d in days],
        "outcome_months": months,
        "first_event": first.isoformat() if first else None,
        "sampled_buildings": f"1/{parts}",
        "seconds": round(time.perf_counter() - started, 3),
    }
    serious_json = {k: v for k, v in grave.as_json().items() if k in ("events", "factors")}
    say(
        f"learning: fitted on {len(y)} unit-snapshots ({y.sum():.0f} faults) from "
        f"{days[0]} to {days[-1]}"
    )
    return FittedWeights(
        weights=fitted.weights,
        low=fitted.low,
        high=fitted.high,
        prior=fitted.prior,
        intercept=fitted.intercept,
        rows=fitted.rows,
        events=fitted.events,
        strength=strength,
        dispersion=fitted.dispersion,
        window=window,
        serious=serious_json,
    )
