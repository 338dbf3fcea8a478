"""Power cuts, fire returns and misuse: events a unit reports that are not the equipment's fault.

They are drawn from random streams of their own (per building for power cuts and fire returns, per
unit for misuse) and never look at condition, so scoring must not count them against the unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulators import params
from simulators.scenario import stable_int

if TYPE_CHECKING:
    from simulators.unitsim import UnitHistory

DAY = 86400


def external_events(h: UnitHistory, seed: int, n_days: int) -> None:
    """Power cuts, fire returns and misuse: drawn without looking at the unit's condition."""
    first = h.active_from
    if first >= n_days:
        return
    years = n_days / params.DAYS_PER_YEAR
    own = np.random.default_rng([seed, stable_int("external", h.unit.unit_id)])
    floors = int(h.unit.facts["floors"])
    for code, per_year in (
        ("41", params.POWER_CUTS_PER_BUILDING_YEAR),
        ("44", params.FIRE_RETURN_PER_BUILDING_YEAR),
    ):
        shared = np.random.default_rng([seed, stable_int(code, h.unit.building_id)])
        n = int(shared.poisson(per_year * years))
        moments = np.sort(shared.integers(0, n_days * DAY, size=n))
        lengths = shared.integers(
            params.POWER_CUT_MINUTES[0], params.POWER_CUT_MINUTES[1] + 1, size=n
        )
        for moment, minutes in zip(moments, lengths, strict=True):
            jitter = int(own.integers(0, 6))
            trapped = code == "41" and bool(own.random() < params.POWER_CUT_ENTRAPMENT)
            if moment >= first * DAY:
                h.records.append(
                    (
                        int(moment) + jitter,
                        h.next_seq("external"),
                        "fault",
                        (
                            code,
                            "external",
                            None,
                            trapped,
                            int(own.integers(1, 4)) if trapped else 0,
                            int(minutes),
                            int(own.integers(1, floors + 1)),
                            None,
                        ),
                    )
                )
    for code, (per_year, p_trap) in params.MISUSE_PER_YEAR.items():
        n = int(own.poisson(per_year * h.usage * (n_days - first) / params.DAYS_PER_YEAR))
        for moment in np.sort(own.integers(first * DAY, n_days * DAY, size=n)):
            trapped = bool(own.random() < p_trap)
            minutes = int(own.integers(params.MISUSE_MINUTES[0], params.MISUSE_MINUTES[1] + 1))
            h.records.append(
                (
                    int(moment),
                    h.next_seq("misuse"),
                    "fault",
                    (
                        code,
                        "misuse",
                        None,
                        trapped,
                        1 if trapped else 0,
                        minutes,
                        int(own.integers(1, floors + 1)),
                        None,
                    ),
                )
            )
