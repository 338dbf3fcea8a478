"""The alert feed as each caller may see it, and the webhooks that carry it out of liftwatch.

Alerts are raised and cleared by ingestion and scoring (``core.alerts``); this module reads them
for pages and the API, clears one on a person's say, and keeps the webhook subscriptions and their
delivery log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row, tuple_row

from core.alerts import ALERT_KINDS
from core.errors import Invalid, NotFound
from core.scope import Scope

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Alert:
    """One alert: what, which unit (or contractor), where, since when, and whether it is open."""

    alert_id: int
    kind: str
    unit_id: str | None
    contractor_id: str
    contractor_name: str
    building_id: str | None
    building_name: str | None
    community_name: str | None
    street_office_id: str | None
    district_id: str | None
    occurred_at: datetime
    opened_at: datetime
    last_seen_at: datetime
    occurrences: int
    detail: dict[str, Any]
    cleared_at: datetime | None
    cleared_by: str | None


@dataclass(frozen=True)
class Webhook:
    """A webhook subscription as listed (its secret is shown only when it is created)."""

    webhook_id: int
    url: str
    role: str
    bound_to: str | None
    kinds: list[str]
    created_by: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    """One alert change queued for one webhook, with its last attempt."""

    delivery_id: int
    webhook_id: int
    alert_id: int
    change: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status_code: int | None
    last_error: str | None


_ALERTS = """
SELECT a.alert_id, a.kind, a.unit_id, a.contractor_id, k.name AS contractor_name,
       p.building_id, b.name AS building_name, c.name AS community_name,
       p.street_office_id, p.district_id, a.occurred_at, a.opened_at, a.last_seen_at,
       a.occurrences, a.detail, a.cleared_at, a.cleared_by
FROM alert a
JOIN contractor k ON k.contractor_id = a.contractor_id
LEFT JOIN unit_place p ON p.unit_id = a.unit_id
LEFT JOIN building b ON b.building_id = p.building_id
LEFT JOIN community c ON c.community_id = p.community_id
WHERE alert_in_scope(a, %(role)s, %(bound)s)
"""


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in ALERT_KINDS:
        raise Invalid(f"unknown alert kind {kind!r}; expected one of {', '.join(ALERT_KINDS)}")


def alerts(
    *,
    conn: Conn,
    scope: Scope,
    open_only: bool = True,
    limit: int = 100,
    kind: str | None = None,
    unit_id: str | None = None,
) -> list[Alert]:
    """Alerts the scope sees, open ones first, newest first within each."""
    _check_kind(kind)
    query = (
        _ALERTS
        + " AND (NOT %(open_only)s OR a.cleared_at IS NULL)"
        + " AND (%(kind)s::text IS NULL OR a.kind = %(kind)s)"
        + " AND (%(unit)s::text IS NULL OR a.unit_id = %(unit)s)"
        + " ORDER BY a.cleared_at IS NOT NULL, a.opened_at DESC, a.alert_id DESC LIMIT %(limit)s"
    )
    params = {
        "role": scope.role,
        "bound": scope.bound_to,
        "open_only": open_only,
        "kind": kind,
        "unit": unit_id,
        "limit": limit,
    }
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(query, params).fetchall()


def alert(*, conn: Conn, scope: Scope, alert_id: int) -> Alert:
    """One alert the scope sees; NotFound otherwise."""
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        found = cur.execute(
            _ALERTS + " AND a.alert_id = %(id)s",
            {"role": scope.role, "bound": scope.bound_to, "id": alert_id},
        ).fetchone()
    if found is None:
        raise NotFound(f"alert {alert_id} not found")
    return found


def clear(*, conn: Conn, scope: Scope, alert_id: int, by: str) -> Alert:
    """Clear an open alert the scope sees, on a person's say; returns it as it now stands."""
    found = alert(conn=conn, scope=scope, alert_id=alert_id)
    if found.cleared_at is None:
        conn.execute(
            "UPDATE alert SET cleared_at = now(), cleared_by = %s "
            "WHERE alert_id = %s AND cleared_at IS NULL",
            (by, alert_id),
        )
    return alert(conn=conn, scope=scope, alert_id=alert_id)


