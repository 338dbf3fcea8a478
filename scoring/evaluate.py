"""Evaluation on a simulated fleet: the backtest of ``scoring.backtest`` run on a simulated history,
on several dates, with the simulator's ground truth as one more outcome.

The ground truth (CSV ``unit_id,date,condition,p_serious_12m,serious_12m``, one row per unit and
month) holds what liftwatch never sees: each unit's true probability of a serious failure (or a
failed inspection) in the 12 months from that date, and whether one happened. It is the outcome
``true_risk``: Spearman and lift against the true probability, ROC AUC and precision against
whether the event happened. The stored history gives the other outcomes exactly as on a real fleet.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import tuple_row

from core.errors import Invalid
from scoring.backtest import Backtest, backtest
from scoring.metrics import METRICS, Outcome
from scoring.policy import Policy

TRUE_RISK = "true_risk"


@dataclass(frozen=True)
class Truth:
    """The ground truth of one date, per unit."""

    p_serious: dict[str, float]
    serious: dict[str, int]


@dataclass(frozen=True)
class Evaluation:
    """Every method's figures averaged over the backtest dates (intervals of the average)."""

    dates: list[date]
    units: int
    outcomes: dict[str, dict[str, float]]
    results: list[dict[str, Any]]
    backtests: list[Backtest]


def read_truth(path: Path, *, day: date) -> Truth:
    """The ground-truth rows of one date (a 1st of the month) whose 12 months are known."""
    rows: list[dict[str, str]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["date"] == day.isoformat()]
    except FileNotFoundError:
        raise Invalid(f"no ground-truth file at {path}") from None
    except KeyError as exc:
        raise Invalid(
            f"{path} lacks the column {exc}; expected unit_id,date,p_serious_12m,serious_12m"
        ) from None
    rows = [r for r in rows if r["serious_12m"] != ""]
    if not rows:
        raise Invalid(f"{path} has no row dated {day} whose 12 months are known")
    return Truth(
        p_serious={r["unit_id"]: float(r["p_serious_12m"]) for r in rows},
        serious={r["unit_id"]: int(r["serious_12m"]) for r in rows},
    )


def truth_outcome(truth: Truth) -> Callable[[list[str]], dict[str, Outcome]]:
    """The ground truth as a backtest outcome for the scored units."""

    def outcome(unit_ids: list[str]) -> dict[str, Outcome]:
        missing = [u for u in unit_ids if u not in truth.p_serious]
        if missing:
            raise Invalid(f"{len(missing)} scored units lack a ground truth, e.g. {missing[0]}")
        return {
            TRUE_RISK: Outcome(
                value=np.array([truth.p_serious[u] for u in unit_ids]),
                event=np.array([truth.serious[u] > 0 for u in unit_ids]),
            )
        }

    return outcome


def month_end_dates(last: date, count: int, *, step_months: int = 3) -> list[date]:
    """``count`` backtest dates ``step_months`` apart, each the last day of a month, ending on or
    before ``last``: the ground truth is dated the next day, a 1st."""
    first_of = date(last.year, last.month, 1)
    if last != first_of + timedelta(days=_month_days(first_of) - 1):
        last = first_of - timedelta(days=1)
    out = []
    month = date(last.year, last.month, 1)
    for _ in range(count):
        out.append(month + timedelta(days=_month_days(month) - 1))
        year, m = divmod(month.month - 1 - step_months, 12)
        month = date(month.year + year, m + 1, 1)
    return sorted(out)


def _month_days(first: date) -> int:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (following - first).days


