"""The event contract: the MQTT topic and the versioned JSON payload of each event kind.

Producers publish to ``liftwatch/v1/{contractor_id}/{unit_id}/{kind}``. The unit and contractor come
from the topic; the payload carries the producer's ``event_id`` (a UUID, for idempotency), the time
the event happened and the kind's own fields. The JSON Schemas in ``docs/contract/`` are generated
from these models (``liftwatch contract schemas``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.faultcodes import FAULT_CODES, Cause, Severity
from core.vocab import EVENT_KINDS

TOPIC_PREFIX = "liftwatch/v1"
KINDS = EVENT_KINDS
Kind = Literal["fault", "inspection", "maintenance", "status"]
SCHEMA_VERSION = 1

# Identifiers travel in MQTT topic levels: no '/', '+', '#', whitespace or control characters.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)

Identifier = Annotated[str, Field(pattern=ID_PATTERN, description="Topic-safe identifier.")]


def topic_for(contractor_id: str, unit_id: str, kind: str) -> str:
    """The topic a producer publishes one unit's events of one kind to."""
    return f"{TOPIC_PREFIX}/{contractor_id}/{unit_id}/{kind}"


def is_identifier(value: str) -> bool:
    """Whether a string may be used as a contractor or unit id in topics."""
    return bool(_ID_RE.match(value))


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = Field(default=1, description="Payload schema version.")
    event_id: UUID = Field(description="Producer-chosen UUID; a re-delivery carries the same one.")
    occurred_at: datetime = Field(
        description="When the event happened, ISO 8601 with a UTC offset (e.g. +08:00)."
    )

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a UTC offset, e.g. 2023-04-12T09:30:00+08:00")
        return value


class FaultPayload(_Payload):
    """A fault, event or alarm record (GB/T 24476 codes)."""

    code: str = Field(description="GB/T 24476 code, see docs/contract/fault-codes.md.")
    cause: Cause | None = Field(
        default=None, description="equipment / external / misuse / unknown; default from the code."
    )
    severity: Severity | None = Field(
        default=None, description="minor / major / critical; default from the code."
    )
    entrapment: bool = Field(default=False, description="Passengers were trapped (困人).")
    passengers_trapped: int = Field(default=0, ge=0, le=100)
    ended_at: datetime | None = Field(
        default=None, description="When the unit was back in service; absent while ongoing."
    )
    floor: int | None = Field(default=None, ge=-10, le=200)
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if value not in FAULT_CODES:
            raise ValueError(f"unknown GB/T 24476 code {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FaultPayload:
        if self.ended_at is not None:
            if self.ended_at.tzinfo is None:
                raise ValueError("ended_at must carry a UTC offset")
            if self.ended_at < self.occurred_at:
                raise ValueError("ended_at is before occurred_at")
        if self.passengers_trapped and not self.entrapment:
            raise ValueError("passengers_trapped > 0 requires entrapment = true")
        return self

    @property
    def effective_cause(self) -> Cause:
        """The cause given, or the code's default."""
        return self.cause or FAULT_CODES[self.code].cause

    @property
    def effective_severity(self) -> Severity:
        """The severity given, or the code's default."""
        return self.severity or FAULT_CODES[self.code].severity


class Defect(BaseModel):
    """One item an inspector found wanting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(
        min_length=1, max_length=200, description="Inspection item, e.g. '2.8 制动器'."
    )
    severity: Severity
    rectification_required: bool = True
    description: str | None = Field(default=None, max_length=2000)


class InspectionPayload(_Payload):
    """A periodic inspection (TSG T7001-2023) or re-inspection."""

    inspection_body: str = Field(min_length=1, max_length=200)
    result: Literal["pass", "pass_after_rectification", "fail"]
    reinspection: bool = Field(default=False, description="A re-inspection after rectification.")
    defects: list[Defect] = Field(default_factory=list, max_length=200)
    certificate_expiry: date | None = Field(
        default=None, description="Expiry of the inspection certificate (passing results)."
    )
    report_no: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> InspectionPayload:
        expiry = self.certificate_expiry
        if self.result == "fail" and expiry is not None and expiry > self.occurred_at.date():
            raise ValueError("a failed inspection cannot carry a valid certificate")
        return self


class MaintenancePayload(_Payload):
    """A maintenance visit (TSG T5002-2017)."""

    visit_type: Literal["routine", "repair", "part_replacement"]
    parts: list[str] = Field(default_factory=list, max_length=100)
    duration_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    technician: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)


class StatusPayload(_Payload):
    """A status sample from the unit's controller; counters are cumulative."""

    online: bool = True
    trips: int | None = Field(default=None, ge=0, description="Cumulative trips (运行次数).")
    door_cycles: int | None = Field(default=None, ge=0, description="Cumulative door cycles.")
    running_hours: float | None = Field(default=None, ge=0, description="Cumulative running hours.")
    in_service: bool = Field(default=True, description="False while out of service.")


PAYLOADS: dict[str, type[_Payload]] = {
    "fault": FaultPayload,
    "inspection": InspectionPayload,
    "maintenance": MaintenancePayload,
    "status": StatusPayload,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each kind's payload, as published in docs/contract/."""
    out = {}
    for kind, model in PAYLOADS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"liftwatch/v1/{kind}.schema.json"
        schema["x-topic"] = f"{TOPIC_PREFIX}/{{contractor_id}}/{{unit_id}}/{kind}"
        out[kind] = schema
    return out
