"""Data health per contractor: how fresh each unit's data is, measured against the data's own
latest time and the unit's usual reporting interval, not against today's clock.

A simulated or replayed fleet, or one whose feed paused for a day, would otherwise look entirely
"silent"; and a unit that reports every 5 minutes is late long before one that reports hourly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from psycopg.rows import class_row

from core.scope import Scope
from queries.common import Conn

LATE_INTERVALS = 1.5
"""A unit whose last report is this many usual intervals old is going silent."""
SILENT_INTERVALS = 3.0
"""...and this many intervals old is silent."""
SAMPLES = 10
"""The usual interval is measured over a unit's latest this many status reports."""
DEFAULT_INTERVAL_HOURS = 24.0
"""The interval assumed for a unit with a single report."""
FRESHNESS = ("online", "offline", "late", "silent", "never")


@dataclass(frozen=True)
class Contractor:
    """A contractor the caller may see."""

    contractor_id: str
    name: str
    name_en: str | None


@dataclass(frozen=True)
class UnitHealth:
    """One of a contractor's units: its place, flag, last messages and freshness."""

    unit_id: str
    registration_code: str
    service_status: str
    building: str
    community: str
    community_en: str | None
    flag: str | None
    risk: float | None
    last_status_at: datetime | None
    last_message_at: datetime | None
    interval_hours: float | None
    intervals_behind: float | None
    freshness: str


def contractor(*, conn: Conn, scope: Scope, contractor_id: str) -> Contractor | None:
    """A contractor the scope may see: itself, or one maintaining a unit in the scope."""
    if scope.role == "contractor" and scope.bound_to != contractor_id:
        return None
    query = sql.SQL(
        "SELECT k.contractor_id, k.name, k.name_en FROM contractor k WHERE k.contractor_id = %(k)s"
        " AND (%(own)s OR EXISTS (SELECT 1 FROM unit_place p"
        " WHERE p.contractor_id = k.contractor_id AND {scope}))"
    ).format(scope=scope.condition("p"))
    own = scope.role in ("admin", "contractor")
    with conn.cursor(row_factory=class_row(Contractor)) as cur:
        return cur.execute(query, {"k": contractor_id, "own": own}).fetchone()


def data_latest(*, conn: Conn) -> datetime | None:
    """The latest time any unit reported its status: the data's own "now"."""
    row = conn.execute("SELECT max(occurred_at) AS at FROM status_sample").fetchone()
    return row["at"] if row else None


def contractor_units(
    *, conn: Conn, scope: Scope, contractor_id: str, run_id: int | None
) -> list[UnitHealth]:
    """The contractor's units in scope with their freshness; flagged units first, then by rank."""
    query = sql.SQL(
        """
        WITH latest AS (SELECT max(occurred_at) AS at FROM status_sample)
        SELECT u.unit_id, u.registration_code, u.service_status, b.name AS building,
               c.name AS community, c.name_en AS community_en, us.flag, us.risk,
               st.last_at AS last_status_at,
               greatest(st.last_at,
                        (SELECT max(f.occurred_at) FROM fault_event f WHERE f.unit_id = u.unit_id),
                        (SELECT max(m.occurred_at) FROM maintenance_event m
                         WHERE m.unit_id = u.unit_id)) AS last_message_at,
               st.interval_hours,
               extract(epoch FROM latest.at - st.last_at) / 3600.0 / st.interval_hours
                   AS intervals_behind,
               CASE
                 WHEN st.last_at IS NULL THEN 'never'
                 WHEN latest.at - st.last_at > st.interval_hours * %(silent)s * interval '1 hour'
                   THEN 'silent'
                 WHEN latest.at - st.last_at > st.interval_hours * %(late)s * interval '1 hour'
                   THEN 'late'
                 WHEN NOT st.online THEN 'offline'
                 ELSE 'online'
               END AS freshness
        FROM unit u
        JOIN unit_place p USING (unit_id)
        JOIN building b ON b.building_id = p.building_id
        JOIN community c ON c.community_id = p.community_id
        CROSS JOIN latest
        LEFT JOIN unit_score us ON us.unit_id = u.unit_id AND us.run_id = %(run)s
        LEFT JOIN LATERAL (
            SELECT max(x.occurred_at) AS last_at, (array_agg(x.online ORDER BY x.occurred_at DESC))[1]
                   AS online,
                   CASE WHEN count(*) > 1
                        THEN extract(epoch FROM max(x.occurred_at) - min(x.occurred_at))
                             / 3600.0 / (count(*) - 1)
                        ELSE %(default)s END AS interval_hours
            FROM (SELECT occurred_at, online FROM status_sample
                  WHERE unit_id = u.unit_id ORDER BY occurred_at DESC LIMIT %(samples)s) x
        ) st ON true
        WHERE p.contractor_id = %(k)s AND u.service_status <> 'retired' AND {scope}
        ORDER BY CASE WHEN us.flag IS NULL OR us.flag = 'ok' THEN 1 ELSE 0 END, us.rank, u.unit_id
        """
    ).format(scope=scope.condition("p"))
    params = {
        "k": contractor_id,
        "run": run_id,
        "silent": SILENT_INTERVALS,
        "late": LATE_INTERVALS,
        "default": DEFAULT_INTERVAL_HOURS,
        "samples": SAMPLES,
    }
    with conn.cursor(row_factory=class_row(UnitHealth)) as cur:
        return cur.execute(query, params).fetchall()
