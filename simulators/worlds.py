"""Worlds: hidden truths that differ from the one the scoring policy was written for.

A world changes what drives failure and what the bureau gets to see, never the fleet itself: the
same scenario and seed give the same register in every world. `age` is the original model (wear
grows with effective age). The others are there so an evaluation can show whether a ranking works
where its designers' beliefs are wrong:

- `frailty`: each unit carries a persistent proneness to faults (lognormal, wide); age barely
  matters. Real outage records of old residential lifts look like this.
- `inspection`: wear arrives as defects (random shocks) that inspections find and rectification
  partly removes; calendar age barely matters.
- `sparse`: a frailty-like truth seen through a poor feed: faults only, dated to the month they
  fell in (monthly counts), no inspections, maintenance visits or status samples.
- `mixed`: some of everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Invalid

ALL_FEEDS = frozenset({"fault", "inspection", "maintenance", "status"})


@dataclass(frozen=True)
class World:
    """The knobs of one hidden truth and of the feed that reports it."""

    name: str
    # Effective years of wear per calendar year of service (1 = the original model).
    age_weight: float = 1.0
    # Sigma of a lognormal per-unit multiplier on every equipment fault rate (0 = none).
    proneness_sigma: float = 0.0
    # Defects arriving at random: how many per year, and the effective years each one adds.
    shocks_per_year: float = 0.0
    shock_years: float = 0.0
    # Share of effective age left after rectifying inspection findings (1 = rectification heals
    # nothing, as in the original model).
    rectify_residual: float = 1.0
    # Event kinds the feed carries, and whether faults are dated only to their month.
    feeds: frozenset[str] = ALL_FEEDS
    monthly_faults: bool = False


WORLDS: dict[str, World] = {
    "age": World("age"),
    "frailty": World("frailty", age_weight=0.15, proneness_sigma=0.9),
    "inspection": World(
        "inspection", age_weight=0.2, shocks_per_year=0.35, shock_years=12.0, rectify_residual=0.75
    ),
    "sparse": World(
        "sparse",
        age_weight=0.3,
        proneness_sigma=0.8,
        feeds=frozenset({"fault"}),
        monthly_faults=True,
    ),
    "mixed": World(
        "mixed",
        age_weight=0.6,
        proneness_sigma=0.5,
        shocks_per_year=0.15,
        shock_years=10.0,
        rectify_residual=0.6,
    ),
}
DEFAULT_WORLD = WORLDS["age"]


def world(name: str) -> World:
    """A world by name, or a precise error listing the known ones."""
    try:
        return WORLDS[name]
    except KeyError:
        raise Invalid(f"no world {name!r}: use one of {', '.join(WORLDS)}") from None
