"""From raw bytes and a topic to a validated event row, or a rejection with its reason.

Nothing here touches the database: authorization against the register comes later
(``ingest.authorize``). The order of checks is fixed so that a message gets the first reason
that applies: oversized (before any parsing), bad_topic, unknown_kind, malformed_json,
schema_violation, future_timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from core.contracts import (
    KINDS,
    PAYLOADS,
    TOPIC_PREFIX,
    FaultPayload,
    InspectionPayload,
    MaintenancePayload,
    StatusPayload,
    is_identifier,
)
from core.errors import Problem

REASONS = (
    "oversized",
    "bad_topic",
    "unknown_kind",
    "malformed_json",
    "schema_violation",
    "future_timestamp",
    "unknown_unit",
    "not_maintainer",
)
_PREFIX = TOPIC_PREFIX.split("/")
_GOT_MAX = 80


class Message(NamedTuple):
    """One message at any door: a topic (MQTT) or explicit routing fields (HTTP, files), and bytes.

    With a topic, contractor, unit and kind are read from it and the other fields are ignored.
    """

    topic: str | None
    contractor_id: str | None
    unit_id: str | None
    kind: str | None
    raw: bytes


@dataclass(slots=True)
class Decoded:
    """A message after decoding: either a row for its kind's table or a rejection."""

    message: Message
    contractor_id: str | None = None
    unit_id: str | None = None
    kind: str | None = None
    event_id: UUID | None = None
    occurred_at: datetime | None = None
    row: tuple[Any, ...] | None = None
    reason: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.reason is None

    @property
    def detail(self) -> str:
        """The problems in one line, for dead letters and logs."""
        return "; ".join(describe(p) for p in self.problems)

    def reject(self, reason: str, problems: list[Problem]) -> Decoded:
        self.reason = reason
        self.problems = problems
        self.row = None
        return self


@dataclass(frozen=True)
class Limits:
    """The configurable limits decoding applies."""

    max_payload_bytes: int = 65536
    future_skew: timedelta = timedelta(minutes=5)


def describe(problem: Problem) -> str:
    """One problem as text: where, what was expected, what came."""
    text = f"{problem.field}: {problem.expected or problem.reason}"
    if problem.got is not None:
        text += f", got {problem.got}"
    return text


