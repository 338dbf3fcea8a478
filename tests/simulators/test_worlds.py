"""Worlds: the same fleet under hidden truths that differ in what drives failure and what is seen."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from functools import cache
from pathlib import Path

import numpy as np
import orjson
import pytest
from scipy.stats import spearmanr

from core.errors import Invalid
from liftwatch.cli import main
from simulators.model import Simulation, simulate
from simulators.scenario import Scenario, load_scenario
from simulators.worlds import WORLDS, world

START, END, TRUTH_DAY = date(2019, 1, 1), date(2022, 1, 1), date(2021, 1, 1)


@cache
def _city() -> Scenario:
    return load_scenario("city", units=600)


@cache
def _run(name: str) -> Simulation:
    sim = simulate(_city(), start=START, end=END, seed=5, world=WORLDS[name], status_every=None)
    sim.histories()
    return sim


def _faults_and_truth(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Age in years, equipment faults over the period and the true risk on TRUTH_DAY, per unit."""
    sim = _run(name)
    faults = Counter(
        e.unit_id
        for e in sim.events()
        if e.kind == "fault" and e.payload.get("cause") == "equipment"
    )
    truth = {r["unit_id"]: r for r in sim.ground_truth() if r["date"] == TRUTH_DAY}
    ids = sorted(truth)
    installed = {u.unit_id: u.installed_on for u in _city().units}
    age = np.array([(TRUTH_DAY - installed[i]).days / 365.25 for i in ids])
    counts = np.array([faults[i] for i in ids], dtype=float)
    risk = np.array([truth[i]["p_serious_12m"] for i in ids])
    return age, counts, risk, ids


def test_age_drives_failure_only_in_the_age_world() -> None:
    age, faults, risk, _ = _faults_and_truth("age")
    assert spearmanr(age, faults).statistic > 0.4
    assert spearmanr(age, risk).statistic > 0.5
    for name in ("frailty", "sparse"):
        age, faults, risk, _ = _faults_and_truth(name)
        assert abs(spearmanr(age, faults).statistic) < 0.2, name
        assert abs(spearmanr(age, risk).statistic) < 0.2, name


def test_frailty_is_a_persistent_per_unit_proneness() -> None:
    sim = _run("frailty")
    proneness = {h.unit.unit_id: h.proneness for h in sim.histories()}
    _, faults, _, ids = _faults_and_truth("frailty")
    assert spearmanr([proneness[i] for i in ids], faults).statistic > 0.5
    assert {h.proneness for h in _run("age").histories()} == {1.0}


def test_in_the_inspection_world_findings_point_at_the_units_that_fail() -> None:
    sim = _run("inspection")
    cutoff = datetime(2021, 1, 1).isoformat()
    last: dict[str, str] = {}
    for e in sim.events():
        if e.kind == "inspection" and e.payload["occurred_at"] < cutoff:
            last[e.unit_id] = e.payload["result"]
    _, _, risk, ids = _faults_and_truth("inspection")
    found = np.array([last.get(i, "pass") != "pass" for i in ids])
    assert found.sum() > 20
    assert risk[found].mean() > 2 * risk[~found].mean()
    # Rectification heals: some units come out of an inspection younger than they went in.
    assert any(np.diff(h.effective_age).min() < 0 for h in sim.histories())


def test_sparse_world_reports_faults_only_dated_to_their_month() -> None:
    events = list(_run("sparse").events())
    assert events and {e.kind for e in events} == {"fault"}
    moments = [datetime.fromisoformat(e.payload["occurred_at"]) for e in events]
    assert all((m.hour, m.minute) == (9, 0) for m in moments)
    # The 1st of the month, or a unit's first day when it was installed mid-month.
    assert sum(1 for m in moments if m.day == 1) >= 0.95 * len(moments)


def test_mixed_world_has_proneness_and_defects_and_the_same_register() -> None:
    mixed = _run("mixed").histories()
    assert len({h.proneness for h in mixed}) > 100
    assert any(np.diff(h.aging_rate).max() > 365 for h in mixed)
    assert [h.unit.facts for h in mixed] == [h.unit.facts for h in _run("age").histories()]


def test_an_unknown_world_is_refused_with_the_known_names() -> None:
    with pytest.raises(Invalid, match="age, frailty, inspection, sparse, mixed"):
        world("martian")


def test_simulate_run_takes_a_world(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    argv = ["simulate", "run", "--scenario", "city", "--units", "30", "--years", "1"]
    argv += ["--world", "sparse", "--dry-run", "--events-out", str(events)]
    assert main(argv) == 0
    topics = [orjson.loads(line)["topic"] for line in events.read_bytes().splitlines()]
    assert topics and all(t.endswith("/fault") for t in topics)
