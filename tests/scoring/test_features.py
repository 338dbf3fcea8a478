"""Features as of a date: what counts, what does not, and nothing from after the date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import yaml

from scoring.glm import FittedWeights
from scoring.health import prior_weights, soft_cap
from scoring.policy import default_policy_path, load_policy
from scoring.run import Scored, factors_of, score
from tests.scoring import factories as f

AS_OF = date(2023, 5, 1)
POLICY = load_policy()


def _score(conn: psycopg.Connection[Any], as_of: date = AS_OF) -> Scored:
    return score(conn, as_of=as_of, policy=POLICY, expected_life_years=18.0)


def _fleet(conn: psycopg.Connection[Any]) -> None:
    """Twelve units in four buildings with a year of ordinary history."""
    f.place(conn)
    for b in range(4):
        f.building(conn, f"B{b}")
        for u in range(3):
            unit_id = f"U{b}{u}"
            f.unit(conn, unit_id, building_id=f"B{b}", installed_on=f"{2000 + 5 * b}-03-01")
            for k in range(b + u):
                f.fault(
                    conn,
                    unit_id,
                    f.at("2023-01-01") + timedelta(days=20 * k),
                    severity="critical" if k % 3 == 0 else "minor",
                    entrapment=k == 1,
                )
            f.inspection(conn, unit_id, f.at("2022-09-01"), items=u)
            f.maintenance(conn, unit_id, "2022-05-01", "2023-04-30", every_days=14 + 3 * u)


def test_power_cuts_and_misuse_in_bulk_do_not_move_health(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    before = _score(conn)
    rng = np.random.default_rng(3)
    with conn.cursor() as cur:
        for unit_id in before.features.unit_ids:
            for _ in range(60):
                when = f.at("2022-06-01") + timedelta(hours=float(rng.uniform(0, 330 * 24)))
                code, cause = ("41", "external") if rng.random() < 0.7 else ("99", "misuse")
                cur.execute(
                    "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code,"
                    " cause, severity, entrapment, passengers_trapped, ended_at)"
                    " VALUES (gen_random_uuid(), %s, 'K1', %s, %s, %s, 'major', true, 2, %s)",
                    (unit_id, when, code, cause, when + timedelta(hours=5)),
                )
    after = _score(conn)
    np.testing.assert_array_equal(before.health.health, after.health.health)
    np.testing.assert_array_equal(before.health.pof, after.health.pof)
    assert list(before.flag) == list(after.flag)
    assert after.columns["excluded_365d"].min() >= 40
    assert before.columns["excluded_365d"].max() == 0


def test_nothing_after_the_as_of_date_counts(conn: psycopg.Connection[Any]) -> None:
    _fleet(conn)
    before = _score(conn)
    later = f.at("2023-05-02", 1)  # 01:00 China time the next day
    for unit_id in ("U00", "U11"):
        for k in range(5):
            f.fault(conn, unit_id, later + timedelta(days=k), severity="critical", entrapment=True)
        f.inspection(conn, unit_id, later, result="fail", items=6)
        f.maintenance(conn, unit_id, "2023-05-02", "2023-06-30", every_days=3)
    conn.execute("INSERT INTO unit_renewal (unit_id, renewed_on) VALUES ('U22', '2023-06-01')")
    conn.execute("UPDATE unit SET renewed_on = '2023-06-01' WHERE unit_id = 'U22'")
    conn.execute(
        "UPDATE unit SET service_status = 'stopped' WHERE unit_id = 'U33' OR unit_id = 'U01'"
    )
    conn.execute(
        "INSERT INTO unit_change (unit_id, field, old_value, new_value, changed_at, source)"
        " VALUES ('U01', 'service_status', 'in_service', 'stopped', %s, 'test')",
        (later,),
    )
    after = _score(conn)
    for name in ("age_years", "faults_365d", "failed_inspection_open", "missed_maintenance"):
        np.testing.assert_array_equal(before.columns[name], after.columns[name], err_msg=name)
    np.testing.assert_array_equal(before.health.health, after.health.health)
    assert list(before.flag) == list(after.flag)
    # The same events do count once the date has passed.
    moved = _score(conn, date(2023, 7, 1))
    i = moved.features.unit_ids.index("U00")
    assert moved.flag[i] == "stopped"
    assert moved.columns["age_years"][moved.features.unit_ids.index("U22")] < 0.1
    assert moved.flag[moved.features.unit_ids.index("U01")] == "stopped"


def _power_law_times(
    rng: np.random.Generator, n: int, beta: float, start: datetime, window_days: float
) -> list[datetime]:
    """Event times of a power-law process given n events in the window."""
    u = np.sort(rng.random(n))
    return [start + timedelta(days=float(window_days * x ** (1.0 / beta))) for x in u]


def test_crow_amsaa_beta_recovers_the_process_slope(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B1")
    rng = np.random.default_rng(4)
    window = POLICY.section("features")["trend_window_days"]
    start = f.at((AS_OF + timedelta(days=1 - window)).isoformat(), 0)
    for unit_id, beta in (("RISING", 2.0), ("STEADY", 1.0), ("EASING", 0.6)):
        f.unit(conn, unit_id, building_id="B1", installed_on="2005-01-01")
        for when in _power_law_times(rng, 400, beta, start, window):
            f.fault(conn, unit_id, when, severity="minor")
    scored = _score(conn)
    got = dict(zip(scored.features.unit_ids, scored.columns["trend_beta"], strict=True))
    # Standard error is about beta / sqrt(n) = beta / 20; allow 3.5 of them.
    assert abs(got["RISING"] - 2.0) < 0.35
    assert abs(got["STEADY"] - 1.0) < 0.18
    assert abs(got["EASING"] - 0.6) < 0.11
    trend = dict(zip(scored.features.unit_ids, scored.health.modifiers["trend"], strict=True))
    assert trend["RISING"] > 1.0 > trend["EASING"]


def test_open_rectification_closes_on_a_passing_reinspection(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "OPEN", building_id="B1")
    f.unit(conn, "CLOSED", building_id="B1")
    f.unit(conn, "FAILED", building_id="B1")
    for unit_id in ("OPEN", "CLOSED"):
        f.inspection(conn, unit_id, f.at("2023-01-10"), items=4)
    f.inspection(conn, "CLOSED", f.at("2023-02-10"), reinspection=True)
    f.inspection(conn, "FAILED", f.at("2022-03-01"))
    f.inspection(conn, "FAILED", f.at("2023-03-01"), result="fail", items=7)
    cols = _score(conn).columns
    by = dict(zip(_score(conn).features.unit_ids, range(3), strict=True))
    assert cols["open_rectification"][by["OPEN"]] == 4
    assert cols["open_rectification"][by["CLOSED"]] == 0
    assert cols["failed_inspection_open"][by["FAILED"]] == 1
    assert cols["inspection_overdue"][by["OPEN"]] == 0


def test_an_open_failed_inspection_is_a_weighed_factor_not_a_floor(
    conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """A unit stopped by a failed inspection is repaired before it runs again: the failure
    multiplies its index by a factor whose weight a fleet's history can learn, instead of holding
    the index at a fixed floor. The floor is still there for a policy that asks for it."""
    f.place(conn)
    f.building(conn, "B1")
    for unit_id in ("STOPPED", "REPAIRED"):
        f.unit(conn, unit_id, building_id="B1", installed_on="2016-06-01")
        f.inspection(conn, unit_id, f.at("2022-03-01"))
        f.inspection(conn, unit_id, f.at("2023-03-01"), result="fail")
        f.fault(conn, unit_id, f.at("2023-01-05"), severity="minor")
    f.inspection(conn, "REPAIRED", f.at("2023-04-10"), reinspection=True)
    scored = _score(conn)
    at = {u: i for i, u in enumerate(scored.features.unit_ids)}
    stopped, repaired = at["STOPPED"], at["REPAIRED"]
    hs = scored.health
    value = POLICY.section("health")["modifiers"]["failed_inspection"]["value"]
    assert value > 1.0
    assert hs.modifiers["failed_inspection"][stopped] == pytest.approx(value)
    assert hs.modifiers["failed_inspection"][repaired] == 1.0
    # The two units differ by the open failure alone: their indexes by its modifier, no floor.
    assert hs.health[stopped] < 8.0
    np.testing.assert_allclose(hs.health[stopped] / hs.health[repaired], value, rtol=0.02)
    # The failure is said once, first, carrying the health points it adds.
    factors = factors_of(scored, stopped)
    named = [x["factor"] for x in factors]
    assert named[0] == "failed_inspection" and named.count("failed_inspection") == 1
    assert factors[0]["modifier"] == pytest.approx(value, abs=1e-4)
    assert factors[0]["contribution"] > 0
    # A fleet whose history shows failures foretelling less weighs the factor by its own weight.
    learned = {**prior_weights(POLICY.params), "failed_inspection": 0.5}
    fitted = FittedWeights(
        weights=learned,
        low=learned,
        high=learned,
        prior=prior_weights(POLICY.params),
        intercept=0.0,
        rows=1,
        events=1.0,
        strength=200.0,
    )
    weighed = score(
        conn, as_of=AS_OF, policy=POLICY, expected_life_years=18.0, fitted=fitted
    ).health
    assert weighed.modifiers["failed_inspection"][stopped] == pytest.approx(value**0.5)
    np.testing.assert_allclose(
        weighed.health[stopped] / weighed.health[repaired], value**0.5, rtol=0.02
    )
    # A policy that asks for a floor still gets one.
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    data["health"]["failed_inspection_collar"] = 8.0
    floored_path = tmp_path / "floored.yaml"
    floored_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    floored = score(
        conn, as_of=AS_OF, policy=load_policy(floored_path), expected_life_years=18.0
    ).health
    h = POLICY.section("health")
    floor = soft_cap(np.array([8.0]), knee=h["knee"], top=h["bounds"][1], scale=h["cap_scale"])
    assert floored.health[stopped] == pytest.approx(floor[0])
    assert floored.health[repaired] == hs.health[repaired]


def test_the_whole_record_and_the_batch(conn: psycopg.Connection[Any]) -> None:
    """The whole record reaches back past three years but never before the records begin; a
    unit's batch is its compound's units of the same maker and installation, in any building."""
    f.place(conn)
    f.place(conn, community="C2")
    for building, community in (("B1", "C1"), ("B2", "C1"), ("B3", "C2")):
        f.building(conn, building, community=community)
    f.unit(conn, "A1", building_id="B1", installed_on="2006-06-30")
    f.unit(conn, "A2", building_id="B2", installed_on="2006-06-30")
    f.unit(conn, "A3", building_id="B2", installed_on="2006-06-30", manufacturer="M2")
    f.unit(conn, "A4", building_id="B3", installed_on="2006-06-30")
    f.unit(conn, "A5", building_id="B1", installed_on="2015-06-30")
    f.inspection(conn, "A1", f.at("2023-04-12"), result="fail")
    for day in ("2018-01-10", "2018-03-01", "2018-05-01", "2018-07-01", "2023-03-01"):
        f.fault(conn, "A2", f.at(day))
    scored = _score(conn)
    ids = scored.features.unit_ids
    cols = scored.columns
    at = {u: i for i, u in enumerate(ids)}
    a2 = at["A2"]
    assert cols["history_faults"][a2] == 5
    assert cols["trend_faults"][a2] == 1
    # Installed in 2006, observed only since the first record (2018-01-10), not for ten years.
    observed = (AS_OF - date(2018, 1, 10)).days + 1
    assert cols["history_years"][a2] == observed / 365.0
    cutoff = datetime(2023, 5, 2) - datetime(2023, 3, 1, 10)
    weighed = float(np.exp(-cutoff.total_seconds() / 86400.0 / 180.0))
    assert abs(cols["faults_decayed"][a2] - weighed) < 1e-3
    assert [int(cols["batch_peers"][at[u]]) for u in ("A1", "A2", "A3", "A4", "A5")] == [
        1,
        1,
        0,
        0,
        0,
    ]
    # A1's own failure is not its batch's; A2's batch-mate in the other building failed.
    assert [int(cols["batch_failed_peers"][at[u]]) for u in ("A1", "A2", "A3", "A4", "A5")] == [
        0,
        1,
        0,
        0,
        0,
    ]
    assert scored.health.modifiers["batch_failures"][a2] > 1.0
    assert scored.health.modifiers["batch_failures"][at["A3"]] == 1.0
