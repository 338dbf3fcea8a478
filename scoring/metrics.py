"""Ranking metrics with bootstrap intervals: how well an order of units anticipates an outcome.

For an order (a score per unit, higher = worse) and an outcome (a value per unit, e.g. the count of
faults in the following year, and whether an event happened at all):

- Spearman: rank correlation of the score with the outcome's value (ties get average ranks);
- ROC AUC: the chance a unit with an event is scored above one without (ties count one half);
- precision in the top 5% / 10%: the share of the top units with an event;
- lift in the top 5% / 10%: the mean outcome of the top units divided by the mean of all.

Ties in the score are broken at random for the top shares, so no order gains from ties. Intervals
come from resampling units with replacement; every order is judged on the same resamples, so two
orders' intervals can be compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

TOP_FRACTIONS = (0.05, 0.10)
METRICS = ("spearman", "roc_auc", "precision_top5", "lift_top5", "precision_top10", "lift_top10")


@dataclass(frozen=True)
class Outcome:
    """What happened to each unit: a value (a count, or a probability) and whether an event did."""

    value: np.ndarray
    event: np.ndarray


@dataclass(frozen=True)
class Figures:
    """One order judged on one outcome: the metrics on all units and on each resample."""

    point: np.ndarray  # one value per METRICS entry
    replicates: np.ndarray  # resamples x METRICS

    def summary(self) -> dict[str, tuple[float, float, float]]:
        """Each metric's value and its 95% bootstrap interval (NaN where undefined)."""
        out = {}
        for k, name in enumerate(METRICS):
            column = self.replicates[:, k]
            column = column[~np.isnan(column)]
            low, high = (
                (float(np.percentile(column, 2.5)), float(np.percentile(column, 97.5)))
                if column.size
                else (float("nan"), float("nan"))
            )
            out[name] = (float(self.point[k]), low, high)
        return out


def metrics(score: np.ndarray, outcome: Outcome, tiebreak: np.ndarray) -> np.ndarray:
    """Every metric of METRICS for one order and outcome (NaN where undefined)."""
    score = np.where(np.isnan(score), -np.inf, np.asarray(score, dtype=float))
    value = np.asarray(outcome.value, dtype=float)
    event = np.asarray(outcome.event, dtype=bool)
    n = len(score)
    out = np.full(len(METRICS), np.nan)
    if n == 0:
        return out
    ranks = rankdata(score)
    out[0] = _pearson(ranks, rankdata(value))
    positives = int(event.sum())
    if 0 < positives < n:
        out[1] = (ranks[event].sum() - positives * (positives + 1) / 2) / (
            positives * (n - positives)
        )
    order = np.lexsort((tiebreak, -score))
    mean = value.mean()
    for j, fraction in enumerate(TOP_FRACTIONS):
        top = order[: max(1, round(n * fraction))]
        out[2 + 2 * j] = event[top].mean()
        out[3 + 2 * j] = value[top].mean() / mean if mean > 0 else np.nan
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def assess(
    orders: Mapping[str, np.ndarray],
    outcomes: Mapping[str, Outcome],
    *,
    bootstrap: int = 200,
    seed: int = 0,
    samples: list[np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], Figures]:
    """Judge every order on every outcome, on all units and on ``bootstrap`` resamples (or on the
    given ``samples``, arrays of unit positions, when several backtests must share them)."""
    n = len(next(iter(outcomes.values())).value)
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(n)
    if samples is None:
        samples = [rng.integers(0, n, size=n) for _ in range(bootstrap)]
    bootstrap = len(samples)
    out = {}
    for method, score in orders.items():
        score = np.asarray(score, dtype=float)
        for name, o in outcomes.items():
            reps = np.array(
                [metrics(score[s], Outcome(o.value[s], o.event[s]), tiebreak[s]) for s in samples]
            ).reshape(bootstrap, len(METRICS))
            out[(method, name)] = Figures(point=metrics(score, o, tiebreak), replicates=reps)
        if progress is not None:
            progress(f"  {method}: done")
    return out
