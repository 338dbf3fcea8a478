"""Request and response bodies of renewal plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Action = Literal["replace", "modernize", "overhaul"]


class PlanCreate(BaseModel):
    """What a plan is made from: a funding policy, budgets and the horizon."""

    policy_yaml: str = Field(
        max_length=50_000,
        description="The funding policy as YAML (see examples/funding/ and docs/planning.md).",
    )
    budgets: dict[str, Any] = Field(
        description="Yuan per source per year: {bond: [y1, y2], district: [...], advance: [...], "
        "advance_max_units_per_building: 1}.",
        examples=[{"bond": [600000, 600000]}],
    )
    run_id: int | None = Field(
        default=None, ge=1, le=2**62, description="Score run (default: latest)."
    )
    district_id: str | None = Field(
        default=None,
        max_length=64,
        description="Admins only: plan one district (a bureau plans its own).",
    )
    start: date | None = Field(
        default=None,
        ge=date(2000, 1, 1),
        le=date(2100, 1, 1),
        description="First day (default: next month's first).",
    )
    years: int = Field(default=2, ge=1, le=5)
    period_months: Literal[1, 2, 3, 4, 6, 12] = 12
    method: Literal["auto", "milp", "decomposition", "greedy"] = "auto"
    one_per_building: bool = False
    excluded: dict[str, str] = Field(
        default_factory=dict, max_length=1000, description="Units left out, each with its reason."
    )
    min_interval_years: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="Allow a second action on a unit this many years after the first "
        "(default: one action per unit over the horizon).",
    )
    retrofit_rate: float | None = Field(
        default=None,
        gt=0,
        le=1e6,
        description="Choose retrofits beside renewals, one resident served counting as this "
        "much risk avoided (default: retrofits take the bond money renewals leave).",
    )
    scenarios: bool = True
    note: str | None = Field(default=None, max_length=500)


class PlanRunItem(BaseModel):
    """A stored plan run in a list."""

    plan_id: int
    created_at: datetime
    score_run_id: int
    district_id: str | None = None
    starts_on: date
    years: int
    period_months: int
    method: str
    policy_version: str
    catalogue_version: str
    note: str | None = None
    planned: int | None = None
    cost: float | None = None


class PlanRun(BaseModel):
    """A plan run with its summary, risk trajectory and budget scenarios (the district's totals:
    a street office sees its own rows and buildings, not these)."""

    plan_id: int
    created_at: datetime
    score_run_id: int
    district_id: str | None = None
    starts_on: date
    years: int
    period_months: int
    method: str
    policy_version: str
    policy_hash: str
    catalogue_version: str
    budgets: dict[str, Any]
    options: dict[str, Any]
    summary: dict[str, Any]
    trajectory: dict[str, Any] | None = None
    scenarios: list[dict[str, Any]]
    note: str | None = None


class PlanRow(BaseModel):
    """One unit's planned work and who pays for it."""

    unit_id: str
    building_id: str
    building_name: str
    street_office_id: str
    district_id: str
    year: int
    period: int
    starts_on: date
    phase: int
    action: Action
    cost: float
    bond: float
    district: float
    maintenance_fund: float
    owners: float
    advance: float = Field(
        description="Advanced by a property company or the district, to be repaid."
    )
    benefit: float
    pof: float
    cof: float
    mandatory: bool


class PlanBuilding(BaseModel):
    """A building's phases and what it waits for (collection, vote, assessment)."""

    building_id: str
    street_office_id: str
    district_id: str
    name: str
    units: int
    households: int
    phases: list[dict[str, Any]]
    waits: list[dict[str, Any]]


class PlanRetrofit(BaseModel):
    """A walk-up without an elevator, ranked by need within its street office."""

    building_id: str
    street_office_id: str
    district_id: str
    need: float
    rank_in_street: int
    residents_served: int
    cost: float
    subsidy: float
    year: int | None = Field(
        default=None,
        description="Funded in this year from the bond money renewals leave (2026 rule).",
    )