def open_count(*, conn: Conn, scope: Scope) -> dict[str, int]:
    """Open alerts the scope sees, counted by kind."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT a.kind, count(*) FROM alert a WHERE a.cleared_at IS NULL "
            "AND alert_in_scope(a, %s, %s) GROUP BY a.kind",
            (scope.role, scope.bound_to),
        ).fetchall()
    return {str(kind): int(n) for kind, n in rows}


# -- webhooks -------------------------------------------------------------------------------------

_WEBHOOKS = (
    "SELECT webhook_id, url, role, bound_to, kinds, created_by, created_at, disabled_at "
    "FROM webhook"
)


def _in_scope(scope: Scope) -> sql.Composable:
    """Webhooks a scope manages: its own scope's, and for an admin every one."""
    if scope.role == "admin":
        return sql.SQL("TRUE")
    return sql.SQL("role = {} AND bound_to = {}").format(
        sql.Literal(scope.role), sql.Literal(scope.bound_to)
    )


def webhooks(*, conn: Conn, scope: Scope, limit: int = 100) -> list[Webhook]:
    """Webhook subscriptions the scope manages, oldest first."""
    query = sql.SQL("{} WHERE {} ORDER BY webhook_id LIMIT %s").format(
        sql.SQL(_WEBHOOKS), _in_scope(scope)
    )
    with conn.cursor(row_factory=class_row(Webhook)) as cur:
        return cur.execute(query, (limit,)).fetchall()


def create_webhook(
    *, conn: Conn, scope: Scope, url: str, kinds: list[str], created_by: str
) -> tuple[Webhook, str]:
    """Subscribe a URL to the scope's alerts; returns the webhook and its signing secret (once)."""
    for kind in kinds:
        _check_kind(kind)
    if not url.startswith(("http://", "https://")):
        raise Invalid("the webhook URL must start with http:// or https://", field="url")
    secret = secrets.token_urlsafe(32)
    with conn.cursor(row_factory=class_row(Webhook)) as cur:
        created = cur.execute(
            "INSERT INTO webhook (url, secret, role, bound_to, kinds, created_by) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "RETURNING webhook_id, url, role, bound_to, kinds, created_by, created_at, disabled_at",
            (url, secret, scope.role, scope.bound_to, sorted(set(kinds)), created_by),
        ).fetchone()
    assert created is not None
    return created, secret


def delete_webhook(*, conn: Conn, scope: Scope, webhook_id: int) -> None:
    """Stop a webhook the scope manages (its delivery log stays); NotFound otherwise."""
    cur = conn.execute(
        sql.SQL(
            "UPDATE webhook SET disabled_at = now() "
            "WHERE webhook_id = %s AND disabled_at IS NULL AND {}"
        ).format(_in_scope(scope)),
        (webhook_id,),
    )
    if cur.rowcount == 0:
        raise NotFound(f"webhook {webhook_id} not found")


def deliveries(*, conn: Conn, scope: Scope, webhook_id: int, limit: int = 100) -> list[Delivery]:
    """A webhook's delivery log, newest first, with each delivery's last attempt."""
    managed = conn.execute(
        sql.SQL("SELECT 1 FROM webhook WHERE webhook_id = %s AND {}").format(_in_scope(scope)),
        (webhook_id,),
    ).fetchone()
    if managed is None:
        raise NotFound(f"webhook {webhook_id} not found")
    with conn.cursor(row_factory=class_row(Delivery)) as cur:
        return cur.execute(
            "SELECT d.delivery_id, d.webhook_id, d.alert_id, d.change, d.created_at, d.attempts,"
            " d.next_attempt_at, d.delivered_at, d.gave_up_at,"
            " t.status_code AS last_status_code, t.error AS last_error"
            " FROM webhook_delivery d"
            " LEFT JOIN webhook_attempt t"
            "   ON t.delivery_id = d.delivery_id AND t.attempt = d.attempts"
            " WHERE d.webhook_id = %s ORDER BY d.delivery_id DESC LIMIT %s",
            (webhook_id, limit),
        ).fetchall()