def joint_resampler(
    conn: psycopg.Connection[Any], *, bootstrap: int, seed: int
) -> Callable[[list[str]], list[np.ndarray]]:
    """Resamples of the register's units, drawn once, as positions in any list of unit ids (the
    units a date did not score are left out of that date's resamples)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT unit_id FROM unit ORDER BY unit_id")
        universe = [r[0] for r in cur]
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(universe), size=len(universe)) for _ in range(bootstrap)]

    def resample(unit_ids: list[str]) -> list[np.ndarray]:
        position = {u: i for i, u in enumerate(unit_ids)}
        where = np.array([position.get(u, -1) for u in universe], dtype=int)
        return [picked[picked >= 0] for picked in (where[d] for d in draws)]

    return resample


def evaluate(
    conn: psycopg.Connection[Any],
    *,
    ground_truth: Path,
    dates: list[date],
    policy: Policy,
    expected_life_years: float,
    horizon_months: int = 12,
    bootstrap: int = 200,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Backtest the stored simulated history on each date, the ground truth as an extra outcome,
    and average. Every date resamples the same units (a unit drawn twice counts twice on every
    date), so the averaged resamples give the interval of the average."""
    resample = joint_resampler(conn, bootstrap=bootstrap, seed=seed)
    runs = []
    for day in dates:
        truth = read_truth(ground_truth, day=day + timedelta(days=1))
        runs.append(
            backtest(
                conn,
                as_of=day,
                horizon_months=horizon_months,
                policy=policy,
                expected_life_years=expected_life_years,
                bootstrap=bootstrap,
                seed=seed,
                extra_outcomes=truth_outcome(truth),
                resample=resample,
                progress=progress,
            )
        )
    return Evaluation(
        dates=dates,
        units=round(float(np.mean([b.unit_count for b in runs]))),
        outcomes={
            name: {
                k: float(np.mean([b.outcomes[name][k] for b in runs])) for k in ("mean", "share")
            }
            for name in runs[0].outcomes
        },
        results=average(runs),
        backtests=runs,
    )


def averaged(runs: list[Backtest]) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Per method and outcome: the metrics averaged over backtests, and their resamples averaged
    (every backtest resampled the same units, so these are resamples of the average)."""
    out = {}
    for key in runs[0].replicates:
        point = np.mean(
            [
                [
                    next(r for r in b.results if (r["method"], r["outcome"]) == key)[m]["value"]
                    for m in METRICS
                ]
                for b in runs
            ],
            axis=0,
        )
        out[key] = (point, np.mean([b.replicates[key] for b in runs], axis=0))
    return out


def _interval(column: np.ndarray) -> tuple[float, float]:
    column = column[~np.isnan(column)]
    if not column.size:
        return float("nan"), float("nan")
    return float(np.percentile(column, 2.5)), float(np.percentile(column, 97.5))


def average(runs: list[Backtest]) -> list[dict[str, Any]]:
    """Each method's metrics averaged over backtests, with the 95% interval of the average."""
    rows = []
    for (method, outcome), (point, reps) in averaged(runs).items():
        row: dict[str, Any] = {"method": method, "outcome": outcome}
        for k, name in enumerate(METRICS):
            low, high = _interval(reps[:, k])
            row[name] = {"value": float(point[k]), "low": low, "high": high}
        rows.append(row)
    return rows


TABLE_COLUMNS = (
    ("faults", "spearman", "Spearman, faults"),
    ("faults", "lift_top10", "lift top 10%, faults"),
    ("serious", "roc_auc", "ROC AUC, serious"),
    (TRUE_RISK, "spearman", "Spearman, true risk"),
    (TRUE_RISK, "lift_top10", "lift top 10%, true risk"),
)


def table(results: list[dict[str, Any]]) -> str:
    """The headline figures as a Markdown table: value and 95% interval."""
    methods = list(dict.fromkeys(r["method"] for r in results))
    outcomes = {r["outcome"] for r in results}
    columns = [c for c in TABLE_COLUMNS if c[0] in outcomes]
    lines = [
        "| method | " + " | ".join(c[2] for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for method in methods:
        cells = []
        for outcome, metric, _ in columns:
            row = next(r for r in results if r["method"] == method and r["outcome"] == outcome)
            f = row[metric]
            cells.append(f"{f['value']:.2f} [{f['low']:.2f}, {f['high']:.2f}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def leads(evaluation: Evaluation, *, method: str = "pof") -> dict[str, dict[str, Any]]:
    """A method's lead over the best single-factor baseline on each headline figure, with the 95%
    interval of the paired difference (both judged on the same resamples)."""
    figures = averaged(evaluation.backtests)
    out = {}
    for outcome, metric, label in TABLE_COLUMNS:
        k = METRICS.index(metric)
        if (method, outcome) not in figures:
            continue
        baselines = {
            m: figures[(m, o)]
            for m, o in figures
            if o == outcome and m not in {"pof", "priority"} and not np.isnan(figures[(m, o)][0][k])
        }
        best = max(baselines, key=lambda m: baselines[m][0][k])
        ours = figures[(method, outcome)]
        low, high = _interval(ours[1][:, k] - baselines[best][1][:, k])
        out[label] = {
            "best": best,
            "value": float(ours[0][k] - baselines[best][0][k]),
            "low": low,
            "high": high,
        }
    return out
