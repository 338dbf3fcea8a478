"""The event contract: the MQTT topic and the versioned JSON payload of each event kind.

Producers publish to ``liftwatch/v1/{contractor_id}/{unit_id}/{kind}``. The unit and contractor come
from the topic; the payload carries the producer's ``event_id`` (a UUID, for idempotency), the time
the event happened and the kind's own fields. The JSON Schemas in ``docs/contract/`` are generated
from these models (``liftwatch contract schemas``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

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

# RFC 3339 date-time with a mandatory offset ("Z" or +hh:mm); no unix numbers, no naive times.
RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339_RE = re.compile(RFC3339_PATTERN)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE_RE = re.compile(DATE_PATTERN)

# Bounds of the times a message may carry. No lift in the register reported electronically
# before 1990; the upper bound of occurred_at is "now + skew", checked at the door
# (future_timestamp) because it moves.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
MAX_FAULT_DURATION = timedelta(days=366)
MAX_CERTIFICATE_YEARS = 10


def _rfc3339(value: Any) -> Any:
    # Parsed here rather than by pydantic, whose lax parser also takes unix numbers and naive times.
    if isinstance(value, datetime):
        return value
    if not (isinstance(value, str) and _RFC3339_RE.match(value)):
        raise ValueError(
            "must be an RFC 3339 date-time string with an offset, e.g. 2023-04-12T09:30:00+08:00"
        )
    try:
        return datetime.fromisoformat(value.upper().replace(" ", "T"))
    except ValueError:
        raise ValueError("must be a real date and time, e.g. 2023-04-12T09:30:00+08:00") from None


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not (isinstance(value, str) and _DATE_RE.match(value)):
        raise ValueError("must be a date string as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a real date, e.g. 2025-04-11") from None


def _clean_text(value: str) -> str:
    # PostgreSQL text holds neither NUL nor lone surrogates (which JSON escapes can carry).
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    Field(json_schema_extra={"pattern": RFC3339_PATTERN}),
]
Day = Annotated[
    date, BeforeValidator(_iso_date), Field(json_schema_extra={"pattern": DATE_PATTERN})
]
Text = Annotated[str, AfterValidator(_clean_text)]


def topic_for(contractor_id: str, unit_id: str, kind: str) -> str:
    """The topic a producer publishes one unit's events of one kind to."""
    return f"{TOPIC_PREFIX}/{contractor_id}/{unit_id}/{kind}"


def is_identifier(value: str) -> bool:
    """Whether a string may be used as a contractor or unit id in topics."""
    return bool(_ID_RE.match(value))


class _Payload(BaseModel):
    # Strict: no string-to-number or string-to-bool coercion, finite numbers only.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    v: Literal[1] = Field(default=1, description="Payload schema version.")
    # Lax here changes nothing for JSON (a UUID must come as a string either way) and lets
    # Python callers pass the same string.
    event_id: UUID = Field(
        strict=False, description="Producer-chosen UUID string; a re-delivery carries the same one."
    )
    occurred_at: Timestamp = Field(
        description="When the event happened: RFC 3339 with a UTC offset (e.g. +08:00), from "
        "1990-01-01 to a few minutes after the time it arrives."
    )

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a UTC offset, e.g. 2023-04-12T09:30:00+08:00")
        if value < EARLIEST:
            raise ValueError(f"must not be before {EARLIEST.date().isoformat()}")
        return value


class FaultPayload(_Payload):
    """A fault, event or alarm record (GB/T 24476 codes)."""

    code: Text = Field(description="GB/T 24476 code, see docs/contract/fault-codes.md.")
    cause: Cause | None = Field(
        default=None, description="equipment / external / misuse / unknown; default from the code."
    )
    severity: Severity | None = Field(
        default=None, description="minor / major / critical; default from the code."
    )
    entrapment: bool = Field(default=False, description="Passengers were trapped (困人).")
    passengers_trapped: int = Field(default=0, ge=0, le=100)
    ended_at: Timestamp | None = Field(
        default=None,
        description="When the unit was back in service (RFC 3339, at most 366 days after "
        "occurred_at); absent while ongoing.",
    )
    floor: int | None = Field(default=None, ge=-10, le=200)
    description: Text | None = Field(default=None, max_length=2000)

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
            if self.ended_at > self.occurred_at + MAX_FAULT_DURATION:
                raise ValueError("ended_at is more than 366 days after occurred_at")
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

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    item: Text = Field(
        min_length=1, max_length=200, description="Inspection item, e.g. '2.8 制动器'."
    )
    severity: Severity
    rectification_required: bool = True
    description: Text | None = Field(default=None, max_length=2000)


class InspectionPayload(_Payload):
    """A periodic inspection (TSG T7001-2023) or re-inspection."""

    inspection_body: Text = Field(min_length=1, max_length=200)
    result: Literal["pass", "pass_after_rectification", "fail"]
    reinspection: bool = Field(default=False, description="A re-inspection after rectification.")
    defects: list[Defect] = Field(default_factory=list, max_length=200)
    certificate_expiry: Day | None = Field(
        default=None,
        description="Expiry of the inspection certificate (passing results), YYYY-MM-DD, at most "
        "10 years after occurred_at.",
    )
    report_no: Text | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> InspectionPayload:
        expiry = self.certificate_expiry
        if self.result == "fail" and expiry is not None and expiry > self.occurred_at.date():
            raise ValueError("a failed inspection cannot carry a valid certificate")
        latest = self.occurred_at.date().replace(year=self.occurred_at.year + MAX_CERTIFICATE_YEARS)
        if expiry is not None and not (EARLIEST.date() <= expiry <= latest):
            raise ValueError(
                "certificate_expiry must lie between 1990-01-01 and 10 years after occurred_at"
            )
        return self


class MaintenancePayload(_Payload):
    """A maintenance visit (TSG T5002-2017)."""

    visit_type: Literal["routine", "repair", "part_replacement"]
    parts: list[Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    duration_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    technician: Text | None = Field(default=None, max_length=100)
    notes: Text | None = Field(default=None, max_length=2000)


class StatusPayload(_Payload):
    """A status sample from the unit's controller; counters are cumulative."""

    online: bool = True
    trips: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="Cumulative trips (运行次数)."
    )
    door_cycles: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="Cumulative door cycles."
    )
    running_hours: float | None = Field(
        default=None, ge=0, le=1e7, description="Cumulative running hours (finite)."
    )
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
