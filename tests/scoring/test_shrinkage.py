"""Gamma-Poisson shrinkage and the Crow-AMSAA slope."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoring.shrinkage import MAX_PRIOR_YEARS, cohort_labels, gamma_prior, gamma_quantile, shrink


def test_prior_recovers_a_known_gamma_population() -> None:
    rng = np.random.default_rng(1)
    shape, rate = 2.0, 1.0  # mean 2 faults/year, variance 2
    true = rng.gamma(shape, 1.0 / rate, size=20000)
    exposure = rng.uniform(0.5, 3.0, size=true.size)
    counts = rng.poisson(true * exposure).astype(float)
    a, b = gamma_prior(counts, exposure)
    assert abs(a / b - 2.0) < 0.05
    assert abs(a / b**2 - 2.0) < 0.25


def test_short_history_stays_near_the_cohort_long_history_speaks_for_itself() -> None:
    rng = np.random.default_rng(2)
    exposure = np.full(400, 1.0)
    counts = rng.poisson(rng.gamma(4.0, 0.5, size=400)).astype(float)
    counts[:2] = 10.0
    exposure[0] = 0.05  # a few weeks of history: 10 faults is mostly luck
    exposure[1] = 5.0  # five years at 2/year would be 10 faults; scale up to 10/year
    counts[1] = 50.0
    labels = [np.zeros(400, dtype=int)]
    out = shrink(counts, exposure, labels, min_units=10, interval=0.9)
    cohort = counts.sum() / exposure.sum()
    assert abs(out.rate[0] - cohort) < abs(10.0 / 0.05 - cohort) * 0.1
    assert abs(out.rate[1] - 10.0) < abs(out.rate[1] - cohort)
    assert np.all(out.low <= out.rate)
    assert np.all(out.rate <= out.high)
    assert (out.high[0] - out.low[0]) > (out.high[1] - out.low[1]) * 0.5


def test_identical_units_give_the_strongest_allowed_prior() -> None:
    counts = np.full(100, 3.0)
    exposure = np.ones(100)
    a, b = gamma_prior(counts, exposure)
    assert b == MAX_PRIOR_YEARS
    assert a / b == 3.0


def test_small_cohorts_borrow_the_coarser_prior() -> None:
    makers = ["A"] * 50 + ["B"] * 3
    ages = np.full(53, 12.0)
    counts = np.concatenate([np.full(50, 1.0), np.full(3, 30.0)])
    levels = cohort_labels(makers, ages, [5, 10, 15, 20])
    out = shrink(counts, np.ones(53), levels, min_units=10, interval=0.9)
    # B's three units are shrunk toward the age band (mostly A), not toward themselves.
    assert out.prior_mean[0] == 1.0
    assert out.prior_mean[-1] == counts.sum() / 53
    assert out.rate[-1] < 30.0


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from([0.5, 1.0, 2.5, 7.0, 31.25]),
            st.sampled_from([0.25, 1.0, 3.0, 2.9972602739726026]),
        ),
        min_size=1,
        max_size=60,
    ),
    q=st.sampled_from([0.05, 0.5, 0.95]),
)
def test_gamma_quantiles_once_per_distinct_posterior_equal_each_units(
    pairs: list[tuple[float, float]], q: float
) -> None:
    shape = np.array([p[0] for p in pairs])
    rate = np.array([p[1] for p in pairs])
    expected = stats.gamma.ppf(q, shape, scale=1.0 / rate)
    assert np.array_equal(gamma_quantile(q, shape, rate), expected)