def _got(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= _GOT_MAX else text[: _GOT_MAX - 1] + "…"


def _routing(message: Message) -> tuple[str | None, str | None, str | None, list[Problem], str]:
    """Contractor, unit and kind of a message, with any problem and its reason."""
    contractor: str | None
    unit: str | None
    kind: str | None
    if message.topic is not None:
        parts = message.topic.split("/")
        if len(parts) != 5 or parts[:2] != _PREFIX:
            expected = f"{TOPIC_PREFIX}/{{contractor_id}}/{{unit_id}}/{{kind}}"
            return (
                None,
                None,
                None,
                [Problem("topic", "bad_topic", expected, _got(message.topic))],
                "bad_topic",
            )
        contractor, unit, kind = parts[2], parts[3], parts[4]
        where = "topic"
    else:
        contractor, unit, kind = message.contractor_id, message.unit_id, message.kind
        where = ""
    problems = [
        Problem(
            where or name,
            "bad_topic" if where else "schema_violation",
            "a topic-safe identifier",
            _got(value),
        )
        for name, value in (("contractor_id", contractor), ("unit_id", unit))
        if not (isinstance(value, str) and is_identifier(value))
    ]
    if problems:
        return contractor, unit, kind, problems, "bad_topic" if where else "schema_violation"
    if kind not in KINDS:
        expected = " | ".join(KINDS)
        return (
            contractor,
            unit,
            kind,
            [Problem(where or "kind", "unknown_kind", expected, _got(kind))],
            "unknown_kind",
        )
    return contractor, unit, kind, [], ""


def _problems(exc: ValidationError) -> tuple[str, list[Problem]]:
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        return "malformed_json", [Problem("payload", "malformed_json", "JSON", errors[0]["msg"])]
    problems = []
    for err in errors:
        loc = ".".join(str(part) for part in err["loc"]) or "payload"
        got = None if err["type"] == "missing" else _got(err.get("input"))
        problems.append(Problem(loc, err["type"], err["msg"], got))
    return "schema_violation", problems


def _event_id_of(raw: bytes) -> UUID | None:
    """The event_id of a rejected payload, when one can be read, so dead letters can be traced."""
    try:
        value = orjson.loads(raw)
        return UUID(value["event_id"]) if isinstance(value, dict) else None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def decode(message: Message, limits: Limits, now: datetime) -> Decoded:
    """Check one message; ``now`` (aware) bounds how far in the future an event may be."""
    out = Decoded(message)
    if len(message.raw) > limits.max_payload_bytes:
        size = Problem(
            "payload",
            "oversized",
            f"at most {limits.max_payload_bytes} bytes",
            f"{len(message.raw)} bytes",
        )
        out.contractor_id, out.unit_id, out.kind = (
            message.contractor_id,
            message.unit_id,
            message.kind,
        )
        return out.reject("oversized", [size])
    out.contractor_id, out.unit_id, out.kind, problems, reason = _routing(message)
    if problems:
        out.event_id = _event_id_of(message.raw)
        return out.reject(reason, problems)
    assert out.kind is not None
    assert out.unit_id is not None
    assert out.contractor_id is not None
    try:
        payload = PAYLOADS[out.kind].model_validate_json(message.raw)
    except ValidationError as exc:
        out.event_id = _event_id_of(message.raw)
        return out.reject(*_problems(exc))
    out.event_id, out.occurred_at = payload.event_id, payload.occurred_at
    if payload.occurred_at > now + limits.future_skew:
        expected = f"at most {limits.future_skew.total_seconds():g} s after {now.isoformat(timespec='seconds')}"
        return out.reject(
            "future_timestamp",
            [Problem("occurred_at", "future_timestamp", expected, payload.occurred_at.isoformat())],
        )
    out.row = ROW_BUILDERS[out.kind](payload, out.unit_id, out.contractor_id)
    return out


def _fault_row(p: Any, unit: str, contractor: str) -> tuple[Any, ...]:
    assert isinstance(p, FaultPayload)
    return (
        p.event_id, unit, contractor, p.occurred_at, p.code, p.effective_cause, p.effective_severity,
        p.entrapment, p.passengers_trapped, p.ended_at, p.floor, p.description,
    )  # fmt: skip


def _inspection_row(p: Any, unit: str, contractor: str) -> tuple[Any, ...]:
    assert isinstance(p, InspectionPayload)
    defects = [d.model_dump(mode="json", exclude_none=True) for d in p.defects]
    rectification = sum(1 for d in p.defects if d.rectification_required)
    return (
        p.event_id, unit, contractor, p.occurred_at, p.inspection_body, p.result, p.reinspection,
        Jsonb(defects), rectification, p.certificate_expiry, p.report_no,
    )  # fmt: skip


def _maintenance_row(p: Any, unit: str, contractor: str) -> tuple[Any, ...]:
    assert isinstance(p, MaintenancePayload)
    return (
        p.event_id, unit, contractor, p.occurred_at, p.visit_type, list(p.parts),
        p.duration_minutes, p.technician, p.notes,
    )  # fmt: skip


def _status_row(p: Any, unit: str, contractor: str) -> tuple[Any, ...]:
    assert isinstance(p, StatusPayload)
    return (
        p.event_id, unit, contractor, p.occurred_at, p.online, p.in_service, p.trips,
        p.door_cycles, p.running_hours,
    )  # fmt: skip


ROW_BUILDERS = {
    "fault": _fault_row,
    "inspection": _inspection_row,
    "maintenance": _maintenance_row,
    "status": _status_row,
}
# Each kind's table and the columns of its rows, in ROW_BUILDERS order.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fault": ("fault_event", ("event_id", "unit_id", "contractor_id", "occurred_at", "code", "cause", "severity", "entrapment", "passengers_trapped", "ended_at", "floor", "description")),
    "inspection": ("inspection_event", ("event_id", "unit_id", "contractor_id", "occurred_at", "inspection_body", "result", "reinspection", "defects", "rectification_items", "certificate_expiry", "report_no")),
    "maintenance": ("maintenance_event", ("event_id", "unit_id", "contractor_id", "occurred_at", "visit_type", "parts", "duration_minutes", "technician", "notes")),
    "status": ("status_sample", ("event_id", "unit_id", "contractor_id", "occurred_at", "online", "in_service", "trips", "door_cycles", "running_hours")),
}  # fmt: skip
