"""Backtest: how good the ranking is on the fleet's own stored history.

The fleet is scored as of a date T by the one scoring entry point (``scoring.run``), inside a
transaction that is rolled back, so the backtest leaves no score run behind and the ranking users
see is untouched. Scoring as of T reads only events before the end of T (China time). What happened
in the following months (equipment faults, and serious ones: entrapments or critical faults) is then
read from the same store and compared with liftwatch's two orders (likelihood of failure and
priority) and with single-factor orders a bureau could make without liftwatch. Every figure comes
with a bootstrap interval over units.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.rows import tuple_row

from core.errors import Invalid
from scoring.metrics import Outcome, assess
from scoring.policy import Policy
from scoring.run import run as scoring_run

CST = ZoneInfo("Asia/Shanghai")
METHODS = ("pof", "priority", "fault_rate_1y", "fault_rate_3y", "age", "last_inspection", "random")
OUTCOMES = ("faults", "serious")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Backtest:
    """One backtest's figures: per method and outcome, each metric's value and interval."""

    as_of: date
    horizon_months: int
    unit_count: int
    bootstrap: int
    policy_version: str
    policy_hash: str
    outcomes: dict[str, dict[str, float]]
    results: list[dict[str, Any]]
    replicates: dict[tuple[str, str], np.ndarray]


def parse_horizon(text: str) -> int:
    """A horizon such as ``12m``, ``18m`` or ``1y``, in months."""
    found = re.fullmatch(r"\s*(\d{1,3})\s*([my])\s*", text.lower())
    if not found or int(found.group(1)) == 0:
        raise Invalid(f"expected a horizon such as 12m or 1y, got {text!r}")
    count = int(found.group(1))
    return count * 12 if found.group(2) == "y" else count


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    first = date(day.year + year, month + 1, 1)
    last = (date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def end_of(day: date) -> datetime:
    """The end of a day in China time: the instant the scoring of that day stops reading."""
    return datetime.combine(day + timedelta(days=1), time(), CST)


def history_end(conn: psycopg.Connection[Any]) -> date | None:
    """The last day (China time) on which a fault is stored, or None for an empty store."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT (max(occurred_at) AT TIME ZONE 'Asia/Shanghai')::date FROM fault_event")
        row = cur.fetchone()
    return None if row is None else row[0]


def default_as_of(conn: psycopg.Connection[Any], *, horizon_months: int) -> date:
    """The latest date whose whole horizon is stored: the history's end minus the horizon."""
    last = history_end(conn)
    if last is None:
        raise Invalid("no fault is stored yet: a backtest needs the fleet's history")
    return add_months(last, -horizon_months)


