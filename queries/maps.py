"""Buildings on a map: the buildings of a place that have coordinates, with what colours them.

A building's colour is its units' worst flag in the run; a building with no unit in service (a
walk-up, a retrofit candidate) has none and is shown as such. Only units in the caller's scope are
counted, so a contractor's map shows its own units in the buildings it serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from psycopg.rows import class_row

from core.scope import Scope
from queries.common import FLAG_ORDER, Conn
from queries.scoping import region_condition


@dataclass(frozen=True)
class BuildingPoint:
    """One building with coordinates: where it stands, its units and their worst flag."""

    building_id: str
    building_name: str
    community_id: str
    community: str
    community_en: str | None
    street_office_id: str
    lat: float
    lon: float
    households: int
    units: int
    flagged: int
    worst_flag: str | None


_POINTS = """
SELECT b.building_id, b.name AS building_name, c.community_id, c.name AS community,
       c.name_en AS community_en, c.street_office_id, b.lat::float8 AS lat, b.lon::float8 AS lon,
       b.households, count(p.unit_id)::int AS units,
       (count(*) FILTER (WHERE s.flag <> 'ok'))::int AS flagged,
       (array_agg(s.flag ORDER BY {flag_order}) FILTER (WHERE s.flag IS NOT NULL))[1] AS worst_flag
FROM building b
JOIN community c USING (community_id)
LEFT JOIN unit u ON u.building_id = b.building_id AND u.service_status <> 'retired'
LEFT JOIN unit_place p ON p.unit_id = u.unit_id AND {units_in_scope}
LEFT JOIN unit_score s ON s.unit_id = p.unit_id AND s.run_id = %(run)s
WHERE b.lat IS NOT NULL AND {region}
  AND (%(office)s::text IS NULL OR c.street_office_id = %(office)s)
  AND (%(community)s::text IS NULL OR c.community_id = %(community)s)
GROUP BY b.building_id, c.community_id
ORDER BY b.building_id
"""


def building_points(
    *,
    conn: Conn,
    scope: Scope,
    run_id: int | None,
    street_office_id: str | None = None,
    community_id: str | None = None,
) -> list[BuildingPoint]:
    """Buildings in the scope (of one street office or compound) that have coordinates."""
    query = sql.SQL(_POINTS).format(
        flag_order=sql.SQL(FLAG_ORDER.format("s.flag")),
        units_in_scope=scope.condition("p"),
        region=region_condition(scope, "building", "b"),
    )
    params = {"run": run_id, "office": street_office_id, "community": community_id}
    with conn.cursor(row_factory=class_row(BuildingPoint)) as cur:
        return cur.execute(query, params).fetchall()
