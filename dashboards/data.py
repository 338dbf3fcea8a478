"""The rows the dashboards show, read with the caller's scope inside every query.

Each function takes a connection and a Scope and returns plain dicts; nothing outside the scope is
ever read, so a page about something out of scope finds nothing (and answers 404).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from core.scope import Scope

Conn = psycopg.Connection[dict[str, Any]]
Row = dict[str, Any]

OLD_AGE_YEARS = 15
"""The policy threshold for old units (renewal programmes target units past 15 years)."""

SILENT_AFTER_HOURS = 48
"""A unit that has sent nothing for this long counts as silent on the contractor page."""

# Age on the as-of date counts from installation or the latest major renewal on or before it.
_AGE = """
    ((%(as_of)s::date - GREATEST(u.installed_on,
        CASE WHEN u.renewed_on <= %(as_of)s::date THEN u.renewed_on END,
        (SELECT max(r.renewed_on) FROM unit_renewal r
         WHERE r.unit_id = u.unit_id AND r.renewed_on <= %(as_of)s::date))) / 365.25)::float8
"""

_UNITS = """
    FROM unit u
    JOIN unit_place p USING (unit_id)
    JOIN building b ON b.building_id = p.building_id
    JOIN community c ON c.community_id = p.community_id
    JOIN street_office s ON s.street_office_id = p.street_office_id
