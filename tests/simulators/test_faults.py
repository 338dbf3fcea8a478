"""Fault injection: exact counts of every category, whatever the plan."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from core.errors import Invalid
from simulators.faults import FaultPlan, InjectionCounts, inject
from simulators.model import simulate
from simulators.scenario import load_scenario
from tests.simulators.accounting import classify

PLAN = FaultPlan(
    duplicates=30,
    out_of_order=12,
    late=6,
    malformed=9,
    schema_violations=11,
    unknown_units=5,
    wrong_contractor=7,
    oversized=3,
    offline=2,
    seed=5,
    oversized_bytes=300_000,
)


def test_plan_parses_from_the_command_line_form() -> None:
    plan = FaultPlan.parse("duplicates=50, malformed=10,out-of-order=3,late_by_hours=2.5")
    assert (plan.duplicates, plan.malformed, plan.out_of_order, plan.late_by_hours) == (
        50,
        10,
        3,
        2.5,
    )
    with pytest.raises(Invalid, match="NAME=COUNT"):
        FaultPlan.parse("gremlins=3")
    with pytest.raises(Invalid, match="not a number"):
        FaultPlan.parse("duplicates=many")


def test_every_injected_message_is_counted() -> None:
    scenario = load_scenario("seed-cases")
    events = list(simulate(scenario, start=date(2022, 6, 1), end=date(2023, 1, 1), seed=2).events())
    counts = InjectionCounts()
    messages = list(inject(events, PLAN, counts))
    categories, valid_ids = classify(((m.topic, m.payload) for m in messages), scenario)

    assert categories["malformed"] == counts.sent["malformed"] == 9
    assert categories["schema_violation"] == counts.sent["schema_violation"] == 11
    assert categories["unknown_unit"] == counts.sent["unknown_unit"] == 5
    assert categories["wrong_contractor"] == counts.sent["wrong_contractor"] == 7
    assert categories["oversized"] == counts.sent["oversized"] == 3
    assert len(valid_ids) == sum(counts.valid.values())
    assert sum(valid_ids.values()) - len(valid_ids) == counts.sent["duplicate"] == 30
    assert counts.offline_units == 2 and counts.suppressed > 0
    assert len(messages) == sum(counts.sent.values())
    # Every event of the stream was sent once, except those of units after they went offline.
    sent_ids = {e.payload["event_id"] for e in events} & set(valid_ids)
    assert len(sent_ids) == len(events) - counts.suppressed
    # Out-of-order and late events really arrive after later ones.
    order = [m.at for m in messages if m.category == "valid"]
    inversions = sum(a > b for a, b in pairwise(order))
    assert inversions >= counts.out_of_order > 0 and counts.late > 0


def test_no_plan_sends_the_stream_unchanged() -> None:
    scenario = load_scenario("seed-cases").subset({"ZZEQ-01-1"})
    events = list(simulate(scenario, start=date(2022, 1, 1), end=date(2022, 6, 1), seed=1).events())
    counts = InjectionCounts()
    messages = list(inject(events, None, counts))
    assert [(m.topic, m.payload) for m in messages] == [(e.topic, e.encode()) for e in events]
    assert set(counts.sent) == {"valid"}
