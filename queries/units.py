"""One unit: its register facts and place, its events for the timeline, its explanation, its scores.

``unit`` answers whether the scope may see the unit at all; the other functions of a unit page
are called only after it found the unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import sql
from psycopg.rows import class_row

from core.scope import Scope
from queries.common import AGE_SQL, Conn


@dataclass(frozen=True)
class UnitFacts:
    """A unit's register facts, age as of a date, and every level of its place with names."""

    unit_id: str
    registration_code: str
    manufacturer: str
    model: str | None
    installed_on: date
    renewed_on: date | None
    service_status: str
    age: float | None
    building_id: str
    building: str
    floors: int
    households: int
    community_id: str
    community: str
    community_en: str | None
    street_office_id: str
    street_office: str
    street_office_en: str | None
    district_id: str
    district: str
    district_en: str | None
    contractor_id: str
    contractor: str
    contractor_en: str | None


@dataclass(frozen=True)
class UnitEvent:
    """One fault, inspection or maintenance visit of a unit, for its timeline."""

    kind: str
    occurred_at: datetime
    detail: str | None
    cause: str | None
    severity: str | None
    entrapment: bool


def unit(*, conn: Conn, scope: Scope, unit_id: str, as_of: date) -> UnitFacts | None:
    """One unit's register facts and place, if the scope may see it."""
    query = sql.SQL(
        f"""
        SELECT u.unit_id, u.registration_code, u.manufacturer, u.model, u.installed_on,
               u.renewed_on, u.service_status, {AGE_SQL} AS age,
               b.building_id, b.name AS building, b.floors, b.households,
               c.community_id, c.name AS community, c.name_en AS community_en,
               o.street_office_id, o.name AS street_office, o.name_en AS street_office_en,
               d.district_id, d.name AS district, d.name_en AS district_en,
               k.contractor_id, k.name AS contractor, k.name_en AS contractor_en
        FROM unit u
        JOIN unit_place p USING (unit_id)
        JOIN building b ON b.building_id = p.building_id
        JOIN community c ON c.community_id = p.community_id
        JOIN street_office o ON o.street_office_id = p.street_office_id
        JOIN district d ON d.district_id = p.district_id
        JOIN contractor k ON k.contractor_id = u.contractor_id
        WHERE u.unit_id = %(unit)s AND {{scope}}
        """
    ).format(scope=scope.condition("p"))
    with conn.cursor(row_factory=class_row(UnitFacts)) as cur:
        return cur.execute(query, {"unit": unit_id, "as_of": as_of}).fetchone()


def unit_events(*, conn: Conn, unit_id: str, since: date | None = None) -> list[UnitEvent]:
    """Faults, inspections and maintenance of one unit, oldest first (after ``unit`` found it)."""
    with conn.cursor(row_factory=class_row(UnitEvent)) as cur:
        return cur.execute(
            """
            SELECT 'fault' AS kind, occurred_at, code AS detail, cause, severity, entrapment
            FROM fault_event WHERE unit_id = %(unit)s
              AND (%(since)s::date IS NULL OR occurred_at >= %(since)s)
            UNION ALL
            SELECT 'inspection', occurred_at, result, NULL, NULL, false
            FROM inspection_event WHERE unit_id = %(unit)s
              AND (%(since)s::date IS NULL OR occurred_at >= %(since)s)
            UNION ALL
            SELECT 'maintenance', occurred_at, visit_type, NULL, NULL, false
            FROM maintenance_event WHERE unit_id = %(unit)s
              AND (%(since)s::date IS NULL OR occurred_at >= %(since)s)
            ORDER BY occurred_at
            """,
            {"unit": unit_id, "since": since},
        ).fetchall()


def explanation(
    *, conn: Conn, scope: Scope, unit_id: str, run_id: int | None = None
) -> dict[str, Any] | None:
    """One unit's score with every factor and reason (latest run holding it unless run_id given)."""
    query = sql.SQL(
        "SELECT r.run_id, r.as_of, r.created_at, r.policy_version, r.policy_hash, r.model_version,"
        " r.unit_count, s.unit_id, u.registration_code, p.building_id, b.name AS building_name,"
        " p.community_id, p.street_office_id, p.district_id, p.contractor_id, s.rank, s.pof_rank, s.health,"
        " s.pof, s.cof, s.risk, s.model_probability, s.flag, s.flag_rule, s.reasons,"
        " u.manufacturer, u.installed_on, u.renewed_on, u.service_status,"
        " b.floors, b.households, b.elderly_share::float8 AS elderly_share, s.factors"
        " FROM unit_score s JOIN score_run r USING (run_id) JOIN unit_place p USING (unit_id)"
        " JOIN unit u USING (unit_id) JOIN building b ON b.building_id = p.building_id"
        " WHERE s.unit_id = %(unit_id)s AND {scope}"
        " AND (%(run_id)s::bigint IS NULL OR s.run_id = %(run_id)s)"
        " ORDER BY s.run_id DESC LIMIT 1"
    ).format(scope=scope.condition("p"))
    row = conn.execute(query, {"unit_id": unit_id, "run_id": run_id}).fetchone()
    if row is None:
        return None
    rule = next((f for f in row["factors"] if f.get("factor") == "flag_rule"), None)
    row["flag_reason"] = {"zh": rule.get("zh"), "en": rule.get("en")} if rule else None
    return row


def score_history(*, conn: Conn, scope: Scope, unit_id: str) -> list[dict[str, Any]]:
    """A unit's score in every stored run, oldest as-of date first."""
    query = sql.SQL(
        "SELECT r.run_id, r.as_of, r.created_at, r.unit_count, s.rank, s.health, s.pof, s.cof,"
        " s.risk, s.model_probability, s.flag, s.flag_rule"
        " FROM unit_score s JOIN score_run r USING (run_id) JOIN unit_place p USING (unit_id)"
        " WHERE s.unit_id = %(unit_id)s AND {scope} ORDER BY r.as_of, r.run_id"
    ).format(scope=scope.condition("p"))
    return conn.execute(query, {"unit_id": unit_id}).fetchall()