def liftwatch_orders(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Score the fleet as of a date with ``scoring.run`` and return its PoF and priority orders;
    the run is rolled back, so nothing is stored."""
    with conn.transaction(force_rollback=True), conn.cursor(row_factory=tuple_row) as cur:
        run_id = scoring_run(
            conn,
            as_of=as_of,
            policy=policy,
            expected_life_years=expected_life_years,
            note="backtest",
        )
        cur.execute(
            "SELECT unit_id, pof, risk FROM unit_score WHERE run_id = %s ORDER BY unit_id",
            (run_id,),
        )
        rows = cur.fetchall()
    ids = [r[0] for r in rows]
    return ids, {
        "pof": np.array([r[1] for r in rows], dtype=float),
        "priority": np.array([r[2] for r in rows], dtype=float),
    }


_BASELINES = """
SELECT u.unit_id,
       %(d)s - u.installed_on AS days_in_service,
       %(d)s - greatest(
           u.installed_on,
           CASE WHEN u.renewed_on <= %(d)s THEN u.renewed_on END,
           (SELECT max(r.renewed_on) FROM unit_renewal r
            WHERE r.unit_id = u.unit_id AND r.renewed_on <= %(d)s)) AS age_days,
       count(f.event_id) FILTER (WHERE f.occurred_at >= %(t)s - interval '365 days') AS faults_1y,
       count(f.event_id) AS faults_3y,
       CASE li.result WHEN 'fail' THEN 2 WHEN 'pass_after_rectification' THEN 1 ELSE 0 END
           AS verdict,
       li.defects
FROM unit u
LEFT JOIN fault_event f
       ON f.unit_id = u.unit_id AND f.cause = 'equipment'
      AND f.occurred_at >= %(t)s - interval '1095 days' AND f.occurred_at < %(t)s
LEFT JOIN LATERAL (
    SELECT i.result, jsonb_array_length(i.defects) AS defects
    FROM inspection_event i
    WHERE i.unit_id = u.unit_id AND i.occurred_at < %(t)s AND NOT i.reinspection
    ORDER BY i.occurred_at DESC LIMIT 1) li ON TRUE
WHERE u.unit_id = ANY(%(ids)s)
GROUP BY u.unit_id, u.installed_on, u.renewed_on, li.result, li.defects
ORDER BY u.unit_id
"""


def baseline_orders(
    conn: psycopg.Connection[Any], *, unit_ids: list[str], as_of: date, seed: int
) -> dict[str, np.ndarray]:
    """Single-factor orders from what was known by the end of ``as_of``, and a random one."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_BASELINES, {"d": as_of, "t": end_of(as_of), "ids": unit_ids})
        rows = {r[0]: r[1:] for r in cur}
    missing = [u for u in unit_ids if u not in rows]
    if missing:
        raise Invalid(f"{len(missing)} scored units are not in the register, e.g. {missing[0]}")
    served, age, f1, f3, verdict, defects = (
        np.array([rows[u][k] if rows[u][k] is not None else np.nan for u in unit_ids], dtype=float)
        for k in range(6)
    )
    served = np.maximum(served, 1.0)
    # A unit in service for less than the window is judged on the time it served.
    return {
        "fault_rate_1y": f1 / np.minimum(served, 365.0),
        "fault_rate_3y": f3 / np.minimum(served, 1095.0),
        "age": age / 365.25,
        # Fail > passed after rectification > pass, more findings first within a verdict; a unit
        # never inspected sorts last.
        "last_inspection": np.where(
            np.isnan(defects), -np.inf, verdict * 100 + np.nan_to_num(defects)
        ),
        "random": np.random.default_rng(seed).random(len(unit_ids)),
    }


_OUTCOMES = """
SELECT u.unit_id,
       count(f.event_id) AS faults,
       count(f.event_id) FILTER (WHERE f.entrapment OR f.severity = 'critical') AS serious
FROM unit u
LEFT JOIN fault_event f
       ON f.unit_id = u.unit_id AND f.cause = 'equipment'
      AND f.occurred_at >= %(t)s AND f.occurred_at < %(t_end)s
WHERE u.unit_id = ANY(%(ids)s)
GROUP BY u.unit_id
ORDER BY u.unit_id
"""


def observed_outcomes(
    conn: psycopg.Connection[Any], *, unit_ids: list[str], as_of: date, horizon_months: int
) -> dict[str, Outcome]:
    """Equipment faults, and serious ones, of each unit in the horizon after ``as_of``."""
    params = {
        "t": end_of(as_of),
        "t_end": end_of(add_months(as_of, horizon_months)),
        "ids": unit_ids,
    }
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(_OUTCOMES, params)
        rows = {r[0]: r[1:] for r in cur}
    faults = np.array([rows[u][0] for u in unit_ids], dtype=float)
    serious = np.array([rows[u][1] for u in unit_ids], dtype=float)
    return {
        "faults": Outcome(value=faults, event=faults > 0),
        "serious": Outcome(value=serious, event=serious > 0),
    }


def backtest(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    horizon_months: int,
    policy: Policy,
    expected_life_years: float,
    bootstrap: int = 200,
    seed: int = 0,
    extra_outcomes: Callable[[list[str]], dict[str, Outcome]] | None = None,
    resample: Callable[[list[str]], list[np.ndarray]] | None = None,
    progress: Progress | None = None,
) -> Backtest:
    """Score as of a date, read what happened in the horizon after it, and compare the orders.

    ``extra_outcomes`` adds outcomes for the scored units (the simulator's truth); ``resample``
    gives the bootstrap's resamples of them (positions in the list of unit ids), so backtests on
    several dates can resample the same units."""
    say = progress or (lambda _msg: None)
    last = history_end(conn)
    horizon_end = add_months(as_of, horizon_months)
    if last is None or last < horizon_end:
        raise Invalid(
            f"the stored history ends on {last or 'no day'}, before the horizon ends "
            f"({horizon_end}): choose an --as-of on or before "
            f"{add_months(last, -horizon_months) if last else 'a day with history after it'}"
        )
    say(f"scoring as of {as_of} with policy {policy.version} (rolled back, nothing stored)")
    ids, orders = liftwatch_orders(
        conn, as_of=as_of, policy=policy, expected_life_years=expected_life_years
    )
    if len(ids) < 20:
        raise Invalid(f"only {len(ids)} units were in service on {as_of}: too few to judge")
    orders.update(baseline_orders(conn, unit_ids=ids, as_of=as_of, seed=seed))
    outcomes = observed_outcomes(conn, unit_ids=ids, as_of=as_of, horizon_months=horizon_months)
    if extra_outcomes is not None:
        outcomes.update(extra_outcomes(ids))
    say(
        f"comparing {len(orders)} orders of {len(ids)} units with {as_of} .. {horizon_end} "
        f"({bootstrap} bootstrap samples)"
    )
    samples = resample(ids) if resample is not None else None
    figures = assess(
        orders, outcomes, bootstrap=bootstrap, seed=seed, samples=samples, progress=say
    )
    results = [
        {
            "method": method,
            "outcome": outcome,
            **{k: {"value": v[0], "low": v[1], "high": v[2]} for k, v in f.summary().items()},
        }
        for (method, outcome), f in figures.items()
    ]
    return Backtest(
        as_of=as_of,
        horizon_months=horizon_months,
        unit_count=len(ids),
        bootstrap=bootstrap if samples is None else len(samples),
        policy_version=policy.version,
        policy_hash=policy.hash,
        outcomes={
            name: {"mean": float(o.value.mean()), "share": float(o.event.mean())}
            for name, o in outcomes.items()
        },
        results=results,
        replicates={key: f.replicates for key, f in figures.items()},
    )
