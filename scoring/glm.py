"""A Poisson GLM of faults on the condition model's factor terms, pulled toward prior weights.

A unit's expected faults in the next 12 months is ``exp(b + sum_k w_k z_k)``, where ``z_k`` is the
logarithm of factor k's modifier (of initial health for age) under the policy. The weights ``w``
are fitted by penalized maximum likelihood: the Poisson log-likelihood minus
``tau / 2 * sum_k v_k (w_k - w0_k)^2``, with ``w0`` the policy's prior weights and ``v_k`` the
variance of ``z_k``. A factor's information from the data is about ``events * v_k / phi`` (phi
the Pearson dispersion: faults cluster on units), so ``tau`` reads as pseudo-events: a fleet with
little history keeps the prior, one with thousands of events gets its own weights. Weights stay at or above zero, so no factor turns its meaning
around; a factor the data does not support is weighed 0 rather than read backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

# 90% intervals from the penalized information.
Z90 = 1.6449


@dataclass(frozen=True)
class FittedWeights:
    """Fitted factor weights with their 90% intervals, and the history they were fitted on."""

    weights: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    prior: dict[str, float]
    intercept: float
    rows: int
    events: float
    strength: float
    dispersion: float = 1.0
    window: dict[str, Any] = field(default_factory=dict)
    serious: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The record stored with a run (``score_run.fitted_weights``)."""
        return {
            "outcome": "equipment faults in the following 12 months",
            "window": self.window,
            "rows": self.rows,
            "events": round(self.events, 1),
            "strength": self.strength,
            "dispersion": round(self.dispersion, 3),
            "intercept": round(self.intercept, 4),
            "factors": [
                {
                    "factor": k,
                    "prior": round(self.prior[k], 4),
                    "weight": round(self.weights[k], 4),
                    "low": _rounded(self.low[k]),
                    "high": _rounded(self.high[k]),
                }
                for k in self.weights
            ],
            "serious": self.serious,
        }


def _bound(value: float, se: float) -> float:
    return float("nan") if not np.isfinite(se) else float(max(value, 0.0))


def _rounded(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


def fit_poisson(
    terms: np.ndarray,
    counts: np.ndarray,
    *,
    names: Sequence[str],
    prior: Mapping[str, float],
    strength: float,
) -> FittedWeights:
    """Fit the weights of ``terms`` (rows x factors) on ``counts``, pulled toward ``prior``."""
    z_all = np.asarray(terms, dtype=float)
    y = np.asarray(counts, dtype=float)
    w0_all = np.array([prior[n] for n in names], dtype=float)
    var_all = z_all.var(axis=0) if len(z_all) else np.zeros(len(names))
    # A factor with no spread in this history (no inspection feed, say) cannot be told apart
    # from the intercept: it keeps its prior weight and has no interval.
    active = var_all > 1e-9
    z, w0, var = z_all[:, active], w0_all[active], var_all[active]
    pull = strength * var
    mean_y = max(float(y.mean()) if len(y) else 0.0, 1e-6)
    # Start at the prior with the intercept that matches the mean count.
    start_eta = z @ w0
    b0 = np.log(mean_y) - np.log(max(float(np.exp(start_eta).mean()), 1e-12))
    x0 = np.concatenate([[b0], w0])

    def solve(start: np.ndarray, dispersion: float) -> np.ndarray:
        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            eta = np.clip(x[0] + z @ x[1:], -30.0, 30.0)
            mu = np.exp(eta)
            diff = x[1:] - w0
            value = float(np.sum(mu - y * eta) / dispersion + 0.5 * np.sum(pull * diff**2))
            resid = (mu - y) / dispersion
            grad = np.concatenate([[resid.sum()], z.T @ resid + pull * diff])
            return value, grad

        bounds = [(None, None)] + [(0.0, None)] * len(w0)
        return optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds).x

    # Faults cluster on units (a bad unit fails again), so counts vary more than Poisson: the
    # Pearson dispersion says how much less the data know, and the prior weighs that much more.
    x = solve(x0, 1.0)
    mu = np.exp(np.clip(x[0] + z @ x[1:], -30.0, 30.0))
    dof = max(len(y) - len(w0) - 1, 1)
    dispersion = max(float(np.sum((y - mu) ** 2 / np.maximum(mu, 1e-12))) / dof, 1.0)
    if dispersion > 1.0:
        x = solve(x, dispersion)
        mu = np.exp(np.clip(x[0] + z @ x[1:], -30.0, 30.0))
    design = np.hstack([np.ones((len(z), 1)), z])
    info = design.T @ (design * mu[:, None]) / dispersion
    info[1:, 1:] += np.diag(pull)
    cov = np.linalg.pinv(info)
    w = w0_all.copy()
    w[active] = x[1:]
    se = np.full(len(names), np.inf)
    se[active] = np.sqrt(np.maximum(np.diag(cov)[1:], 0.0))
    return FittedWeights(
        weights={n: float(v) for n, v in zip(names, w, strict=True)},
        low={n: _bound(v - Z90 * s, s) for n, v, s in zip(names, w, se, strict=True)},
        high={n: _bound(v + Z90 * s, s) for n, v, s in zip(names, w, se, strict=True)},
        prior=dict(prior),
        intercept=float(x[0]),
        rows=len(y),
        events=float(y.sum()),
        strength=strength,
        dispersion=dispersion,
    )
