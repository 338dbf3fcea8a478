"""Event queries: pages of one kind over a time range, and a unit's whole timeline, scoped in SQL."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from core.errors import Invalid
from core.faultcodes import FAULT_CODES
from core.scope import Scope

Conn = psycopg.Connection[dict[str, Any]]

TABLES = {
    "fault": "fault_event",
    "inspection": "inspection_event",
    "maintenance": "maintenance_event",
    "status": "status_sample",
}
_COLUMNS = {
    "fault": "code, cause, severity, entrapment, passengers_trapped, ended_at, floor, description",
    "inspection": "inspection_body, result, reinspection, defects, rectification_items,"
    " certificate_expiry, report_no",
    "maintenance": "visit_type, parts, duration_minutes, technician, notes",
    "status": "online, in_service, trips, door_cycles, running_hours",
}


def encode_cursor(occurred_at: datetime, event_id: UUID) -> str:
    """An opaque cursor after this event (in newest-first order)."""
    raw = f"{occurred_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor points after; Invalid when it was not made by encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, event_id = raw.partition("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, UUID(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor is not one this API returned", field="cursor") from None


def _with_names(row: dict[str, Any]) -> dict[str, Any]:
    code = FAULT_CODES.get(row["code"])
    row["name_zh"] = code.name_zh if code else None
    row["name_en"] = code.name_en if code else None
    return row


def list_events(
    conn: Conn,
    *,
    scope: Scope,
    kind: str,
    unit_id: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Events of one kind, newest first, in the scope and time range, after the cursor."""
    if since and until and since >= until:
        raise Invalid("'from' must be before 'to'", field="from")
    after = decode_cursor(cursor) if cursor else None
    query = sql.SQL(
        "SELECT e.event_id, e.unit_id, e.contractor_id, e.occurred_at, e.received_at, {cols}"
        " FROM {table} e JOIN unit_place p ON p.unit_id = e.unit_id"
        " WHERE {scope}"
        " AND ({unit}::text IS NULL OR e.unit_id = {unit})"
        " AND ({since}::timestamptz IS NULL OR e.occurred_at >= {since})"
        " AND ({until}::timestamptz IS NULL OR e.occurred_at < {until})"
        " AND ({at}::timestamptz IS NULL OR (e.occurred_at, e.event_id) < ({at}, {eid}::uuid))"
        " ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT {n}"
    ).format(
        cols=sql.SQL(_COLUMNS[kind]),
        table=sql.Identifier(TABLES[kind]),
        scope=scope.condition("p"),
        unit=sql.Literal(unit_id),
        since=sql.Literal(since),
        until=sql.Literal(until),
        at=sql.Literal(after[0] if after else None),
        eid=sql.Literal(after[1] if after else None),
        n=sql.Literal(limit + 1),
    )
    rows = conn.execute(query).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if kind == "fault":
        rows = [_with_names(r) for r in rows]
    nxt = encode_cursor(rows[-1]["occurred_at"], rows[-1]["event_id"]) if more and rows else None
    return rows, nxt


def timeline(
    conn: Conn,
    *,
    unit_id: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> dict[str, list[dict[str, Any]]]:
    """Each kind's latest events of one unit (already checked to be in scope), newest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, table in TABLES.items():
        query = sql.SQL(
            "SELECT event_id, contractor_id, occurred_at, received_at, {cols} FROM {table}"
            " WHERE unit_id = %(unit)s"
            " AND (%(since)s::timestamptz IS NULL OR occurred_at >= %(since)s)"
            " AND (%(until)s::timestamptz IS NULL OR occurred_at < %(until)s)"
            " ORDER BY occurred_at DESC, event_id DESC LIMIT %(n)s"
        ).format(cols=sql.SQL(_COLUMNS[kind]), table=sql.Identifier(table))
        rows = conn.execute(
            query, {"unit": unit_id, "since": since, "until": until, "n": limit}
        ).fetchall()
        out[kind] = [_with_names(r) for r in rows] if kind == "fault" else rows
    return out


def unit_changes(conn: Conn, *, unit_id: str, limit: int) -> list[dict[str, Any]]:
    """The register changes of a unit, newest first."""
    return conn.execute(
        "SELECT field, old_value, new_value, changed_at, source FROM unit_change"
        " WHERE unit_id = %s ORDER BY changed_at DESC, change_id DESC LIMIT %s",
        (unit_id, limit),
    ).fetchall()
