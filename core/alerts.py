"""Alerts as every writer raises and clears them: one open alert per subject and kind.

Detection lives where the facts arrive (entrapments and data health in ``ingest``, flags in
``scoring``); both write through these two functions, so duplicate suppression and the webhook
queue (a trigger of migration 0015) work the same whoever raises an alert. Reads are in
``queries.alerts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

AlertKind = Literal["entrapment", "stopped", "replace_or_overhaul", "silent", "rejection_rate"]
ALERT_KINDS: tuple[AlertKind, ...] = (
    "entrapment",
    "stopped",
    "replace_or_overhaul",
    "silent",
    "rejection_rate",
)
"""Alert kinds, the most urgent first."""

CLEARED_BY_CONDITION = "condition"
"""``cleared_by`` of an alert whose condition ended (otherwise the name of who cleared it)."""


def raise_alert(
    conn: psycopg.Connection[Any],
    *,
    kind: AlertKind,
    contractor_id: str,
    occurred_at: datetime,
    unit_id: str | None = None,
    detail: dict[str, Any] | None = None,
    event_id: UUID | None = None,
) -> int | None:
    """Open an alert, or count a repeat on the open one; returns its id (None for a re-delivery)."""
    cur = conn.cursor(row_factory=tuple_row)
    if event_id is not None:
        seen = cur.execute(
            "SELECT 1 FROM alert_source_event WHERE event_id = %s", (event_id,)
        ).fetchone()
        if seen:
            return None
    row = cur.execute(
        "INSERT INTO alert (kind, subject, unit_id, contractor_id, occurred_at, detail) "
        "VALUES (%(kind)s, %(subject)s, %(unit)s, %(contractor)s, %(at)s, %(detail)s) "
        "ON CONFLICT (kind, subject) WHERE cleared_at IS NULL DO UPDATE "
        "SET occurrences = alert.occurrences + 1, last_seen_at = now(), "
        "    detail = alert.detail || EXCLUDED.detail "
        "RETURNING alert_id",
        {
            "kind": kind,
            "subject": unit_id or contractor_id,
            "unit": unit_id,
            "contractor": contractor_id,
            "at": occurred_at,
            "detail": Jsonb(detail or {}),
        },
    ).fetchone()
    assert row is not None
    alert_id = int(row[0])
    if event_id is not None:
        cur.execute(
            "INSERT INTO alert_source_event (event_id, alert_id) VALUES (%s, %s)",
            (event_id, alert_id),
        )
    return alert_id


def clear_alerts(
    conn: psycopg.Connection[Any],
    *,
    kind: AlertKind,
    subjects: list[str],
    by: str = CLEARED_BY_CONDITION,
) -> int:
    """Clear the open alerts of a kind for these subjects; returns how many were open."""
    if not subjects:
        return 0
    cur = conn.execute(
        "UPDATE alert SET cleared_at = now(), cleared_by = %s "
        "WHERE kind = %s AND subject = ANY (%s) AND cleared_at IS NULL",
        (by, kind, subjects),
    )
    return cur.rowcount
