"""Dead letters (rejected messages) as each role may see them.

A contractor sees the messages it sent (by the contractor named in the topic or token), a bureau or
street office those about units in its scope, an admin all of them. A page holds at most ``limit``
dead letters and at most ``max_bytes`` of payload (always at least one), so a list of large
payloads cannot exhaust the API's memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from core.errors import Invalid, NotFound
from core.scope import Scope

Conn = psycopg.Connection[dict[str, Any]]

_SELECT = (
    "SELECT d.dead_letter_id, d.received_at, d.source, d.topic, d.contractor_id, d.unit_id, d.kind,"
    " d.event_id, d.reason, d.detail, d.payload, d.payload_size, d.payload_sha256, d.replayed_at,"
    " d.replay_outcome FROM dead_letter d"
)
_SIZES = "SELECT d.dead_letter_id, octet_length(d.payload) AS kept FROM dead_letter d"


def _condition(scope: Scope) -> sql.Composable:
    if scope.role == "admin":
        return sql.SQL("TRUE")
    if scope.role == "contractor":
        return sql.SQL("d.contractor_id = {}").format(sql.Literal(scope.bound_to))
    return sql.SQL("EXISTS (SELECT 1 FROM unit_place p WHERE p.unit_id = d.unit_id AND {})").format(
        scope.condition("p")
    )


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    payload = bytes(row.pop("payload"))
    digest = row.pop("payload_sha256")
    row["payload_truncated"] = row["payload_size"] is not None
    row["payload_size"] = row["payload_size"] or len(payload)
    row["payload_sha256"] = bytes(digest).hex() if digest is not None else None
    row["payload_text"] = None
    # A truncated payload may end inside a character: up to 3 bytes of it are left out of the text.
    for cut in range(4 if row["payload_truncated"] else 1):
        try:
            row["payload_text"] = payload[: len(payload) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    row["payload_hex"] = payload[:4096].hex() if row["payload_text"] is None else None
    return row


def list_dead_letters(
    conn: Conn,
    *,
    scope: Scope,
    reason: str | None,
    unit_id: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    max_bytes: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Dead letters in the scope, newest first, after the cursor (a dead_letter_id), at most
    ``limit`` of them and ``max_bytes`` of payload."""
    after: int | None = None
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise Invalid("cursor is not one this API returned", field="cursor")
        after = int(cursor)
    # Sizes first (octet_length reads no payload), then the payloads of the page only.
    query = sql.SQL(
        "{select} WHERE {cond}"
        " AND (%(reason)s::text IS NULL OR d.reason = %(reason)s)"
        " AND (%(unit)s::text IS NULL OR d.unit_id = %(unit)s)"
        " AND (%(since)s::timestamptz IS NULL OR d.received_at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR d.received_at < %(until)s)"
        " AND (%(after)s::bigint IS NULL OR d.dead_letter_id < %(after)s)"
        " ORDER BY d.dead_letter_id DESC LIMIT %(n)s"
    ).format(select=sql.SQL(_SIZES), cond=_condition(scope))
    sizes = conn.execute(
        query,
        {
            "reason": reason,
            "unit": unit_id,
            "since": since,
            "until": until,
            "after": after,
            "n": limit + 1,
        },
    ).fetchall()
    page: list[int] = []
    total = 0
    for row in sizes[:limit]:
        total += row["kept"]
        if page and total > max_bytes:
            break
        page.append(row["dead_letter_id"])
    more = len(sizes) > len(page)
    rows = conn.execute(
        sql.SQL("{select} WHERE d.dead_letter_id = ANY(%s) ORDER BY d.dead_letter_id DESC").format(
            select=sql.SQL(_SELECT)
        ),
        (page,),
    ).fetchall()
    shaped = [_shape(r) for r in rows]
    return shaped, (str(page[-1]) if more and page else None)


def get_dead_letter(conn: Conn, *, scope: Scope, dead_letter_id: int) -> dict[str, Any]:
    """One dead letter in the scope, or NotFound."""
    query = sql.SQL("{select} WHERE {cond} AND d.dead_letter_id = %s").format(
        select=sql.SQL(_SELECT), cond=_condition(scope)
    )
    row = conn.execute(query, (dead_letter_id,)).fetchone()
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    return _shape(row)


@dataclass(frozen=True)
class ReasonCount:
    """How many of a contractor's messages were rejected for one reason, and the latest when."""

    reason: str
    n: int
    last_at: datetime


@dataclass(frozen=True)
class Rejection:
    """One rejected message as a contractor's page lists it."""

    dead_letter_id: int
    received_at: datetime
    source: str
    topic: str | None
    unit_id: str | None
    kind: str | None
    reason: str
    detail: str
    replayed_at: datetime | None
    replay_outcome: str | None


def reason_counts(*, conn: Conn, scope: Scope, contractor_id: str) -> list[ReasonCount]:
    """How many of the contractor's messages were rejected, by reason, the commonest first."""
    query = sql.SQL(
        "SELECT d.reason, count(*)::int AS n, max(d.received_at) AS last_at FROM dead_letter d"
        " WHERE d.contractor_id = %(k)s AND {cond}"
        " GROUP BY d.reason ORDER BY count(*) DESC, d.reason"
    ).format(cond=_condition(scope))
    with conn.cursor(row_factory=class_row(ReasonCount)) as cur:
        return cur.execute(query, {"k": contractor_id}).fetchall()


def latest_rejections(
    *, conn: Conn, scope: Scope, contractor_id: str, limit: int = 50
) -> list[Rejection]:
    """The contractor's latest rejected messages with their reason and detail."""
    query = sql.SQL(
        "SELECT d.dead_letter_id, d.received_at, d.source, d.topic, d.unit_id, d.kind, d.reason,"
        " d.detail, d.replayed_at, d.replay_outcome FROM dead_letter d"
        " WHERE d.contractor_id = %(k)s AND {cond}"
        " ORDER BY d.received_at DESC, d.dead_letter_id DESC LIMIT %(limit)s"
    ).format(cond=_condition(scope))
    with conn.cursor(row_factory=class_row(Rejection)) as cur:
        return cur.execute(query, {"k": contractor_id, "limit": limit}).fetchall()
