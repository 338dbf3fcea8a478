"""Response bodies of buildings by need, the 5×5 risk matrix and search."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.models.scores import Flag


class BuildingNeed(BaseModel):
    """One building of a street office's need list, named by its compound and its own name."""

    need_rank: int = Field(examples=[1], description="Place in the unfiltered need list, from 1.")
    building_id: str
    building_name: str = Field(examples=["2号楼"])
    community_id: str
    community: str = Field(examples=["稻香园西里"])
    community_en: str | None
    street_office_id: str
    floors: int
    households: int
    residents: int | None
    elderly_share: float | None
    fund_status: Literal["funded", "insufficient", "none"]
    fund_balance: float | None
    units: int
    units_in_service: int
    another_serves: bool = Field(description="Two or more units in service: one can stop.")
    stopped: int = Field(description="Units flagged stopped in the run (not register status).")
    flagged: int
    top_rank: int | None = Field(description="Best fleet rank of its units.")
    max_risk: float | None
    worst_flag: Flag | None
    flagged_units: list[str]
    flagged_flags: list[Flag]


class BuildingNeedPage(BaseModel):
    """A page of buildings by need and how many match in all."""

    buildings: list[BuildingNeed]
    total: int


class MatrixCell(BaseModel):
    """Units of the run in one cell of the 5×5 matrix (bands 1-5), and how many need action
    (flagged stopped, replace or overhaul, or safety assessment)."""

    likelihood: int = Field(ge=1, le=5)
    consequence: int = Field(ge=1, le=5)
    units: int
    flagged: int


class SearchHit(BaseModel):
    """A unit, building or compound matching the search text."""

    kind: Literal["unit", "building", "community"]
    id: str
    label: str
    community: str
    community_en: str | None
