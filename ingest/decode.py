"""From raw bytes and a topic to a validated event row, or a rejection with its reason.

Nothing here touches the database: authorization against the register comes later
(``ingest.authorize``). The order of checks is fixed so that a message gets the first reason
that applies: oversized (before any parsing), unsupported_version, bad_topic, unknown_kind,
malformed_json, schema_violation, future_timestamp.

``decode`` is total: whatever the bytes, it returns an accepted row or a rejection, never raises.
An exception nobody foresaw becomes ``internal_error`` naming its class, so one message can never
stop a worker or fail an HTTP batch.
"""

from __future__ import annotations

import hashlib
import math
import re
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
    "unsupported_version",
    "bad_topic",
    "unknown_kind",
    "malformed_json",
    "schema_violation",
    "future_timestamp",
    "unknown_unit",
    "not_maintainer",
    "conflict",
    "internal_error",
)
_PREFIX = TOPIC_PREFIX.split("/")
_VERSION_RE = re.compile(r"^v[0-9]+$")
_GOT_MAX = 80
_DETAIL_MAX = 4000


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
    content_hash: bytes | None = None
    reason: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.reason is None

    @property
    def detail(self) -> str:
        """The problems in one line, for dead letters and logs (bounded, safe for PostgreSQL)."""
        text = safe_text("; ".join(describe(p) for p in self.problems))
        return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"

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
    dead_letter_keep_bytes: int = 4096


def describe(problem: Problem) -> str:
    """One problem as text: where, what was expected, what came."""
    text = f"{problem.field}: {problem.expected or problem.reason}"
    if problem.got is not None:
        text += f", got {problem.got}"
    return text


def safe_text(text: str) -> str:
    """Text PostgreSQL accepts: NUL and lone surrogates written as escapes, the rest kept."""
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _got(value: Any) -> str:
    """A short, printable rendering of what came, for any value JSON can hold."""
    if isinstance(value, str):
        text = repr(value[: _GOT_MAX * 2])
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else str(value).replace("inf", "Infinity")
    elif isinstance(value, bool) or value is None:
        text = orjson.dumps(value).decode()
    elif isinstance(value, int):
        # Huge integers are cut before rendering: str() of a 10**6-digit number is slow.
        text = (
            str(value) if value.bit_length() < 256 else f"an integer of {value.bit_length()} bits"
        )
    elif isinstance(value, dict | list):
        text = f"{type(value).__name__} of {len(value)}"
    else:
        text = type(value).__name__
    text = safe_text(text)
    return text if len(text) <= _GOT_MAX else text[: _GOT_MAX - 1] + "…"


def _routing(message: Message) -> tuple[str | None, str | None, str | None, list[Problem], str]:
    """Contractor, unit and kind of a message, with any problem and its reason."""
    contractor: str | None
    unit: str | None
    kind: str | None
    if message.topic is not None:
        parts = message.topic.split("/")
        version = parts[1] if len(parts) > 1 and parts[0] == _PREFIX[0] else ""
        if version != _PREFIX[1] and _VERSION_RE.match(version):
            expected = f"{TOPIC_PREFIX}/..."
            return (
                None,
                None,
                None,
                [Problem("topic", "unsupported_version", expected, _got(message.topic))],
                "unsupported_version",
            )
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
    for err in errors[:20]:
        loc = safe_text(".".join(str(part)[:_GOT_MAX] for part in err["loc"])) or "payload"
        got = None if err["type"] == "missing" else _got(err.get("input"))
        problems.append(Problem(loc, err["type"], safe_text(err["msg"]), got))
    return "schema_violation", problems


def _event_id_of(raw: bytes) -> UUID | None:
    """The event_id of a rejected payload, when one can be read, so dead letters can be traced."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    event_id = value.get("event_id") if isinstance(value, dict) else None
    if not isinstance(event_id, str) or len(event_id) > 64:
        return None
    try:
        return UUID(event_id)
    except ValueError:
        return None


def _json_default(value: Any) -> Any:
    return value.obj  # Jsonb, the only type orjson does not write itself


def content_hash(kind: str, row: tuple[Any, ...]) -> bytes:
    """A digest of what an event says, so a re-delivery can be told from a conflicting version.

    The key (event_id, occurred_at) is left out: only rows with the same key are compared.
    """
    content = orjson.dumps(row[1:3] + row[4:], default=_json_default)
    return hashlib.sha256(kind.encode() + content).digest()[:16]


def decode(message: Message, limits: Limits, now: datetime) -> Decoded:
    """Check one message; ``now`` (aware) bounds how far in the future an event may be.

    Never raises: an unexpected exception becomes an ``internal_error`` rejection.
    """
    try:
        return _decode(message, limits, now)
    except Exception as exc:
        out = Decoded(message)
        out.contractor_id, out.unit_id, out.kind = _safe_routing(message)
        problem = Problem(
            "payload", "internal_error", "a message liftwatch can check", type(exc).__name__
        )
        return out.reject("internal_error", [problem])


def _safe_routing(message: Message) -> tuple[str | None, str | None, str | None]:
    """Contractor, unit and kind as far as they can be told, for an internal_error dead letter."""
    if message.topic is None:
        return message.contractor_id, message.unit_id, message.kind
    parts = message.topic.split("/")
    if len(parts) == 5 and parts[:2] == _PREFIX:
        return parts[2], parts[3], parts[4]
    return None, None, None


def _decode(message: Message, limits: Limits, now: datetime) -> Decoded:
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
    out.content_hash = content_hash(out.kind, out.row)
    out.row += (out.content_hash,)
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
# Each kind's table and the columns of its rows, in ROW_BUILDERS order, then the content hash.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "fault": ("fault_event", ("event_id", "unit_id", "contractor_id", "occurred_at", "code", "cause", "severity", "entrapment", "passengers_trapped", "ended_at", "floor", "description", "content_hash")),
    "inspection": ("inspection_event", ("event_id", "unit_id", "contractor_id", "occurred_at", "inspection_body", "result", "reinspection", "defects", "rectification_items", "certificate_expiry", "report_no", "content_hash")),
    "maintenance": ("maintenance_event", ("event_id", "unit_id", "contractor_id", "occurred_at", "visit_type", "parts", "duration_minutes", "technician", "notes", "content_hash")),
    "status": ("status_sample", ("event_id", "unit_id", "contractor_id", "occurred_at", "online", "in_service", "trips", "door_cycles", "running_hours", "content_hash")),
}  # fmt: skip
