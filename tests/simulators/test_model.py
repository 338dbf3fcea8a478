"""The hidden model's event streams: published facts reproduced, contract respected, deterministic,
external causes independent of condition."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from core.contracts import PAYLOADS
from simulators.model import SimEvent, simulate
from simulators.scenario import Scenario, load_scenario

DXY_FAILED = {"DXYX-02-1", "DXYX-05-1", "DXYX-07-2"}


@pytest.fixture(scope="module")
def seed_cases() -> Scenario:
    return load_scenario("seed-cases")


@pytest.fixture(scope="module")
def events(seed_cases: Scenario) -> list[SimEvent]:
    sim = simulate(seed_cases, start=date(2022, 1, 1), end=date(2023, 8, 1), seed=1)
    return list(sim.events())


def _digest(events: list[SimEvent]) -> str:
    h = hashlib.sha256()
    for e in events:
        h.update(e.topic.encode() + b"\n" + e.encode() + b"\n")
    return h.hexdigest()


def test_daoxiangyuan_west_inspection_of_2023_04_12(events: list[SimEvent]) -> None:
    on_day = [
        e
        for e in events
        if e.kind == "inspection"
        and e.unit_id.startswith("DXYX-")
        and e.payload["occurred_at"].startswith("2023-04-12")
    ]
    results = {e.unit_id: e.payload["result"] for e in on_day}
    assert len(results) == 8
    assert {u for u, r in results.items() if r == "fail"} == DXY_FAILED
    assert Counter(results.values()) == {"fail": 3, "pass_after_rectification": 5}
    for e in on_day:
        assert e.payload["defects"], "hazards were found in every unit"
        if e.payload["result"] == "fail":
            assert "certificate_expiry" not in e.payload


def test_failed_units_stay_stopped_until_renewed(events: list[SimEvent]) -> None:
    after = [
        e
        for e in events
        if e.kind == "status"
        and e.unit_id in DXY_FAILED
        and e.payload["occurred_at"] > "2023-04-13"
    ]
    assert after and all(e.payload["in_service"] is False for e in after)
    stops = [e for e in events if e.kind == "fault" and e.payload["code"] == "42"]
    assert {e.unit_id for e in stops} >= DXY_FAILED


def test_runfeng_overhauls_are_done_by_mid_july(events: list[SimEvent]) -> None:
    done = {
        e.unit_id
        for e in events
        if e.kind == "maintenance"
        and e.unit_id.startswith("RFXS-")
        and e.payload.get("notes") == "overhaul completed"
        and e.payload["occurred_at"] < "2023-07-16"
    }
    assert len(done) == 18


def test_every_payload_meets_the_contract_and_the_stream_is_in_time_order(
    events: list[SimEvent],
) -> None:
    assert Counter(e.kind for e in events).keys() == {
        "fault",
        "inspection",
        "maintenance",
        "status",
    }
    times = []
    for e in events:
        model = PAYLOADS[e.kind].model_validate(e.payload)
        assert model.occurred_at.utcoffset() == timedelta(hours=8)
        times.append(datetime.fromisoformat(e.payload["occurred_at"]))
    assert times == sorted(times)
    assert len({e.payload["event_id"] for e in events}) == len(events)


def test_external_and_misuse_events_are_not_counted_against_the_equipment(
    events: list[SimEvent],
) -> None:
    causes = Counter(
        (e.payload["code"], e.payload.get("cause")) for e in events if e.kind == "fault"
    )
    assert causes[("41", "external")] > 0
    assert causes[("98", "misuse")] > 0
    assert all(cause == "equipment" for (code, cause) in causes if code in ("01", "02", "93"))


def test_same_seed_same_bytes_other_seed_other_stream(seed_cases: Scenario) -> None:
    small = seed_cases.subset({"DXYX-02-1", "RFXS-01-1", "HTRD-01-1", "ZZEQ-01-1"})

    def run(seed: int) -> str:
        sim = simulate(small, start=date(2021, 1, 1), end=date(2023, 1, 1), seed=seed)
        return _digest(list(sim.events()))

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_external_events_do_not_depend_on_condition(seed_cases: Scenario) -> None:
    base = seed_cases.subset({"RFXS-01-1", "RFXS-01-2"})
    frail = replace(
        base,
        units=[
            replace(u, hidden=replace(u.hidden, frailty=u.hidden.frailty * 3)) for u in base.units
        ],
    )

    def by_cause(scenario: Scenario) -> tuple[list[str], int]:
        sim = simulate(scenario, start=date(2019, 1, 1), end=date(2022, 1, 1), seed=4)
        faults = [e for e in sim.events() if e.kind == "fault"]
        outside = [
            e.topic + e.encode().decode()
            for e in faults
            if e.payload.get("cause") in ("external", "misuse")
        ]
        return outside, sum(e.payload.get("cause") == "equipment" for e in faults)

    outside_base, equipment_base = by_cause(base)
    outside_frail, equipment_frail = by_cause(frail)
    assert outside_base and outside_base == outside_frail
    assert equipment_frail > 1.5 * equipment_base


def test_status_samples_follow_the_requested_rate(seed_cases: Scenario) -> None:
    one = seed_cases.subset({"ZZEQ-01-1"})
    sim = simulate(
        one,
        start=date(2022, 1, 1),
        end=date(2022, 1, 2),
        seed=1,
        status_every=timedelta(minutes=10),
    )
    status = [e for e in sim.events() if e.kind == "status"]
    assert len(status) == 144
    trips = [e.payload["trips"] for e in status]
    assert trips == sorted(trips) and trips[-1] > trips[0]
    none = simulate(one, start=date(2022, 1, 1), end=date(2022, 2, 1), seed=1, status_every=None)
    assert not [e for e in none.events() if e.kind == "status"]
