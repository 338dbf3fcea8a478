"""Empirical-Bayes rates: a unit with little history is pulled toward its cohort, not taken at face value.

Each cohort's rates are modelled as gamma-distributed and each unit's count as Poisson given its
rate (the gamma-Poisson model). The cohort's prior is fitted by the method of moments; a unit's
posterior mean is ``(alpha + n) / (beta + exposure)``, so a unit observed for a short time stays
close to its cohort and a unit with a long record speaks for itself. The posterior gamma gives the
uncertainty interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# A cohort whose units vary no more than Poisson noise would have an infinitely sharp prior; cap it
# at the weight of this many unit-years so that a unit's own record still moves its rate.
MAX_PRIOR_YEARS = 50.0
# Units observed for less than this many years are shrunk but do not shape the prior: one freak
# unit (ten faults in its first weeks) would otherwise flatten its whole cohort's prior.
MIN_PRIOR_EXPOSURE = 0.25


@dataclass(frozen=True)
class ShrunkRates:
    """Posterior rate per unit (events per year) with its interval and the prior it came from."""

    rate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    prior_mean: np.ndarray
    prior_years: np.ndarray


def gamma_prior(counts: np.ndarray, exposure: np.ndarray) -> tuple[float, float]:
    """Method-of-moments gamma prior (shape, rate) of the per-year rates of one group of units."""
    seasoned = exposure >= MIN_PRIOR_EXPOSURE
    if seasoned.any():
        counts, exposure = counts[seasoned], exposure[seasoned]
    total_exposure = float(exposure.sum())
    if total_exposure <= 0:
        return 1.0, 1.0
    mean = max(float(counts.sum()) / total_exposure, 1e-6)
    k = len(counts)
    raw = np.divide(counts, exposure, out=np.zeros_like(counts, dtype=float), where=exposure > 0)
    spread = float((exposure * (raw - mean) ** 2).sum())
    denominator = total_exposure - float((exposure**2).sum()) / total_exposure
    between = (spread - (k - 1) * mean) / denominator if denominator > 0 else 0.0
    prior_years = mean / between if between > 0 else MAX_PRIOR_YEARS
    prior_years = min(prior_years, MAX_PRIOR_YEARS)
    return mean * prior_years, prior_years


def shrink(
    counts: np.ndarray,
    exposure: np.ndarray,
    cohorts: list[np.ndarray],
    *,
    min_units: int,
    interval: float,
) -> ShrunkRates:
    """Shrink each unit's rate toward the first cohort level with at least ``min_units`` units.

    ``cohorts`` lists cohort labels from the finest (manufacturer x age band) to the coarsest
    (the fleet); each is an integer array aligned with ``counts``.
    """
    counts = np.asarray(counts, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    alpha = np.full(len(counts), np.nan)
    beta = np.full(len(counts), np.nan)
    for labels in cohorts:
        pending = np.isnan(alpha)
        if not pending.any():
            break
        sizes = np.bincount(labels)
        for label in np.unique(labels[pending]):
            members = labels == label
            if sizes[label] < min_units and labels is not cohorts[-1]:
                continue
            a, b = gamma_prior(counts[members], exposure[members])
            target = members & pending
            alpha[target] = a
            beta[target] = b
    post_shape = alpha + counts
    post_rate = beta + exposure
    tail = (1.0 - interval) / 2.0
    return ShrunkRates(
        rate=post_shape / post_rate,
        low=gamma_quantile(tail, post_shape, post_rate),
        high=gamma_quantile(1.0 - tail, post_shape, post_rate),
        prior_mean=alpha / beta,
        prior_years=beta,
    )


def gamma_quantile(q: float, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """The ``q`` quantile of each gamma(shape, rate), computed once per distinct pair: most units
    share their posterior with others (a cohort's prior, a count, the same window), and the
    quantile is slow to compute."""
    distinct, back = np.unique(
        np.asarray(shape, dtype=float) + 1j * np.asarray(rate, dtype=float), return_inverse=True
    )
    return np.asarray(stats.gamma.ppf(q, distinct.real, scale=1.0 / distinct.imag))[
        np.reshape(back, -1)
    ]


def cohort_labels(
    manufacturers: list[str], age_years: np.ndarray, bands: list[float]
) -> list[np.ndarray]:
    """Cohort labels, finest first: manufacturer x age band, age band, fleet."""
    band = np.digitize(np.nan_to_num(age_years), bands)
    _, maker = np.unique(np.asarray(manufacturers, dtype=object), return_inverse=True)
    fine = maker * (len(bands) + 1) + band
    _, fine_labels = np.unique(fine, return_inverse=True)
    return [fine_labels, band, np.zeros(len(band), dtype=int)]
