"""Rendering a whole run at once gives every unit the factors and reasons explaining it one by one
would: the same entries, numbers, sentences (zh-CN and en) and order, once stored as JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import run as run_module
from scoring.features import NUMERIC
from scoring.health import MODIFIERS, HealthScores
from scoring.policy import load_policy
from scoring.reasons import _rounded, as_lists, explain_all, explain_unit, summary
from scoring.run import factors_of, score, write_run
from scoring.shrinkage import ShrunkRates
from tests.scoring import factories as f

POLICY = load_policy()
DERIVED = (
    "trend_beta",
    "inspection_overdue",
    "inspection_data_gap",
    "maintenance_data_gap",
    "silent_after_days",
    "silent",
    "history_years",
)


# Columns the feature SQL leaves NULL (NaN) where unknown; it coalesces every other.
NULLABLE = {
    "trend_log_sum",
    "trend_beta",
    "last_periodic_result",
    "days_since_inspection",
    "days_to_certificate_expiry",
    "trips_per_day",
    "days_silent",
    "report_interval_days",
    "contractor_inspected_share",
    "contractor_maintained_share",
    "floors",
    "households",
    "elderly_share",
}


def _column(rng: np.random.Generator, n: int, nullable: bool) -> np.ndarray:
    """Counts, halves (ties in rounding), small and large reals, negatives and NaN, mixed."""
    kind = rng.integers(0, 5)
    if kind == 0:
        values = rng.integers(0, 4, n).astype(float)
    elif kind == 1:
        values = rng.integers(-4, 8, n) / 2.0
    elif kind == 2:
        values = rng.choice([0.0, 1.0, 2.0, 7.0, 365.0, 0.25, 1 / 3, 123.456789], n)
    else:
        values = rng.normal(0, 10 ** rng.uniform(-3, 3), n)
    return np.where(rng.random(n) < 0.15, np.nan, values) if nullable else values


def _fleet(seed: int, n: int, with_model: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cols = {name: _column(rng, n, name in NULLABLE) for name in (*NUMERIC, *DERIVED)}
    cols["age_years"] = rng.choice([0.0, 0.5, 1.0, 2.5, 12.3456, 30.0], n)
    day = date(2020, 1, 1)
    other: dict[str, list[Any]] = {
        "renewed": list(rng.random(n) < 0.3),
        "age_from": [day + timedelta(days=int(x)) for x in rng.integers(0, 3, n)],
        "last_inspection_at": [
            datetime(2023, 1, 1, 20, tzinfo=UTC) + timedelta(hours=int(x))
            for x in rng.integers(0, 10, n)
        ],
        "certificate_expiry": [day + timedelta(days=int(x)) for x in rng.integers(0, 3, n)],
        "contractor_id": [f"K{x}" for x in rng.integers(0, 3, n)],
    }

    # Quiet units have few modifiers other than 1, so notes come among their first reasons.
    quiet = rng.random(n) < 0.3

    def maybe_one() -> np.ndarray:
        values = rng.choice([0.5, 0.8, 1.2, 1.0 + 1e-9, np.nan], n)
        return np.where(rng.random(n) < np.where(quiet, 0.95, 0.5), 1.0, values)

    def values() -> np.ndarray:
        return rng.choice([0.0, 0.5, 1.23456, -0.000049, 2.00005, 10.0], n)

    modifiers = {m: maybe_one() for m in MODIFIERS}
    contributions = {m: values() for m in ("age", *MODIFIERS)}
    # A rare NaN contribution: such a unit is explained one by one.
    contributions["trend"] = np.where(rng.random(n) < 0.05, np.nan, contributions["trend"])
    hs = HealthScores(
        expected_life=rng.choice([18.0, 20.5, 25.0], n),
        duty=np.ones(n),
        initial=values(),
        modifiers=modifiers,
        terms={},
        weights={},
        contributions=contributions,
        collar=np.where(rng.random(n) < 0.5, 0.0, values()),
        health=values(),
        pof=values(),
        consequence={"households": values(), "floors": values(), "redundancy": values()},
        cof=values(),
        risk=values(),
        extra={
            "fleet_fault_rate": np.full(n, rng.choice([0.5, 1.25])),
            "elderly_assumed": np.full(n, 0.2),
        },
    )

    def rates() -> ShrunkRates:
        return ShrunkRates(values(), values(), values(), values(), values())

    rules = [None, *POLICY.rules]
    return {
        "cols": cols,
        "other": other,
        "hs": hs,
        "faults": rates(),
        "serious": rates(),
        "model": rng.choice([0.004, 0.005, 0.5, 0.995, 0.123]) * np.ones(n) if with_model else None,
        "rules": [rules[int(x)] for x in rng.integers(0, len(rules), n)],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), with_model=st.booleans())
def test_rendering_a_run_at_once_equals_explaining_each_unit(
    seed: int, n: int, with_model: bool
) -> None:
    fleet = _fleet(seed, n, with_model)
    factors, reasons = explain_all(
        fleet["cols"],
        fleet["other"],
        fleet["hs"],
        fleet["faults"],
        fleet["serious"],
        fleet["model"],
        fleet["rules"],
    )
    cols, hs = as_lists(fleet["cols"]), as_lists(fleet["hs"])
    faults, serious = as_lists(fleet["faults"]), as_lists(fleet["serious"])
    model = None if fleet["model"] is None else fleet["model"].tolist()
    assert len(factors) == len(reasons) == n
    for i in range(n):
        one = explain_unit(
            i,
            cols,
            fleet["other"],
            hs,
            faults,
            serious,
            None if model is None else model[i],
            fleet["rules"][i],
        )
        # What was stored before: the one-by-one list serialized by orjson.
        assert orjson.loads(factors[i]) == orjson.loads(orjson.dumps(one))
        assert orjson.loads(reasons[i]) == orjson.loads(orjson.dumps(summary(one)))


def test_a_scored_fleet_renders_as_each_unit_is_explained(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    f.place(conn)
    for b in range(3):
        f.building(conn, f"B{b}", elderly_share=None if b == 2 else 0.3)
        for u in range(b + 1):
            unit_id = f"U{b}{u}"
            f.unit(conn, unit_id, building_id=f"B{b}")
            for k in range(u + b):
                f.fault(conn, unit_id, f.at(f"2023-0{k + 1}-03"))
    scored = score(conn, as_of=date(2023, 5, 1), policy=POLICY, expected_life_years=18.0)
    factors, reasons = explain_all(
        scored.features.numeric,
        scored.features.other,
        scored.health,
        scored.faults,
        scored.serious,
        scored.model_probability,
        scored.rules,
    )
    assert len(factors) == len(scored.features) == 6
    for i in range(len(scored.features)):
        one = factors_of(scored, i)
        assert orjson.loads(factors[i]) == orjson.loads(orjson.dumps(one))
        assert orjson.loads(reasons[i]) == summary(one)
    # Written a few units at a time, the stored run holds the same.
    monkeypatch.setattr(run_module, "RENDER_SLICE", 4)
    run_id = write_run(conn, scored, policy=POLICY, model_version=None)
    stored = conn.execute(
        "SELECT unit_id, factors, reasons FROM unit_score WHERE run_id = %s", (run_id,)
    ).fetchall()
    assert len(stored) == 6
    for row in stored:
        one = factors_of(scored, scored.features.unit_ids.index(row["unit_id"]))
        assert row["factors"] == orjson.loads(orjson.dumps(one))
        assert row["reasons"] == summary(one)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=-100, max_value=100),
            st.integers(-(10**6), 10**6).map(lambda k: (k + 0.5) / 10**4),
            st.integers(-(10**6), 10**6).map(lambda k: (k + 0.5) / 100),
        ),
        max_size=50,
    ),
    digits=st.sampled_from([1, 2, 4]),
)
def test_rounding_a_column_rounds_as_python_does(values: list[float], digits: int) -> None:
    got = _rounded(np.array(values, dtype=float), digits)
    want = [round(v, digits) for v in values]
    assert orjson.dumps(got) == orjson.dumps(want)
