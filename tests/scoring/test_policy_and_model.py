"""The policy file (custom rules, bad files) and the learned model's conventions and artifacts."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from core.errors import ConfigError
from scoring.flags import assign_flags, rule_name
from scoring.model import MODEL_FEATURES, FailureModel, load_model, save_model
from scoring.policy import default_policy_path, load_policy


def test_shipped_policy_orders_flags_with_stopped_first() -> None:
    policy = load_policy()
    flags = [r.flag for r in policy.rules]
    assert flags[0] == "stopped"
    assert flags == sorted(
        flags, key=["stopped", "replace_or_overhaul", "safety_assessment", "watch"].index
    )
    assert all(r.zh and r.en for r in policy.rules)


def test_first_matching_rule_names_the_flag() -> None:
    policy = load_policy()
    cols = {name: np.zeros(5) for c in policy.rules for name in (x.column for x in c.conditions)}
    cols["failed_inspection_open"] = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    cols["age_years"] = np.array([30.0, 30.0, 16.0, 3.0, 30.0])
    cols["health"] = np.array([9.0, 9.0, 1.0, 1.0, 9.0])
    cols["pof_percentile"] = np.array([100.0, 98.0, 20.0, 10.0, 97.0])
    cols["condition_evidence"] = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    cols["open_rectification"] = np.array([0.0, 0.0, 2.0, 0.0, 0.0])
    cols["trend_beta"] = np.full(5, np.nan)
    flag, rules = assign_flags(cols, policy, 5)
    # The last unit is old and high on the index by age alone: no evidence of condition, no flag.
    assert list(flag) == ["stopped", "replace_or_overhaul", "safety_assessment", "ok", "ok"]
    assert [rule_name(r) for r in rules] == [
        "stopped.failed_inspection",
        "replace_or_overhaul.very_poor_condition",
        "safety_assessment.old_with_open_rectification",
        "ok.no_rule",
        "ok.no_rule",
    ]


def test_a_users_policy_replaces_the_defaults(tmp_path: Path) -> None:
    text = default_policy_path().read_text(encoding="utf-8")
    custom = tmp_path / "policy.yaml"
    custom.write_text(
        text.replace("version: cn-default-3", "version: strict-1").replace(
            "all: [age_years >= 15, failed_inspections_3y >= 1, pof_percentile >= 80]",
            "all: [age_years >= 10, health >= 3]",
        ),
        encoding="utf-8",
    )
    policy = load_policy(custom)
    assert policy.version == "strict-1"
    assert policy.hash != load_policy().hash
    rule = policy.rule("replace_or_overhaul.old_with_recent_failed_inspection")
    assert [(c.column, c.op, c.value) for c in rule.conditions] == [
        ("age_years", ">=", 10.0),
        ("health", ">=", 3.0),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("all: [health >= 8,", "all: [health => 8,"), "expected a condition"),
        (lambda t: t.replace("  watch:\n", "  later:\n"), "flags.later"),
        (lambda t: t.replace("pof:\n", "pfo:\n"), "pof: missing"),
        (lambda t: t + "\n  - [", "not valid YAML"),
    ],
)
def test_bad_policies_are_refused_with_the_reason(
    tmp_path: Path, change: object, message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(change(default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        load_policy(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_unknown_rule_columns_are_a_configuration_error() -> None:
    policy = load_policy()
    with pytest.raises(ConfigError, match="unknown column"):
        assign_flags({"health": np.zeros(2)}, policy, 2)


def _data(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(MODEL_FEATURES)))  # noqa: N806
    X[rng.random(X.shape) < 0.05] = np.nan
    logit = 1.5 * np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) - 2.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, np.repeat(np.arange(6), n // 6)


def test_model_follows_scikit_learn_conventions_and_is_calibrated() -> None:
    X, y, t = _data(5)  # noqa: N806
    model = FailureModel(max_iter=60)
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    assert model.fit(X, y, sample_time=t) is model
    assert model.get_params()["max_iter"] == 60
    assert hasattr(model, "booster_")
    assert hasattr(model, "calibrator_")
    X2, y2, _ = _data(6)  # noqa: N806
    p = model.predict_proba(X2)[:, 1]
    assert np.all((p >= 0) & (p <= 1))
    assert abs(p.mean() - y2.mean()) < 0.04
    top = p >= np.quantile(p, 0.9)
    assert y2[top].mean() > 2 * y2.mean()


def test_model_artifacts_record_versions_and_refuse_mismatches(tmp_path: Path) -> None:
    X, y, t = _data(7, 600)  # noqa: N806
    model = FailureModel(max_iter=20).fit(X, y, sample_time=t)
    path = tmp_path / "models" / "m.joblib"
    version = save_model(model, path, trained_as_of="2023-01-01", metrics={"rows": 600})
    loaded = load_model(path)
    assert loaded["version"] == version
    assert version.startswith("2023-01-01-")
    assert set(loaded["versions"]) == {"liftwatch", "scikit-learn", "numpy"}
    np.testing.assert_allclose(loaded["model"].predict_proba(X), model.predict_proba(X))
    artifact = joblib.load(path)
    artifact["versions"]["scikit-learn"] = "0.1.0"
    joblib.dump(artifact, path)
    with pytest.raises(ConfigError, match=r"scikit-learn 0\.1\.0 \(saved\)"):
        load_model(path)
    with pytest.raises(ConfigError, match="score train"):
        load_model(tmp_path / "absent.joblib")
