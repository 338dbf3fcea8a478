"""How well a ranking orders units by their true risk: a backtest against a simulator's ground truth.

The ground truth (CSV ``unit_id,date,condition,p_serious_12m,serious_12m``, one row per unit and
month) holds what liftwatch never sees: each unit's true probability of a serious failure in the
next 12 months and whether one happened. liftwatch scores the units as of a date from the stored
events alone; the metrics compare that order with the truth on the same date, next to single-factor
baselines and a random order.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from scipy import stats
from sklearn.metrics import roc_auc_score

from core.errors import Invalid
from scoring.policy import Policy
from scoring.run import score

TOP_FRACTIONS = (0.05, 0.10)


@dataclass(frozen=True)
class Truth:
    """The ground truth of one date, per unit."""

    p_serious: dict[str, float]
    serious: dict[str, int]


@dataclass(frozen=True)
class Evaluation:
    """Metrics of every method, averaged over the as-of dates, and each date's own."""

    dates: list[date]
    units: int
    base_rate: float
    rows: list[dict[str, Any]]
    per_date: dict[str, list[dict[str, Any]]]


def read_truth(path: Path, *, as_of: date) -> Truth:
    """The ground-truth rows of the latest date on or before ``as_of``."""
    by_day: dict[str, list[dict[str, str]]] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["date"] <= as_of.isoformat():
                    by_day.setdefault(row["date"], []).append(row)
    except FileNotFoundError:
        raise Invalid(f"no ground-truth file at {path}") from None
    except KeyError as exc:
        raise Invalid(
            f"{path} lacks the column {exc}; expected unit_id,date,p_serious_12m,serious_12m"
        ) from None
    if not by_day:
        raise Invalid(f"{path} has no rows on or before {as_of}")
    rows = by_day[max(by_day)]
    return Truth(
        p_serious={r["unit_id"]: float(r["p_serious_12m"]) for r in rows},
        serious={r["unit_id"]: int(r["serious_12m"]) for r in rows},
    )


