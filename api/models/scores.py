"""Response bodies of rankings, explanations and score runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.models.common import Body, Day
from core import vocab

# The flags of core.vocab, as the API publishes them.
Flag = vocab.Flag
Sort = Literal["risk", "health", "pof", "cof"]


class Sentence(BaseModel):
    """One reason, in both languages."""

    factor: str | None = None
    zh: str | None = Field(default=None, examples=["定期检验不合格，电梯已停用"])
    en: str | None = Field(
        default=None, examples=["failed periodic inspection; the unit is stopped"]
    )


class ScoreRun(BaseModel):
    """A stored score run: when it scored as of, with which policy and model."""

    run_id: int = Field(examples=[12])
    as_of: date = Field(examples=["2023-04-30"])
    created_at: datetime
    policy_version: str
    policy_hash: str
    model_version: str | None = None
    unit_count: int
    timings: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None


class ScoredUnit(BaseModel):
    """A unit's score in a run, with its first reasons."""

    unit_id: str = Field(examples=["DXY-W-2-A"])
    registration_code: str
    building_id: str
    building_name: str = Field(examples=["2号楼"])
    community_id: str
    street_office_id: str
    district_id: str
    contractor_id: str
    rank: int = Field(examples=[1])
    pof_rank: int | None = Field(
        default=None, examples=[1], description="Rank by likelihood of failure within the run."
    )
    health: float = Field(
        description="Deterioration index: 0.5 (new) to 10 (worn out); higher is worse."
    )
    pof: float = Field(description="Probability of failure.")
    cof: float = Field(description="Consequence of failure.")
    risk: float
    model_probability: float | None = None
    flag: Flag
    flag_rule: str
    reasons: list[Sentence]


class RankedUnit(ScoredUnit):
    """A unit's place in a run's ranking: its rank in your scope and in the fleet, its place with
    names, and what a bureau hands out (households, floors, installation, age)."""

    scope_rank: int = Field(
        examples=[1], description="Place in this list (your scope, filters and sort), from 1."
    )
    district_name: str
    district_name_en: str | None
    street_office_name: str
    street_office_name_en: str | None
    community_name: str
    community_name_en: str | None
    households: int
    floors: int
    contractor_name: str
    contractor_name_en: str | None
    installed_on: date
    renewed_on: date | None
    service_status: str
    age: float | None = Field(
        description="Years since installation or the latest renewal, on the run's as-of date."
    )


class RankingPage(BaseModel):
    """A page of a ranking and the run it comes from (null when no run exists yet)."""

    run: ScoreRun | None
    items: list[RankedUnit]
    next_cursor: str | None = None


class Explanation(ScoredUnit):
    """Why a unit scores as it does: every factor and the rule behind its flag."""

    run_id: int
    as_of: date
    created_at: datetime
    policy_version: str
    policy_hash: str
    model_version: str | None = None
    unit_count: int
    manufacturer: str
    installed_on: date
    renewed_on: date | None = None
    service_status: str
    floors: int
    households: int
    elderly_share: float | None = None
    factors: list[dict[str, Any]] = Field(
        description="Every factor: value, contribution, zh and en sentences."
    )
    flag_reason: Sentence | None = None


class ScoreRunCreate(Body):
    """Start a score run."""

    as_of: Day | None = Field(default=None, description="Score as of this date; default today.")
    note: str | None = Field(default=None, max_length=500)


class Why(BaseModel):
    """A factor whose contribution changed between two runs."""

    factor: str
    delta: float
    zh: str | None = None
    en: str | None = None


class Movement(BaseModel):
    """A unit that moved between two runs."""

    unit_id: str
    rank_a: int | None = None
    rank_b: int | None = None
    health_a: float | None = None
    health_b: float | None = None
    risk_a: float | None = None
    risk_b: float | None = None
    flag_a: str | None = None
    flag_b: str | None = None
    moved: int | None = Field(default=None, description="Places moved up (positive) or down.")
    why: list[Why]


class Comparison(BaseModel):
    """What moved up or down from run A to run B, and why."""

    run_a: ScoreRun
    run_b: ScoreRun
    moved_up: list[Movement]
    moved_down: list[Movement]
    flag_changes: list[Movement]
    only_in_a: list[str]
    only_in_b: list[str]


class FittedFactor(BaseModel):
    """One factor of the condition model: its prior weight and the weight fitted on the fleet."""

    factor: str = Field(examples=["fault_rate"])
    prior: float = Field(examples=[1.0])
    weight: float = Field(examples=[1.09])
    low: float | None = Field(default=None, description="90% interval, lower end.")
    high: float | None = Field(default=None, description="90% interval, upper end.")


class FittedWeights(BaseModel):
    """Weights fitted on the fleet's own history at a run's date (a Poisson GLM of equipment
    faults in the following 12 months, pulled toward the policy's prior weights)."""

    outcome: str
    window: dict[str, Any] = Field(description="Snapshot dates, outcome months, first event.")
    rows: int
    events: float
    strength: float = Field(description="Weight of the prior, in faults.")
    dispersion: float | None = None
    intercept: float
    factors: list[FittedFactor]
    serious: dict[str, Any] | None = Field(
        default=None, description="The same fitted on serious faults and entrapments."
    )


class RunWeights(BaseModel):
    """A run and the weights its likelihood of failure was computed with."""

    run_id: int
    as_of: date
    policy_version: str
    fitted_weights: FittedWeights | None
