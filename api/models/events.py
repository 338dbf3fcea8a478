"""Response bodies of event queries and a unit's timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.models.register import Unit


class _Event(BaseModel):
    event_id: UUID
    unit_id: str | None = None
    contractor_id: str = Field(description="The contractor that pushed the event.")
    occurred_at: datetime
    received_at: datetime


class FaultEvent(_Event):
    """A fault, event or alarm, with its cause (power cuts and misuse do not count against the unit)."""

    code: str = Field(examples=["01"])
    name_zh: str | None = Field(default=None, examples=["安全回路断路"])
    name_en: str | None = Field(default=None, examples=["safety circuit open"])
    cause: Literal["equipment", "external", "misuse", "unknown"]
    severity: Literal["minor", "major", "critical"]
    entrapment: bool
    passengers_trapped: int
    ended_at: datetime | None = None
    floor: int | None = None
    description: str | None = None


class InspectionEvent(_Event):
    """A periodic inspection (TSG T7001-2023)."""

    inspection_body: str
    result: Literal["pass", "pass_after_rectification", "fail"]
    reinspection: bool
    defects: list[dict[str, Any]]
    rectification_items: int
    certificate_expiry: date | None = None
    report_no: str | None = None


class MaintenanceEvent(_Event):
    """A maintenance visit (TSG T5002-2017)."""

    visit_type: Literal["routine", "repair", "part_replacement"]
    parts: list[str]
    duration_minutes: int | None = None
    technician: str | None = None
    notes: str | None = None


class StatusSample(_Event):
    """A status sample from the controller."""

    online: bool
    in_service: bool
    trips: int | None = None
    door_cycles: int | None = None
    running_hours: float | None = None


class ScorePoint(BaseModel):
    """The unit's score in one run."""

    run_id: int
    as_of: date
    rank: int
    risk: float
    health: float
    pof: float
    cof: float
    flag: str


class RegisterChange(BaseModel):
    """One audited change to the unit's register entry."""

    field: str
    old_value: str | None = None
    new_value: str | None = None
    changed_at: datetime
    source: str


class Timeline(BaseModel):
    """Everything known about one unit over a time range, newest first in each list."""

    unit: Unit
    faults: list[FaultEvent]
    inspections: list[InspectionEvent]
    maintenance: list[MaintenanceEvent]
    status: list[StatusSample]
    scores: list[ScorePoint]
    changes: list[RegisterChange]
