"""A funding policy: who pays for what, for one city and a range of years, from a typed YAML file.

Sources, in the order they are drawn on for one unit's work:

* ``bond``: the treasury-bond renewal subsidy per unit (flat, or by stop band as in the 2026 rule),
  for eligible actions and units (age and an assessment recommending the action, or a failed
  inspection);
* ``district``: a district's share of the cost, capped per action, for work finished within some
  months of the unit's safety assessment (Chengdu);
* the rest is paid by the building's ``maintenance_fund`` once the owners have voted (Civil Code art.
  278), by the ``owners`` once their collection passes the threshold, or by an ``advance`` (a property
  company's or the district's) to be repaid.

Example files, with their sources, are in ``examples/funding/``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from planning.catalogue import RENEWALS, Band

SOURCES = ("bond", "district", "maintenance_fund", "owners", "advance")
BUDGETED = ("bond", "district", "advance")


@dataclass(frozen=True)
class Bond:
    """The treasury-bond subsidy."""

    actions: tuple[str, ...]
    per_unit: float | None
    by_stops: tuple[Band, ...]
    min_age_years: float
    needs_assessment: bool
    stopped_qualifies: bool

    def amount(self, stops: int | None) -> float:
        """The subsidy for one unit of this many stops (unknown stops: the lowest band)."""
        if self.per_unit is not None:
            return self.per_unit
        if stops is None:
            return self.by_stops[0].yuan
        return next((b.yuan for b in self.by_stops if stops <= b.max_stops), self.by_stops[-1].yuan)


@dataclass(frozen=True)
class District:
    """A district's share of the cost, capped per action."""

    share: float
    caps: dict[str, float]
    within_months_of_assessment: int | None
    needs_assessment: bool = True


@dataclass(frozen=True)
class Fund:
    """Use of a building's public maintenance fund."""

    approve_share: float
    quorum: float
    replacement_is_rebuilding: bool
    emergency_min_age_years: float | None


@dataclass(frozen=True)
class Retrofit:
    """The subsidy for adding an elevator to a walk-up."""

    share: float
    cap: float
    from_bond_pot: bool


@dataclass(frozen=True)
class FundingPolicy:
    """One city's funding rules for a range of years."""

    version: str
    hash: str
    city: str
    years: tuple[int, int]
    bond: Bond | None
    district: District | None
    fund: Fund
    collection_threshold: float
    levy_per_m2: float | None
    retrofit: Retrofit | None
    sources: tuple[str, ...] = field(default=SOURCES)


