"""Ages and failure rates: the headline of a scope, its age distribution, each unit's age against
its fault rate, and the overhaul reference line taken from the fleet-wide scoring policy.

The reference line is the policy's own: a unit of 15+ years whose equipment fault rate is 1.5
times the *fleet's* mean is flagged. Drawing it at 1.5 times the average of whatever scope is shown
would move it with the page (5.5 faults a year for one scope, 25 for another) and disagree with
the flags on the same page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from psycopg import sql
from psycopg.rows import class_row

from core.scope import Scope
from queries.common import AGE_SQL, Conn
from scoring.policy import Policy

OLD_AGE_YEARS = 15
"""Renewal programmes target units past 15 years (the policy's age threshold)."""


@dataclass(frozen=True)
class Headline:
    """A scope's units not retired, those registered stopped, median age, and those past 15 years."""

    units: int
    registered_stopped: int
    median_age: float | None
    past_15: int


@dataclass(frozen=True)
class AgePoint:
    """One unit's age and faults per year before the as-of date, with its flag."""

    unit_id: str
    age: float | None
    flag: str | None
    risk: float | None
    building: str
    community: str
    street_office_id: str
    failure_rate: float


@dataclass(frozen=True)
class OverhaulZone:
    """Where the policy's "old with a high fault rate" rule starts: age and faults per year."""

    age: float
    rate: float
    ratio: float
    fleet_mean: float


_UNITS = """
    FROM unit u
    JOIN unit_place p USING (unit_id)
    JOIN building b ON b.building_id = p.building_id
    JOIN community c ON c.community_id = p.community_id
"""


def headline(*, conn: Conn, scope: Scope, as_of: date) -> Headline:
    """Units, units registered as stopped, median age and units past 15 years in the scope."""
    query = sql.SQL(
        f"""
        SELECT count(*)::int AS units,
               (count(*) FILTER (WHERE u.service_status = 'stopped'))::int AS registered_stopped,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {AGE_SQL}) AS median_age,
               (count(*) FILTER (WHERE {AGE_SQL} > {OLD_AGE_YEARS}))::int AS past_15
        {_UNITS}
        WHERE u.service_status <> 'retired' AND {{scope}}
        """
    ).format(scope=scope.condition("p"))
    with conn.cursor(row_factory=class_row(Headline)) as cur:
        row = cur.execute(query, {"as_of": as_of}).fetchone()
    assert row is not None  # an aggregate always returns a row
    return row


def unit_ages(*, conn: Conn, scope: Scope, as_of: date) -> list[float]:
    """Age in years of every unit not retired in the scope, for the age distribution."""
    query = sql.SQL(
        f"SELECT {AGE_SQL} AS age {_UNITS} WHERE u.service_status <> 'retired' AND {{scope}}"
    ).format(scope=scope.condition("p"))
    return [r["age"] for r in conn.execute(query, {"as_of": as_of}) if r["age"] is not None]


def _fault_rate_sql(days_param: str = "days") -> str:
    return f"""LEFT JOIN LATERAL (
        SELECT sum(fd.faults) AS faults FROM fault_daily fd
        WHERE fd.unit_id = u.unit_id
          AND fd.day >= %(as_of)s::date - %({days_param})s::int AND fd.day < %(as_of)s::date + 1
          AND (NOT %(eq)s OR fd.cause = 'equipment')
    ) f ON true"""


def age_failure(
    *,
    conn: Conn,
    scope: Scope,
    run_id: int | None,
    as_of: date,
    street_office_id: str | None = None,
    equipment_only: bool = True,
    days: int = 365,
) -> list[AgePoint]:
    """Per unit in scope: age and faults per year over the ``days`` days before ``as_of``."""
    query = sql.SQL(
        f"""
        SELECT u.unit_id, {AGE_SQL} AS age, us.flag, us.risk, b.name AS building,
               c.name AS community, p.street_office_id,
               (coalesce(f.faults, 0) * 365.0 / %(days)s)::float8 AS failure_rate
        {_UNITS}
        LEFT JOIN unit_score us ON us.unit_id = u.unit_id AND us.run_id = %(run)s
        {_fault_rate_sql()}
        WHERE u.service_status <> 'retired' AND {{scope}}
          AND (%(so)s::text IS NULL OR p.street_office_id = %(so)s)
        ORDER BY u.unit_id
        """
    ).format(scope=scope.condition("p"))
    params = {
        "run": run_id,
        "as_of": as_of,
        "so": street_office_id,
        "eq": equipment_only,
        "days": days,
    }
    with conn.cursor(row_factory=class_row(AgePoint)) as cur:
        return cur.execute(query, params).fetchall()


def overhaul_zone(
    *, conn: Conn, policy: Policy, as_of: date, equipment_only: bool = True, days: int = 365
) -> OverhaulZone:
    """The policy's overhaul line: its age threshold, and its fault-rate ratio times the mean rate
    of the whole fleet (not of the caller's scope: the flags are set against the fleet)."""
    rule = policy.rule("safety_assessment.old_with_high_fault_rate")
    age = next(c.value for c in rule.conditions if c.column == "age_years")
    ratio = next(c.value for c in rule.conditions if c.column == "fault_rate_ratio")
    row = conn.execute(
        f"""
        SELECT avg(coalesce(f.faults, 0) * 365.0 / %(days)s)::float8 AS mean
        FROM unit u {_fault_rate_sql()}
        WHERE u.service_status <> 'retired'
        """,
        {"as_of": as_of, "eq": equipment_only, "days": days},
    ).fetchone()
    mean = float(row["mean"] or 0.0) if row else 0.0
    return OverhaulZone(age=age, rate=ratio * mean, ratio=ratio, fleet_mean=mean)
