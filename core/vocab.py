"""The shared vocabulary: flags, event kinds and rejection reasons, named once.

Their labels (zh-CN and en) live in the one catalogue, ``core.i18n``, under ``flag.<name>``,
``event.<kind>`` and ``reason.<code>``; every module that lists them iterates these enums.
"""

from __future__ import annotations

from enum import StrEnum


class Flag(StrEnum):
    """A unit's flag, from the most to the least urgent."""

    STOPPED = "stopped"
    REPLACE_OR_OVERHAUL = "replace_or_overhaul"
    SAFETY_ASSESSMENT = "safety_assessment"
    WATCH = "watch"
    OK = "ok"


class EventKind(StrEnum):
    """The kind of an event message (the last level of its MQTT topic)."""

    FAULT = "fault"
    INSPECTION = "inspection"
    MAINTENANCE = "maintenance"
    STATUS = "status"


class RejectionReason(StrEnum):
    """Why a message was rejected (stored with its raw bytes in the dead letters)."""

    OVERSIZED = "oversized"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_KIND = "unknown_kind"
    MALFORMED_JSON = "malformed_json"
    SCHEMA_VIOLATION = "schema_violation"
    FUTURE_TIMESTAMP = "future_timestamp"
    UNKNOWN_UNIT = "unknown_unit"
    NOT_MAINTAINER = "not_maintainer"


FLAGS: tuple[str, ...] = tuple(f.value for f in Flag)
EVENT_KINDS: tuple[str, ...] = tuple(k.value for k in EventKind)
REJECTION_REASONS: tuple[str, ...] = tuple(r.value for r in RejectionReason)
