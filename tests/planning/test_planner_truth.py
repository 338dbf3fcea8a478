"""The hidden model's view of planned work: what a replacement or an overhaul does to a simulated
unit's true expected serious failures, year by year."""

from __future__ import annotations

from datetime import date

import pytest

from liftwatch.planeval import end_of, true_failures
from simulators.model import simulate
from simulators.scenario import load_scenario
from simulators.unitsim import UnitHistory

ORIGIN = date(2020, 1, 1)
START = date(2023, 5, 1)


@pytest.fixture(scope="module")
def worn() -> UnitHistory:
    """Daoxiangyuan West's worst unit, simulated from 2020 to three years past the plan's start."""
    spec = load_scenario("seed-cases").subset({"DXYX-05-1"})
    (h,) = simulate(spec, start=ORIGIN, end=end_of(START, 3), seed=1).histories()
    return h


def test_work_lowers_the_true_failures_from_when_it_is_done(worn: UnitHistory) -> None:
    nothing = true_failures(worn, origin=ORIGIN, start=START, years=3, work=None)
    replaced = true_failures(worn, origin=ORIGIN, start=START, years=3, work=(START, "replace"))
    overhauled = true_failures(worn, origin=ORIGIN, start=START, years=3, work=(START, "overhaul"))
    later = true_failures(
        worn, origin=ORIGIN, start=START, years=3, work=(date(2024, 5, 1), "replace")
    )
    assert nothing.sum() > 0
    assert replaced.sum() < overhauled.sum() < nothing.sum()
    assert later[0] == pytest.approx(nothing[0], rel=1e-3)  # nothing changes before the work
    assert replaced.sum() < later.sum() < nothing.sum()