"""


def _run(q: str, scope: Scope, **extra: Any) -> sql.Composed:
    return sql.SQL(q).format(scope=scope.condition("p"), **extra)


def latest_run(conn: Conn) -> Row | None:
    """The latest stored score run, or None before any scoring."""
    # The last one stored, as the API's rankings choose by default, so both show the same run.
    return conn.execute(
        "SELECT run_id, as_of, created_at, policy_version, unit_count FROM score_run"
        " ORDER BY run_id DESC LIMIT 1"
    ).fetchone()


def headline(conn: Conn, *, scope: Scope, run_id: int | None, as_of: date) -> Row:
    """Units, stopped units, median age, units past 15 years, and flagged units by flag."""
    q = _run(
        f"""
        SELECT count(*) AS units,
               count(*) FILTER (WHERE u.service_status = 'stopped') AS stopped,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {_AGE}) AS median_age,
               count(*) FILTER (WHERE {_AGE} > {OLD_AGE_YEARS}) AS past_15
        {_UNITS}
        WHERE u.service_status <> 'retired' AND {{scope}}
        """,
        scope,
    )
    row = conn.execute(q, {"as_of": as_of}).fetchone() or {}
    flags = conn.execute(
        _run(
            """
            SELECT us.flag, count(*) AS n FROM unit_score us
            JOIN unit_place p USING (unit_id)
            WHERE us.run_id = %(run)s AND {scope} GROUP BY us.flag
            """,
            scope,
        ),
        {"run": run_id},
    ).fetchall()
    return {**row, "flags": {f["flag"]: f["n"] for f in flags}}


def scored_units(
    conn: Conn,
    *,
    scope: Scope,
    run_id: int,
    as_of: date,
    street_office_id: str | None = None,
    flagged_only: bool = False,
    limit: int | None = None,
    with_factors: bool = True,
) -> list[Row]:
    """Every scored unit of a run with its place and age (and factors if asked), best rank first."""
    q = _run(
        f"""
        SELECT us.rank, us.unit_id, u.registration_code, us.health, us.pof, us.cof, us.risk,
               us.flag, us.flag_rule, CASE WHEN %(factors)s THEN us.factors END AS factors,
               u.service_status, {_AGE} AS age,
               b.building_id, b.name AS building, c.community_id, c.name AS community,
               c.name_en AS community_en, s.street_office_id, s.name AS street_office,
               s.name_en AS street_office_en
        FROM unit_score us
        JOIN unit u USING (unit_id)
        JOIN unit_place p ON p.unit_id = us.unit_id
        JOIN building b ON b.building_id = p.building_id
        JOIN community c ON c.community_id = p.community_id
        JOIN street_office s ON s.street_office_id = p.street_office_id
        WHERE us.run_id = %(run)s AND {{scope}}
          AND (%(so)s::text IS NULL OR p.street_office_id = %(so)s)
          AND (NOT %(flagged)s OR us.flag <> 'ok')
        ORDER BY us.rank
        LIMIT %(limit)s
        """,
        scope,
    )
    params = {
        "run": run_id,
        "as_of": as_of,
        "so": street_office_id,
        "flagged": flagged_only,
        "limit": limit,
        "factors": with_factors,
    }
    return conn.execute(q, params).fetchall()


def unit_ages(conn: Conn, *, scope: Scope, as_of: date) -> list[Row]:
    """Age in years of every unit not retired, for the fleet age distribution."""
    q = _run(
        f"SELECT u.unit_id, {_AGE} AS age {_UNITS}"
        " WHERE u.service_status <> 'retired' AND {scope}",
        scope,
    )
    return conn.execute(q, {"as_of": as_of}).fetchall()


def street_office(conn: Conn, *, scope: Scope, street_office_id: str) -> Row | None:
    """A street office the scope may see (one with at least one visible unit), or None."""
    q = _run(
        """
        SELECT s.street_office_id, s.name, s.name_en, s.district_id FROM street_office s
        WHERE s.street_office_id = %(so)s
          AND EXISTS (SELECT 1 FROM unit_place p WHERE p.street_office_id = s.street_office_id
                      AND {scope})
        """,
        scope,
    )
    return conn.execute(q, {"so": street_office_id}).fetchone()


def buildings_by_need(
    conn: Conn, *, scope: Scope, street_office_id: str, run_id: int | None
) -> list[Row]:
    """The street office's buildings, the most urgent first, with their units' state and flags."""
    q = _run(
        """
        SELECT b.building_id, b.name, c.name AS community, c.name_en AS community_en,
               b.households, b.floors, b.elderly_share, b.fund_status, b.fund_balance,
               count(*) FILTER (WHERE u.service_status = 'in_service') AS in_service,
               count(*) FILTER (WHERE u.service_status = 'stopped') AS stopped,
               max(us.risk) AS max_risk,
               coalesce(sum(us.risk), 0) AS total_risk,
               coalesce(array_agg(u.unit_id ORDER BY us.rank)
                        FILTER (WHERE us.flag IS NOT NULL AND us.flag <> 'ok'), '{{}}') AS flagged,
               coalesce(array_agg(us.flag ORDER BY us.rank)
                        FILTER (WHERE us.flag IS NOT NULL AND us.flag <> 'ok'), '{{}}')
                   AS flagged_flags
        FROM unit u
        JOIN unit_place p USING (unit_id)
        JOIN building b ON b.building_id = p.building_id
        JOIN community c ON c.community_id = p.community_id
        LEFT JOIN unit_score us ON us.unit_id = u.unit_id AND us.run_id = %(run)s
        WHERE p.street_office_id = %(so)s AND u.service_status <> 'retired' AND {scope}
        GROUP BY b.building_id, c.community_id
        ORDER BY max(us.risk) DESC NULLS LAST, b.elderly_share DESC NULLS LAST, b.building_id
        """,
        scope,
    )
    return conn.execute(q, {"so": street_office_id, "run": run_id}).fetchall()


def unit_info(conn: Conn, *, scope: Scope, unit_id: str, as_of: date) -> Row | None:
    """One unit's register facts and place, if the scope may see it."""
    q = _run(
        f"""
        SELECT u.unit_id, u.registration_code, u.manufacturer, u.model, u.installed_on,
               u.renewed_on, u.service_status, u.contractor_id, {_AGE} AS age,
               b.name AS building, b.floors, b.households, c.name AS community,
               c.name_en AS community_en, s.street_office_id, s.name AS street_office,
               s.name_en AS street_office_en, k.name AS contractor, k.name_en AS contractor_en
        {_UNITS}
        JOIN contractor k ON k.contractor_id = u.contractor_id
        WHERE u.unit_id = %(unit)s AND {{scope}}
        """,
        scope,
    )
    return conn.execute(q, {"unit": unit_id, "as_of": as_of}).fetchone()


