"""Training the learned model on stored history, split by time.

Snapshots are taken every few months: the features as of each snapshot date, and whether a serious
failure (an equipment fault that is critical or traps passengers) or a failed inspection followed
within 12 months. Only snapshots whose 12-month outcome is known by the training date are used, and
the latest of them calibrate the model, so nothing from the future leaks into the past.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import tuple_row

from scoring.model import FailureModel, design_matrix
from scoring.policy import Policy
from scoring.run import compute_scores, first_event_day

HORIZON_DAYS = 365

OUTCOME_SQL = """
WITH w AS (
    SELECT (%(start)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AS lo,
           (%(end)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AS hi
)
SELECT unit_id FROM fault_event, w
WHERE occurred_at >= w.lo AND occurred_at < w.hi
  AND cause = 'equipment' AND (severity = 'critical' OR entrapment)
UNION
SELECT unit_id FROM inspection_event, w
WHERE occurred_at >= w.lo AND occurred_at < w.hi AND result = 'fail'
"""


def outcomes(conn: psycopg.Connection[Any], *, start: date, end: date) -> set[str]:
    """Units with a serious failure or a failed inspection after ``start`` up to ``end``."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(OUTCOME_SQL, {"start": start, "end": end})
        return {row[0] for row in cur.fetchall()}


def snapshot_dates(*, as_of: date, years: float, step_days: int) -> list[date]:
    """Snapshot dates whose 12-month outcome is known on ``as_of``, oldest first."""
    last = as_of - timedelta(days=HORIZON_DAYS)
    count = max(1, int(years * 365 // step_days))
    return sorted(last - timedelta(days=k * step_days) for k in range(count))


def usable_snapshot_dates(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    years: float,
    step_days: int,
    progress: Callable[[str], None] | None = None,
) -> list[date]:
    """Snapshot dates on or after the fleet's first event; the ones before it are dropped and said.

    Before the first event every unit looks spotless, not because it was but because nothing was
    recorded yet: learning from those snapshots would teach that a clean record means nothing.
    """
    days = snapshot_dates(as_of=as_of, years=years, step_days=step_days)
    first = first_event_day(conn)
    kept = [d for d in days if first is not None and d >= first]
    dropped = len(days) - len(kept)
    if dropped and progress:
        since = "no events on record" if first is None else f"the first event is on {first}"
        progress(
            f"warning: {dropped} of {len(days)} snapshots are before the history starts "
            f"({since}); they are left out"
        )
    return kept


def training_set(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    years: float = 3.0,
    step_days: int = 91,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature matrix, outcome and snapshot time (days) for every unit at every snapshot."""
    xs, ys, ts = [], [], []
    days = usable_snapshot_dates(
        conn, as_of=as_of, years=years, step_days=step_days, progress=progress
    )
    if not days:
        raise ValueError(
            "cannot train: the history holds no 12-month window after its first event; "
            "train later or on a date with more history"
        )
    for day in days:
        scored = compute_scores(
            conn, as_of=day, policy=policy, expected_life_years=expected_life_years
        )
        happened = outcomes(conn, start=day, end=day + timedelta(days=HORIZON_DAYS))
        xs.append(design_matrix(scored.columns))
        ys.append(np.array([u in happened for u in scored.features.unit_ids], dtype=int))
        ts.append(np.full(len(scored.features), day.toordinal()))
        if progress:
            progress(
                f"snapshot {day}: {len(scored.features)} units, {int(ys[-1].sum())} with an event"
            )
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ts)


def train_model(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    years: float = 3.0,
    step_days: int = 91,
    progress: Callable[[str], None] | None = None,
) -> tuple[FailureModel, dict[str, Any]]:
    """Fit and calibrate the model on history known by ``as_of``; returns it with fit facts."""
    X, y, t = training_set(  # noqa: N806
        conn,
        as_of=as_of,
        policy=policy,
        expected_life_years=expected_life_years,
        years=years,
        step_days=step_days,
        progress=progress,
    )
    if len(np.unique(y)) < 2:
        raise ValueError(
            "the history has no (or only) events in its 12-month windows; cannot train"
        )
    model = FailureModel().fit(X, y, sample_time=t)
    facts = {"rows": len(y), "positives": int(y.sum()), "snapshots": len(np.unique(t))}
    return model, facts
