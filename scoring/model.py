"""The learned second opinion: P(serious failure or failed inspection within 12 months).

A gradient-boosted classifier on the same features the deterioration index reads (never the excluded
external and misuse causes), calibrated with isotonic regression on the latest part of its
training history, so a stated 30% means about 30 in 100. It follows scikit-learn's conventions and
is saved with the library versions it was built with; loading under other versions is refused.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from core.errors import ConfigError

MODEL_FEATURES = (
    "age_years",
    "faults_90d",
    "faults_365d",
    "serious_90d",
    "serious_365d",
    "critical_365d",
    "entrapments_90d",
    "entrapments_365d",
    "downtime_hours_365d",
    "trend_beta",
    "failed_inspection_open",
    "open_rectification",
    "failed_inspections_3y",
    "days_since_inspection",
    "missed_maintenance",
    "trips_per_day",
    "fault_rate",
    "serious_rate",
    "health",
)


class FailureModel(ClassifierMixin, BaseEstimator):
    """Boosted trees with isotonic calibration fitted on the latest slice of the history."""

    def __init__(
        self,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        calibration_fraction: float = 0.25,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_time: Any = None) -> FailureModel:  # noqa: N803
        """Fit on the earlier rows and calibrate on the later ones (by ``sample_time`` if given)."""
        X, y = check_X_y(X, y, ensure_all_finite="allow-nan")  # noqa: N806
        times = np.arange(len(y)) if sample_time is None else np.asarray(sample_time)
        cut = np.quantile(times, 1.0 - self.calibration_fraction)
        train, calib = times < cut, times >= cut
        if not train.any() or len(np.unique(y[train])) < 2:
            train = np.ones(len(y), dtype=bool)
        self.classes_ = np.unique(y)
        # A fleet without status terminals has no trip counts at all; trees cannot bin an empty
        # column, so such columns are held at zero (in prediction too).
        self.empty_columns_ = np.all(np.isnan(X[train]), axis=0)
        X = self._fill(X)  # noqa: N806
        self.booster_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            random_state=self.random_state,
        ).fit(X[train], y[train])
        raw = self.booster_.predict_proba(X[calib])[:, 1]
        self.calibrator_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            raw, y[calib]
        )
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Calibrated probabilities of (no event, event)."""
        check_is_fitted(self)
        X = self._fill(check_array(X, ensure_all_finite="allow-nan"))  # noqa: N806
        raw = self.booster_.predict_proba(X)[:, 1]
        # Isotonic steps tie many units; a hair of the raw score keeps their order.
        p = np.clip(self.calibrator_.predict(raw) + 1e-6 * raw, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def _fill(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        X = X.copy()  # noqa: N806
        X[:, self.empty_columns_] = 0.0
        return X

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """1 where the calibrated probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def design_matrix(columns: dict[str, np.ndarray]) -> np.ndarray:
    """The model's input matrix from score columns (NaN kept: the trees handle it)."""
    return np.column_stack([np.asarray(columns[name], dtype=float) for name in MODEL_FEATURES])


def library_versions() -> dict[str, str]:
    """Versions that must match between saving and loading a model."""
    return {
        "liftwatch": metadata.version("liftwatch"),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def save_model(
    model: FailureModel, path: Path, *, trained_as_of: str, metrics: dict[str, Any]
) -> str:
    """Write the model with its versions; returns the model version string."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()[:12]
    version = f"{trained_as_of}-{digest}"
    artifact = {
        "model": model,
        "version": version,
        "versions": library_versions(),
        "features": list(MODEL_FEATURES),
        "trained_as_of": trained_as_of,
        "created_at": datetime.now(UTC).isoformat(),
        "metrics": metrics,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    joblib.dump(artifact, tmp)
    tmp.replace(path)
    return version


def load_model(path: Path) -> dict[str, Any]:
    """Read a saved model, refusing one built with other library versions or features."""
    try:
        artifact = joblib.load(path)
    except FileNotFoundError:
        raise ConfigError(
            f"no scoring model at {path}; train one with `liftwatch score train`"
        ) from None
    if not isinstance(artifact, dict) or "versions" not in artifact:
        raise ConfigError(f"{path} is not a liftwatch scoring model")
    now = library_versions()
    different = {k: (v, now.get(k)) for k, v in artifact["versions"].items() if now.get(k) != v}
    if different:
        detail = "; ".join(
            f"{k} {saved} (saved) vs {cur} (installed)" for k, (saved, cur) in different.items()
        )
        raise ConfigError(
            f"scoring model {path} was built with other library versions ({detail}); "
            "retrain it with `liftwatch score train`"
        )
    if artifact["features"] != list(MODEL_FEATURES):
        raise ConfigError(f"scoring model {path} expects other features; retrain it")
    return artifact