def unit_events(conn: Conn, *, unit_id: str, since: date | None = None) -> list[Row]:
    """Faults, inspections and maintenance of one unit (call only after unit_info found it)."""
    return conn.execute(
        """
        SELECT 'fault' AS kind, occurred_at, code AS detail, cause, severity, entrapment
        FROM fault_event WHERE unit_id = %(unit)s AND (%(since)s::date IS NULL OR occurred_at >= %(since)s)
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


def unit_scores(conn: Conn, *, unit_id: str) -> list[Row]:
    """Every score of one unit across runs, oldest first (call only after unit_info found it)."""
    return conn.execute(
        """
        SELECT r.run_id, r.as_of, us.rank, us.health, us.pof, us.cof, us.risk, us.flag,
               us.flag_rule, us.factors
        FROM unit_score us JOIN score_run r USING (run_id)
        WHERE us.unit_id = %(unit)s ORDER BY r.as_of, r.run_id
        """,
        {"unit": unit_id},
    ).fetchall()


def contractor(conn: Conn, *, scope: Scope, contractor_id: str) -> Row | None:
    """A contractor the scope may see: itself, or one maintaining a unit in the scope."""
    if scope.role == "contractor" and scope.bound_to != contractor_id:
        return None
    q = _run(
        """
        SELECT k.contractor_id, k.name, k.name_en FROM contractor k
        WHERE k.contractor_id = %(k)s
          AND (%(own)s OR EXISTS (SELECT 1 FROM unit_place p
                                  WHERE p.contractor_id = k.contractor_id AND {scope}))
        """,
        scope,
    )
    own = scope.role in ("admin", "contractor")
    return conn.execute(q, {"k": contractor_id, "own": own}).fetchone()


def contractor_units(
    conn: Conn, *, scope: Scope, contractor_id: str, run_id: int | None
) -> list[Row]:
    """The contractor's units in scope, with their last message and freshness."""
    q = _run(
        f"""
        SELECT u.unit_id, u.registration_code, u.service_status, b.name AS building,
               c.name AS community, c.name_en AS community_en, us.flag, us.risk,
               last.occurred_at AS last_status_at, last.online,
               greatest(last.occurred_at,
                        (SELECT max(f.occurred_at) FROM fault_event f WHERE f.unit_id = u.unit_id),
                        (SELECT max(m.occurred_at) FROM maintenance_event m
                         WHERE m.unit_id = u.unit_id)) AS last_message_at,
               CASE
                 WHEN last.occurred_at IS NULL THEN 'never'
                 WHEN last.occurred_at < now() - make_interval(hours => {SILENT_AFTER_HOURS})
                   THEN 'silent'
                 WHEN NOT last.online THEN 'offline'
                 ELSE 'online'
               END AS freshness
        {_UNITS}
        LEFT JOIN unit_score us ON us.unit_id = u.unit_id AND us.run_id = %(run)s
        LEFT JOIN LATERAL (
            SELECT st.occurred_at, st.online FROM status_sample st
            WHERE st.unit_id = u.unit_id ORDER BY st.occurred_at DESC LIMIT 1
        ) last ON true
        WHERE p.contractor_id = %(k)s AND u.service_status <> 'retired' AND {{scope}}
        ORDER BY CASE WHEN us.flag IS NULL OR us.flag = 'ok' THEN 1 ELSE 0 END, us.rank, u.unit_id
        """,
        scope,
    )
    return conn.execute(q, {"k": contractor_id, "run": run_id}).fetchall()


def _dead_letter_filter(scope: Scope) -> sql.Composable:
    # A rejected message may name a unit that does not exist, so a contractor sees its own by the
    # contractor on the message; the others see those about units in their scope.
    if scope.role in ("admin", "contractor"):
        return scope.condition("d")
    return sql.SQL("EXISTS (SELECT 1 FROM unit_place p WHERE p.unit_id = d.unit_id AND {})").format(
        scope.condition("p")
    )


def dead_letter_reasons(conn: Conn, *, scope: Scope, contractor_id: str) -> list[Row]:
    """How many of the contractor's messages were rejected, by reason, the commonest first."""
    q = sql.SQL(
        """
        SELECT d.reason, count(*) AS n, max(d.received_at) AS last_at FROM dead_letter d
        WHERE d.contractor_id = %(k)s AND {filter}
        GROUP BY d.reason ORDER BY count(*) DESC, d.reason
        """
    ).format(filter=_dead_letter_filter(scope))
    return conn.execute(q, {"k": contractor_id}).fetchall()


def dead_letters(conn: Conn, *, scope: Scope, contractor_id: str, limit: int = 50) -> list[Row]:
    """The contractor's latest rejected messages with their reason and detail."""
    q = sql.SQL(
        """
        SELECT d.dead_letter_id, d.received_at, d.source, d.topic, d.unit_id, d.kind, d.reason,
               d.detail, d.replayed_at, d.replay_outcome
        FROM dead_letter d
        WHERE d.contractor_id = %(k)s AND {filter}
        ORDER BY d.received_at DESC, d.dead_letter_id DESC LIMIT %(limit)s
        """
    ).format(filter=_dead_letter_filter(scope))
    return conn.execute(q, {"k": contractor_id, "limit": limit}).fetchall()


def age_failure(
    conn: Conn,
    *,
    scope: Scope,
    run_id: int | None,
    as_of: date,
    street_office_id: str | None = None,
    equipment_only: bool = True,
    days: int = 365,
) -> list[Row]:
    """Per unit: age and faults per year over the ``days`` days before ``as_of``, with its flag."""
    q = _run(
        f"""
        SELECT u.unit_id, {_AGE} AS age, us.flag, us.risk, b.name AS building,
               s.street_office_id, s.name AS street_office, s.name_en AS street_office_en,
               coalesce(f.faults, 0) * 365.0 / %(days)s AS failure_rate
        {_UNITS}
        LEFT JOIN unit_score us ON us.unit_id = u.unit_id AND us.run_id = %(run)s
        LEFT JOIN LATERAL (
            SELECT sum(fd.faults) AS faults FROM fault_daily fd
            WHERE fd.unit_id = u.unit_id
              AND fd.day >= %(as_of)s::date - %(days)s::int AND fd.day < %(as_of)s::date + 1
              AND (NOT %(eq)s OR fd.cause = 'equipment')
        ) f ON true
        WHERE u.service_status <> 'retired' AND {{scope}}
          AND (%(so)s::text IS NULL OR p.street_office_id = %(so)s)
        ORDER BY u.unit_id
        """,
        scope,
    )
    params = {
        "run": run_id,
        "as_of": as_of,
        "so": street_office_id,
        "eq": equipment_only,
        "days": days,
    }
    return conn.execute(q, params).fetchall()


def street_offices(conn: Conn, *, scope: Scope) -> list[Row]:
    """The street offices with at least one unit in scope, for filters and navigation."""
    q = _run(
        """
        SELECT s.street_office_id, s.name, s.name_en FROM street_office s
        WHERE EXISTS (SELECT 1 FROM unit_place p WHERE p.street_office_id = s.street_office_id
                      AND {scope})
        ORDER BY s.street_office_id
        """,
        scope,
    )
    return conn.execute(q).fetchall()
