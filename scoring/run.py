"""A score run: features as of a date, health, PoF, CoF, risk, flags and reasons, stored whole.

The ranking puts stopped units first (a unit that must not run outranks any estimate), then orders
by risk. Every run records its as-of date, the policy's version and hash, the model's version and
how long each step took, so rankings can be audited and compared later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import orjson
import psycopg
from psycopg.rows import tuple_row

from scoring.alerts import flag_alerts
from scoring.features import Features, compute_features, paused_gc
from scoring.flags import assign_flags, rule_name, set_against_fleet
from scoring.glm import FittedWeights
from scoring.health import HealthScores, health_scores
from scoring.model import design_matrix
from scoring.policy import FlagRule, Policy
from scoring.reasons import as_lists, explain_all, explain_unit
from scoring.shrinkage import ShrunkRates, cohort_labels, shrink

Progress = Callable[[str], None]


@dataclass
class Scored:
    """Everything computed for one as-of date, before it is written."""

    features: Features
    faults: ShrunkRates
    serious: ShrunkRates
    recent: dict[str, ShrunkRates]
    health: HealthScores
    columns: dict[str, np.ndarray]
    model_probability: np.ndarray | None = None
    flag: np.ndarray | None = None
    rules: list[FlagRule | None] = field(default_factory=list)
    rank: np.ndarray | None = None
    pof_rank: np.ndarray | None = None
    fitted: FittedWeights | None = None
    timings: dict[str, float] = field(default_factory=dict)
    plain: dict[str, Any] | None = None


def first_event_day(conn: psycopg.Connection[Any]) -> date | None:
    """The China-time day of the fleet's first equipment fault or inspection on record.

    Power cuts and misuse never count against the equipment, so they do not move the day the
    records begin either (it sets how long each unit's whole record is)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            "SELECT (least((SELECT min(occurred_at) FROM fault_event WHERE cause = 'equipment'),"
            " (SELECT min(occurred_at) FROM inspection_event))"
            " AT TIME ZONE 'Asia/Shanghai')::date"
        )
        row = cur.fetchone()
    return row[0] if row else None


def compute_scores(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    weights: Mapping[str, float] | None = None,
    sample_units: list[str] | None = None,
    records_from: date | None = None,
) -> Scored:
    """Features, shrunk rates and the deterioration index of every unit as of a date.

    ``weights`` are fitted factor weights (the policy's prior weights when None);
    ``sample_units`` (a share of the buildings' units, ``features.sample_unit_ids``) scores only
    those, as learning does. ``records_from`` is the day the fleet's records begin (read from the events when None): a unit is not observed
    before it, so its whole-history fault rate is counted over the time since.
    """
    # A city's columns are millions of objects that hold no cycles: the collector would only walk
    # them again and again while the rates and the index are computed.
    with paused_gc():
        return _compute_scores(
            conn,
            as_of=as_of,
            policy=policy,
            expected_life_years=expected_life_years,
            weights=weights,
            sample_units=sample_units,
            records_from=records_from,
        )


def _compute_scores(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    weights: Mapping[str, float] | None,
    sample_units: list[str] | None,
    records_from: date | None,
) -> Scored:
    started = time.perf_counter()
    feats = compute_features(
        conn,
        as_of=as_of,
        policy_features=policy.section("features"),
        sample_units=sample_units,
    )
    feature_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cols = feats.columns()
    shrink_spec = policy.section("shrinkage")
    cohorts = cohort_labels(
        feats.other["manufacturer"], cols["age_years"], shrink_spec["age_bands"]
    )
    min_units, interval = int(shrink_spec["min_cohort_units"]), float(shrink_spec["interval"])
    # Rates over the trend window (three years by default), and over 365 and 90 days.
    exposure = np.maximum(cols["trend_window_days"] / 365.0, 1.0 / 365.0)
    faults = shrink(cols["trend_faults"], exposure, cohorts, min_units=min_units, interval=interval)
    serious = shrink(
        cols["trend_serious"], exposure, cohorts, min_units=min_units, interval=interval
    )
    year = np.maximum(cols["exposure_years"], 1.0 / 365.0)
    if records_from is None:
        records_from = first_event_day(conn)
    observed_days = float((as_of - records_from).days + 1) if records_from is not None else 0.0
    # A unit is observed from the later of its renewal and the day the fleet's records begin.
    history = np.maximum(
        np.minimum(cols["history_window_days"], max(observed_days, 1.0)) / 365.0, 1.0 / 365.0
    )
    feats.numeric["history_years"] = history
    # Faults weighed by e^(-age / tau) over the same record, against the exposure so weighed.
    tau = float(policy.section("features").get("fault_decay_days", 180.0)) / 365.0
    decayed_exposure = np.maximum(tau * (1.0 - np.exp(-history / tau)), 1.0 / 365.0)
    recent = {
        "fault_rate_1y": shrink(
            cols["faults_365d"], year, cohorts, min_units=min_units, interval=interval
        ),
        "fault_rate_90d": shrink(
            cols["faults_90d"],
            np.minimum(year, 90.0 / 365.0),
            cohorts,
            min_units=min_units,
            interval=interval,
        ),
        "fault_rate_history": shrink(
            cols["history_faults"], history, cohorts, min_units=min_units, interval=interval
        ),
        "fault_rate_decayed": shrink(
            cols["faults_decayed"],
            decayed_exposure,
            cohorts,
            min_units=min_units,
            interval=interval,
        ),
    }
    hs = health_scores(
        cols,
        faults,
        serious,
        policy.params,
        expected_life_years=expected_life_years,
        recent=recent,
        weights=weights,
    )
    columns = {
        **cols,
        **hs.extra,
        "fault_rate": faults.rate,
        "serious_rate": serious.rate,
        "health": hs.health,
        "pof": hs.pof,
        "cof": hs.cof,
        "risk": hs.risk,
    }
    return Scored(
        features=feats,
        faults=faults,
        serious=serious,
        recent=recent,
        health=hs,
        columns=columns,
        timings={"features_sql": feature_seconds, "health_index": time.perf_counter() - started},
    )


