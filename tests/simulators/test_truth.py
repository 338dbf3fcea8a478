"""Ground truth: one row per unit and month, probabilities that rank worn units first, renewals that
reset condition, and probabilities that match what happens."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulators.model import simulate
from simulators.scenario import Scenario, load_scenario
from simulators.truth import TRUTH_COLUMNS, month_starts


@pytest.fixture(scope="module")
def city() -> Scenario:
    return load_scenario("city", units=150, seed=11)


@pytest.fixture(scope="module")
def city_truth(city: Scenario) -> list[dict[str, Any]]:
    return simulate(city, start=date(2019, 1, 1), end=date(2023, 1, 1), seed=3).ground_truth()


def test_rows_cover_every_unit_and_month_and_blank_the_open_windows(
    city: Scenario, city_truth: list[dict[str, Any]]
) -> None:
    months = list(month_starts(date(2019, 1, 1), date(2023, 1, 1)))
    assert len(months) == 48
    per_unit: dict[str, list[dict[str, Any]]] = {}
    for row in city_truth:
        per_unit.setdefault(str(row["unit_id"]), []).append(row)
    assert set(per_unit) == {u.unit_id for u in city.units if u.installed_on <= months[-1]}
    for unit_id, rows in per_unit.items():
        installed = city.unit(unit_id).installed_on
        assert [r["date"] for r in rows] == [m for m in months if m >= installed]
        for r in rows:
            assert 0 <= r["condition"] <= 1 and 0 <= r["p_serious_12m"] <= 1
            assert (r["serious_12m"] is None) == (r["date"] > date(2022, 1, 1))


def test_worn_and_frail_units_have_higher_probability(
    city: Scenario, city_truth: list[dict[str, Any]]
) -> None:
    day = date(2020, 1, 1)
    rows = {r["unit_id"]: r for r in city_truth if r["date"] == day}
    units = [u for u in city.units if u.unit_id in rows]
    p = np.array([rows[u.unit_id]["p_serious_12m"] for u in units])
    cond = np.array([rows[u.unit_id]["condition"] for u in units])
    frailty = np.array([u.hidden.frailty for u in units])
    age = np.array(
        [
            (day - max([u.installed_on, *(r.on for r in u.renewals if r.on <= day)])).days
            for u in units
        ]
    )
    assert p[cond < np.median(cond)].mean() > 2 * p[cond >= np.median(cond)].mean()
    assert p[age > np.median(age)].mean() > p[age <= np.median(age)].mean()
    assert p[frailty > np.median(frailty)].mean() > p[frailty <= np.median(frailty)].mean()


def test_probabilities_match_what_happened(city_truth: list[dict[str, Any]]) -> None:
    closed = [r for r in city_truth if r["serious_12m"] is not None]
    p = np.array([r["p_serious_12m"] for r in closed])
    y = np.array([r["serious_12m"] for r in closed])
    assert abs(p.mean() - y.mean()) < 0.04
    top = p >= np.quantile(p, 0.8)
    assert y[top].mean() > 2 * y[~top].mean()


def test_renewal_resets_condition_and_probability() -> None:
    scenario = load_scenario("seed-cases").subset({"DXYX-02-2", "RFXS-01-1"})
    truth = simulate(scenario, start=date(2023, 1, 1), end=date(2024, 12, 1), seed=1).ground_truth()
    row = {(r["unit_id"], r["date"]): r for r in truth}
    before, after = row[("DXYX-02-2", date(2023, 3, 1))], row[("DXYX-02-2", date(2024, 6, 1))]
    assert before["condition"] < 0.5 and after["condition"] > 0.99
    assert after["p_serious_12m"] < before["p_serious_12m"] / 3
    worn, overhauled = row[("RFXS-01-1", date(2023, 4, 1))], row[("RFXS-01-1", date(2023, 6, 1))]
    assert overhauled["condition"] > worn["condition"] + 0.2


def test_daoxiangyuan_west_units_are_badly_worn_in_april_2023() -> None:
    scenario = load_scenario("seed-cases")
    dxy = scenario.subset({u.unit_id for u in scenario.units if u.unit_id.startswith("DXYX-")})
    truth = simulate(dxy, start=date(2022, 1, 1), end=date(2023, 5, 1), seed=1).ground_truth()
    april = {r["unit_id"]: r for r in truth if r["date"] == date(2023, 4, 1)}
    failed = {"DXYX-02-1", "DXYX-05-1", "DXYX-07-2"}
    assert all(r["condition"] < 0.5 for r in april.values())
    assert max(april[u]["condition"] for u in failed) < min(
        r["condition"] for u, r in april.items() if u not in failed
    )
    assert min(april[u]["p_serious_12m"] for u in failed) > 0.6


def test_truth_file_has_the_documented_columns(tmp_path: Path) -> None:
    scenario = load_scenario("seed-cases").subset({"ZZEQ-01-1", "HTRD-01-1"})
    sim = simulate(scenario, start=date(2021, 1, 1), end=date(2022, 7, 1), seed=1)
    path = tmp_path / "truth.csv"
    n = sim.write_ground_truth(path)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == TRUTH_COLUMNS
    assert len(rows) == n == len(sim.ground_truth())
    assert {r["serious_12m"] for r in rows} <= {"0", "1", ""}
    assert rows[-1]["serious_12m"] == ""
    assert all(0 <= float(r["p_serious_12m"]) <= 1 for r in rows)
    again = tmp_path / "again.csv"
    simulate(scenario, start=date(2021, 1, 1), end=date(2022, 7, 1), seed=1).write_ground_truth(
        again
    )
    assert again.read_bytes() == path.read_bytes()


def test_truth_is_not_in_the_register_or_the_events() -> None:
    scenario = load_scenario("seed-cases").subset({"DXYX-02-1"})
    tweaked = replace(
        scenario, units=[replace(u, hidden=replace(u.hidden, frailty=9.0)) for u in scenario.units]
    )
    assert scenario.register_rows() == tweaked.register_rows()
    sim = simulate(scenario, start=date(2022, 1, 1), end=date(2022, 3, 1), seed=1)
    for event in sim.events():
        text = event.encode().decode()
        assert "frailty" not in text and "condition" not in text