def _number(raw: dict[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    try:
        value = float(raw[key])
    except KeyError:
        raise ConfigError(f"{where}: {key} is missing") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: {key} must be between {lo} and {hi}, got {value}")
    return value


def _actions(raw: Any, where: str) -> tuple[str, ...]:
    actions = tuple(raw or ())
    unknown = set(actions) - set(RENEWALS)
    if unknown:
        raise ConfigError(f"{where}: unknown actions {sorted(unknown)}; expected {RENEWALS}")
    return actions


def _bond(raw: Any, where: str) -> Bond | None:
    if raw is None:
        return None
    where = f"{where}: bond"
    by_stops: tuple[Band, ...] = ()
    per_unit = None
    if "per_unit" in raw:
        per_unit = _number(raw, "per_unit", where, 0, 1e7)
    elif "per_unit_by_stops" in raw:
        try:
            by_stops = tuple(
                Band(int(b["max_stops"]), float(b["yuan"])) for b in raw["per_unit_by_stops"]
            )
        except (TypeError, KeyError, ValueError):
            raise ConfigError(f"{where}: per_unit_by_stops must list {{max_stops, yuan}}") from None
        if not by_stops:
            raise ConfigError(f"{where}: per_unit_by_stops is empty")
    else:
        raise ConfigError(f"{where}: give per_unit (flat) or per_unit_by_stops (a band table)")
    eligibility = raw.get("eligibility") or {}
    return Bond(
        actions=_actions(raw.get("actions", ["replace"]), where),
        per_unit=per_unit,
        by_stops=by_stops,
        min_age_years=float(eligibility.get("min_age_years", 15)),
        needs_assessment=bool(eligibility.get("needs_assessment", True)),
        stopped_qualifies=bool(eligibility.get("stopped_qualifies", True)),
    )


def _district(raw: Any, where: str) -> District | None:
    if raw is None:
        return None
    where = f"{where}: district"
    caps = raw.get("caps") or {}
    _actions(list(caps), where)
    within = raw.get("within_months_of_assessment")
    return District(
        share=_number(raw, "share", where, 0, 1),
        caps={k: float(v) for k, v in caps.items()},
        within_months_of_assessment=int(within) if within is not None else None,
        needs_assessment=bool(raw.get("needs_assessment", True)),
    )


def _fund(raw: Any, where: str) -> Fund:
    raw = raw or {}
    vote = raw.get("vote") or {}
    emergency = raw.get("emergency_without_vote") or {}
    return Fund(
        approve_share=float(vote.get("approve_share", 0.5)),
        quorum=float(vote.get("quorum", 2 / 3)),
        replacement_is_rebuilding=bool(raw.get("replacement_is_rebuilding", False)),
        emergency_min_age_years=(
            float(emergency["min_age_years"]) if "min_age_years" in emergency else None
        ),
    )


def _retrofit(raw: Any, where: str) -> Retrofit | None:
    if raw is None:
        return None
    where = f"{where}: retrofit"
    return Retrofit(
        share=_number(raw, "share", where, 0, 1),
        cap=_number(raw, "cap", where, 0, 1e7),
        from_bond_pot=bool(raw.get("from_bond_pot", False)),
    )


def parse_policy(text: str, *, where: str = "funding policy") -> FundingPolicy:
    """A funding policy from YAML text; ConfigError naming what is wrong and where."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with version, city, years")
    for key in ("version", "city", "years"):
        if key not in raw:
            raise ConfigError(f"{where}: {key} is missing")
    years = raw["years"]
    if not (isinstance(years, list) and len(years) == 2 and years[0] <= years[1]):
        raise ConfigError(f"{where}: years must be [first, last], e.g. [2024, 2025]")
    owners = raw.get("owners") or {}
    return FundingPolicy(
        version=str(raw["version"]),
        hash=hashlib.sha256(text.encode()).hexdigest()[:16],
        city=str(raw["city"]),
        years=(int(years[0]), int(years[1])),
        bond=_bond(raw.get("bond"), where),
        district=_district(raw.get("district"), where),
        fund=_fund(raw.get("maintenance_fund"), where),
        collection_threshold=float(owners.get("collection_threshold", 0.5)),
        levy_per_m2=float(owners["levy_per_m2"]) if "levy_per_m2" in owners else None,
        retrofit=_retrofit(raw.get("retrofit"), where),
    )


def load_policy(path: Path) -> FundingPolicy:
    """The funding policy in a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the funding policy {path}: {exc.strerror}") from None
    return parse_policy(text, where=str(path))


@dataclass(frozen=True)
class Budgets:
    """Yuan per budgeted source per plan year, and the rule of the advance."""

    amounts: dict[str, list[float]]
    advance_max_units_per_building: int | None = None

    def bumped(self, source: str, yuan: float) -> Budgets:
        """The same budgets with ``yuan`` more for ``source`` in the first year."""
        amounts = {s: list(v) for s, v in self.amounts.items()}
        amounts[source][0] += yuan
        return Budgets(amounts, self.advance_max_units_per_building)


def parse_budgets(raw: Any, *, years: int, where: str = "budgets") -> Budgets:
    """Budgets per budgeted source per year ({bond: [y1, y2, ...], ...}); a missing source has none."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of source to yearly amounts")
    raw = dict(raw)
    per_building = raw.pop("advance_max_units_per_building", None)
    unknown = set(raw) - set(BUDGETED)
    if unknown:
        raise ConfigError(
            f"{where}: unknown sources {sorted(unknown)}; budgets apply to {', '.join(BUDGETED)} "
            "(the maintenance fund is each building's balance; owners pay once collection passes)"
        )
    budgets = {}
    for source in BUDGETED:
        amounts = raw.get(source, [0.0])
        if not isinstance(amounts, list):
            amounts = [amounts]
        try:
            values = [float(a) for a in amounts]
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {source} must be numbers of yuan") from None
        if any(v < 0 for v in values):
            raise ConfigError(f"{where}: {source} has a negative amount")
        # A shorter list repeats its last year, so a flat budget is one number.
        budgets[source] = (values + [values[-1]] * years)[:years]
    if per_building is not None and (not isinstance(per_building, int) or per_building < 1):
        raise ConfigError(f"{where}: advance_max_units_per_building must be a whole number ≥ 1")
    return Budgets(budgets, per_building)