def _order(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices from highest to lowest score, ties broken at random (no method gains from ties)."""
    return np.lexsort((rng.random(len(scores)), -scores))


def metrics(
    scores: np.ndarray, outcome: np.ndarray, p_true: np.ndarray, *, seed: int = 0
) -> dict[str, float]:
    """ROC AUC, precision and lift in the top 5% and 10%, Spearman with the true risk."""
    rng = np.random.default_rng(seed)
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    base = float(outcome.mean()) if len(outcome) else 0.0
    order = _order(scores, rng)
    out: dict[str, float] = {
        "roc_auc": float(roc_auc_score(outcome, np.where(np.isinf(scores), -1e9, scores)))
        if 0 < outcome.sum() < len(outcome)
        else float("nan"),
    }
    for fraction in TOP_FRACTIONS:
        k = max(1, round(len(scores) * fraction))
        precision = float(outcome[order[:k]].mean())
        pct = round(fraction * 100)
        out[f"precision_top{pct}"] = precision
        out[f"lift_top{pct}"] = precision / base if base > 0 else float("nan")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores), 0, -1)
    out["spearman"] = float(stats.spearmanr(ranks, p_true).statistic)
    return out


def baselines(columns: Mapping[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """Single-factor orders a bureau could make without liftwatch, and a random one."""
    exposure = np.maximum(columns["exposure_years"], 1.0 / 365.0)
    # The last periodic inspection's verdict (fail > passed after rectification > pass), more
    # findings first within a verdict.
    inspection = (
        np.nan_to_num(columns["last_periodic_result"], nan=0.0) * 100 + columns["last_defects"]
    )
    two_years = np.maximum(columns["trend_window_days"] / 365.0, 1.0 / 365.0)
    return {
        "age only": columns["age_years"],
        "fault rate only (1 year)": columns["faults_365d"] / exposure,
        "fault rate only (2 years)": columns["trend_faults"] / two_years,
        "last inspection only": inspection,
        "random": np.random.default_rng(seed).random(len(exposure)),
    }


def _evaluate_date(
    conn: psycopg.Connection[Any],
    truth: Truth,
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    model: Any,
    seed: int,
) -> tuple[int, float, list[dict[str, Any]]]:
    scored = score(
        conn, as_of=as_of, policy=policy, expected_life_years=expected_life_years, model=model
    )
    keep = np.array([u in truth.serious for u in scored.features.unit_ids], dtype=bool)
    if keep.sum() < 20:
        raise Invalid(f"only {int(keep.sum())} scored units are in the ground truth of {as_of}")
    ids = [u for u, k in zip(scored.features.unit_ids, keep, strict=True) if k]
    outcome = np.array([truth.serious[u] for u in ids])
    p_true = np.array([truth.p_serious[u] for u in ids])
    cols = {name: values[keep] for name, values in scored.columns.items()}
    methods: dict[str, np.ndarray] = {"liftwatch health index": cols["health"]}
    if scored.model_probability is not None:
        methods["liftwatch learned model"] = cols["model_probability"]
    methods.update(baselines(cols, seed))
    rows = [
        {"method": name, **metrics(s, outcome, p_true, seed=seed)} for name, s in methods.items()
    ]
    return len(ids), float(outcome.mean()), rows


def evaluate(
    conn: psycopg.Connection[Any],
    *,
    ground_truth: Path,
    dates: list[date],
    policy: Policy,
    expected_life_years: float,
    model: Any = None,
    seed: int = 0,
) -> Evaluation:
    """Score the stored fleet as of each date and compare every method with the ground truth.

    One realization of twelve months is noisy (a tenth of a few thousand units have an event), so
    the metrics are computed on each date and averaged.
    """
    per_date: dict[str, list[dict[str, Any]]] = {}
    units, rates = [], []
    for day in dates:
        truth = read_truth(ground_truth, as_of=day)
        n, rate, rows = _evaluate_date(
            conn,
            truth,
            as_of=day,
            policy=policy,
            expected_life_years=expected_life_years,
            model=model,
            seed=seed,
        )
        per_date[day.isoformat()] = rows
        units.append(n)
        rates.append(rate)
    methods = [r["method"] for r in next(iter(per_date.values()))]
    averaged = []
    for i, method in enumerate(methods):
        keys = [k for k in per_date[dates[0].isoformat()][i] if k != "method"]
        averaged.append(
            {
                "method": method,
                **{k: float(np.mean([rows[i][k] for rows in per_date.values()])) for k in keys},
            }
        )
    return Evaluation(
        dates=dates,
        units=int(np.mean(units)),
        base_rate=float(np.mean(rates)),
        rows=averaged,
        per_date=per_date,
    )


def table(evaluation: Evaluation) -> str:
    """The evaluation as a Markdown table, with each metric's margin over the best baseline."""
    head = [
        "method",
        "ROC AUC",
        "precision top 5%",
        "lift top 5%",
        "precision top 10%",
        "lift top 10%",
        "Spearman",
    ]
    keys = ["roc_auc", "precision_top5", "lift_top5", "precision_top10", "lift_top10", "spearman"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in evaluation.rows:
        lines.append("| " + " | ".join([row["method"], *(f"{row[k]:.3f}" for k in keys)]) + " |")
    return "\n".join(lines)


MARGIN_KEYS = ("precision_top10", "spearman", "precision_top5", "roc_auc")


def _margin(rows: list[dict[str, Any]], method: str, key: str) -> float:
    ours = next(r for r in rows if r["method"] == method)
    return float(ours[key] - max(r[key] for r in rows if not r["method"].startswith("liftwatch")))


def margins(evaluation: Evaluation, *, method: str = "liftwatch health index") -> dict[str, Any]:
    """A method's lead over the best single-factor baseline: on average, and on how many dates."""
    out: dict[str, Any] = {}
    for key in MARGIN_KEYS:
        each = [_margin(rows, method, key) for rows in evaluation.per_date.values()]
        out[key] = {
            "mean": _margin(evaluation.rows, method, key),
            "min": min(each),
            "dates_ahead": sum(1 for m in each if m > 0),
            "dates": len(each),
        }
    return out