def score(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    model: Any = None,
    fitted: FittedWeights | None = None,
) -> Scored:
    """Score every unit as of a date: index, model opinion, flags and both orders.

    With ``fitted`` weights (``scoring.learning.fit``) the condition model is the fleet's own;
    without, the policy's prior weights.
    """
    scored = compute_scores(
        conn,
        as_of=as_of,
        policy=policy,
        expected_life_years=expected_life_years,
        weights=None if fitted is None else fitted.weights,
    )
    scored.fitted = fitted
    started = time.perf_counter()
    if model is not None and len(scored.features):
        scored.model_probability = model.predict_proba(design_matrix(scored.columns))[:, 1]
    scored.columns["model_probability"] = (
        scored.model_probability
        if scored.model_probability is not None
        else np.full(len(scored.features), np.nan)
    )
    scored.timings["model"] = time.perf_counter() - started
    started = time.perf_counter()
    count = len(scored.features)
    set_against_fleet(scored.columns, policy.section("evidence"))
    scored.flag, scored.rules = assign_flags(scored.columns, policy, count)
    stopped_first = np.where(scored.flag == "stopped", 0, 1)
    ids = np.asarray(scored.features.unit_ids, dtype=object)
    scored.rank = _order(ids, scored.health.risk, stopped_first)
    scored.pof_rank = _order(ids, scored.health.pof, stopped_first)
    scored.timings["flags_and_rank"] = time.perf_counter() - started
    return scored


def _order(ids: np.ndarray, value: np.ndarray, stopped_first: np.ndarray) -> np.ndarray:
    """Ranks 1..n: stopped units first, then by value (highest first), ties by unit id."""
    count = len(ids)
    order = np.lexsort((ids, -value, stopped_first)) if count else np.array([], int)
    rank = np.empty(count, dtype=int)
    rank[order] = np.arange(1, count + 1)
    return rank


def factors_of(scored: Scored, i: int) -> list[dict[str, Any]]:
    """The explained factor list of the unit at position ``i``."""
    if scored.plain is None:
        scored.plain = {
            "cols": as_lists(scored.features.numeric),
            "hs": as_lists(scored.health),
            "faults": as_lists(scored.faults),
            "serious": as_lists(scored.serious),
            "model": None
            if scored.model_probability is None
            else scored.model_probability.tolist(),
        }
    plain = scored.plain
    return explain_unit(
        i,
        plain["cols"],
        scored.features.other,
        plain["hs"],
        plain["faults"],
        plain["serious"],
        None if plain["model"] is None else plain["model"][i],
        scored.rules[i],
    )


# Units rendered at a time while the run is written.
RENDER_SLICE = 10_000


def _sliced(value: Any, lo: int, hi: int) -> Any:
    if isinstance(value, np.ndarray | list):
        return value[lo:hi]
    if isinstance(value, dict):
        return {k: _sliced(v, lo, hi) for k, v in value.items()}
    return value


def _render_inputs(scored: Scored, lo: int, hi: int) -> tuple[Any, ...]:
    """``explain_all``'s inputs for the units at positions ``lo`` to ``hi``."""

    def part(obj: Any) -> Any:
        return type(obj)(**{f: _sliced(getattr(obj, f), lo, hi) for f in obj.__dataclass_fields__})

    health = part(scored.health)
    health.weights = scored.health.weights
    return (
        _sliced(scored.features.numeric, lo, hi),
        _sliced(scored.features.other, lo, hi),
        health,
        part(scored.faults),
        part(scored.serious),
        None if scored.model_probability is None else scored.model_probability[lo:hi],
        scored.rules[lo:hi],
    )


def write_run(
    conn: psycopg.Connection[Any],
    scored: Scored,
    *,
    policy: Policy,
    model_version: str | None,
    note: str | None = None,
) -> int:
    """Store a scored date as a new run (one transaction) and return its run id."""
    # Rendering allocates millions of short-lived strings and tuples next to a city's long-lived
    # columns; the cyclic collector would walk those columns again and again for nothing.
    with paused_gc():
        return _write(conn, scored, policy=policy, model_version=model_version, note=note)


def _write(
    conn: psycopg.Connection[Any],
    scored: Scored,
    *,
    policy: Policy,
    model_version: str | None,
    note: str | None,
) -> int:
    hs = scored.health
    assert scored.flag is not None
    assert scored.rank is not None
    assert scored.pof_rank is not None
    started = time.perf_counter()
    rendering = 0.0
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            "INSERT INTO score_run (as_of, policy_version, policy_hash, model_version, unit_count,"
            " note, fitted_weights) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING run_id",
            (
                scored.features.as_of,
                policy.version,
                policy.hash,
                model_version,
                len(scored.features),
                note,
                None
                if scored.fitted is None
                else orjson.dumps(
                    scored.fitted.as_json(), option=orjson.OPT_SERIALIZE_NUMPY
                ).decode(),
            ),
        )
        row = cur.fetchone()
        assert row is not None
        run_id = int(row[0])
        model_p = scored.model_probability
        # Each score carries its unit's place (district, street office, contractor), which
        # triggers keep equal to the register's (migration 0007). Reading the places under a share
        # lock makes any register change wait for this run's commit, so its triggers see the run.
        cur.execute("LOCK TABLE street_office, community, building, unit IN SHARE MODE")
        cur.execute("SELECT unit_id, district_id, street_office_id, contractor_id FROM unit_place")
        places = {row[0]: row[1:] for row in cur}
        nowhere = (None, None, None)
        with cur.copy(
            "COPY unit_score (run_id, unit_id, rank, pof_rank, health, pof, cof, risk, model_probability,"
            " flag, flag_rule, factors, reasons, district_id, street_office_id, contractor_id)"
            " FROM STDIN"
        ) as copy:
            # Rendered a slice at a time, the next slice while this one is sent, so that the
            # server is kept storing rows while Python renders.
            slices = [
                (lo, min(lo + RENDER_SLICE, len(scored.features)))
                for lo in range(0, len(scored.features), RENDER_SLICE)
            ]
            with ThreadPoolExecutor(1) as renderer:

                def render(k: int) -> Future[tuple[list[str], list[str]]]:
                    return renderer.submit(explain_all, *_render_inputs(scored, *slices[k]))

                pending = render(0) if slices else None
                for k, (lo, hi) in enumerate(slices):
                    assert pending is not None
                    began = time.perf_counter()
                    factors, reasons = pending.result()
                    rendering += time.perf_counter() - began
                    pending = render(k + 1) if k + 1 < len(slices) else None
                    for i in range(lo, hi):
                        unit_id = scored.features.unit_ids[i]
                        copy.write_row(
                            (
                                run_id,
                                unit_id,
                                int(scored.rank[i]),
                                int(scored.pof_rank[i]),
                                float(hs.health[i]),
                                float(hs.pof[i]),
                                float(hs.cof[i]),
                                float(hs.risk[i]),
                                None if model_p is None else float(model_p[i]),
                                scored.flag[i],
                                rule_name(scored.rules[i]),
                                factors[i - lo],
                                reasons[i - lo],
                                *places.get(unit_id, nowhere),
                            )
                        )
        # Waiting for the sentences (rendered while the previous slice is sent), and the rest.
        scored.timings["render"] = rendering
        scored.timings["write_run"] = time.perf_counter() - started - rendering
        cur.execute(
            "UPDATE score_run SET timings = %s WHERE run_id = %s",
            (orjson.dumps({k: round(v, 3) for k, v in scored.timings.items()}).decode(), run_id),
        )
    return run_id


def run(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy: Policy,
    expected_life_years: float,
    model_artifact: dict[str, Any] | None = None,
    progress: Progress | None = None,
    note: str | None = None,
) -> int:
    """Score every unit as of a date and store the run; returns the run id."""
    say = progress or (lambda _msg: None)
    # The learner scores past snapshots with this module's compute_scores.
    from scoring.learning import learn

    say(f"scoring as of {as_of} with policy {policy.version} ({policy.hash})")
    model = model_artifact["model"] if model_artifact else None
    started = time.perf_counter()
    fitted = learn(
        conn, as_of=as_of, policy=policy, expected_life_years=expected_life_years, progress=say
    )
    learning_seconds = time.perf_counter() - started
    scored = score(
        conn,
        as_of=as_of,
        policy=policy,
        expected_life_years=expected_life_years,
        model=model,
        fitted=fitted,
    )
    scored.timings = {"learning": learning_seconds, **scored.timings}
    say(f"{len(scored.features)} units scored; writing the run")
    run_id = write_run(
        conn,
        scored,
        policy=policy,
        model_version=model_artifact["version"] if model_artifact else None,
        note=note,
    )
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in scored.timings.items())
    say(f"run {run_id} stored ({steps})")
    flag_alerts(conn, run_id=run_id)
    return run_id
