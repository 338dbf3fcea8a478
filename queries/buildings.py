"""Buildings by need: a street office's (or a compound's) buildings, the most urgent first; one
building with its facts and its history.

A building is always named with its compound: every compound has a 3号楼, so a building is
(compound, building), never a building name alone. Stopped units are counted by the run's flag
(the unit must not run), not by the register's service status, which lags behind inspections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from psycopg import sql
from psycopg.rows import class_row, tuple_row

from core.errors import Invalid
from core.scope import Scope
from queries.common import FLAG_ORDER, Conn
from queries.scoping import region_condition

FLAGS = ("stopped", "replace_or_overhaul", "safety_assessment", "watch", "ok")


@dataclass(frozen=True)
class BuildingNeed:
    """One building of a need list: its place, residents, funding, units and their worst flag."""

    need_rank: int
    building_id: str
    building_name: str
    community_id: str
    community: str
    community_en: str | None
    street_office_id: str
    floors: int
    households: int
    residents: int | None
    elderly_share: float | None
    fund_status: str
    fund_balance: float | None
    units: int
    units_in_service: int
    another_serves: bool
    stopped: int
    flagged: int
    top_rank: int | None
    max_risk: float | None
    worst_flag: str | None
    flagged_units: list[str]
    flagged_flags: list[str]
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class BuildingPage:
    """A page of a need list, with how many buildings match in all."""

    buildings: list[BuildingNeed]
    total: int


@dataclass(frozen=True)
class BuildingHistory:
    """A building's units in one stored run: the best rank, highest risk and worst flag."""

    run_id: int
    as_of: date
    top_rank: int | None
    max_risk: float | None
    worst_flag: str | None
    flagged: int


# One row per building in the scope with its units' scores in the run; the need order is the
# best (lowest) rank of its units, so a building follows its most urgent unit, stopped ones first.
_NEED = """
SELECT (row_number() OVER (ORDER BY min(s.rank) NULLS LAST, b.elderly_share DESC NULLS LAST,
                           b.building_id))::int AS need_rank,
       b.building_id, b.name AS building_name, c.community_id, c.name AS community,
       c.name_en AS community_en, c.street_office_id, b.floors, b.households, b.residents,
       b.elderly_share::float8 AS elderly_share, b.fund_status,
       b.fund_balance::float8 AS fund_balance,
       count(u.unit_id)::int AS units,
       (count(u.unit_id) FILTER (WHERE u.service_status = 'in_service'))::int AS units_in_service,
       count(u.unit_id) FILTER (WHERE u.service_status = 'in_service') >= 2 AS another_serves,
       (count(*) FILTER (WHERE s.flag = 'stopped'))::int AS stopped,
       (count(*) FILTER (WHERE s.flag <> 'ok'))::int AS flagged,
       min(s.rank) AS top_rank, max(s.risk) AS max_risk,
       (array_agg(s.flag ORDER BY {flag_order}) FILTER (WHERE s.flag IS NOT NULL))[1] AS worst_flag,
       coalesce(array_agg(u.unit_id ORDER BY s.rank) FILTER (WHERE s.flag <> 'ok'), '{{}}')
           AS flagged_units,
       coalesce(array_agg(s.flag ORDER BY s.rank) FILTER (WHERE s.flag <> 'ok'), '{{}}')
           AS flagged_flags,
       b.lat::float8 AS lat, b.lon::float8 AS lon
FROM building b JOIN community c USING (community_id)
LEFT JOIN unit u ON u.building_id = b.building_id AND u.service_status <> 'retired'
LEFT JOIN unit_score s ON s.unit_id = u.unit_id AND s.run_id = %(run)s
WHERE {where}
GROUP BY b.building_id, c.community_id
"""

# Filters apply to the need list, so a building keeps its need rank in the whole list.
_FILTERS = sql.SQL(
    "(%(community)s::text IS NULL OR community_id = %(community)s)"
    " AND (%(flag)s::text IS NULL OR %(flag)s = ANY(flagged_flags)"
    " OR (%(flag)s = 'ok' AND worst_flag = 'ok'))"
)


def building_need(
    *,
    conn: Conn,
    scope: Scope,
    run_id: int | None,
    street_office_id: str | None = None,
    community_id: str | None = None,
    flag: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> BuildingPage:
    """Buildings of a street office or compound in the scope, most in need first, filtered and paged.

    ``need_rank`` is the building's place in the unfiltered list, so a filter keeps the numbers.
    """
    if flag is not None and flag not in FLAGS:
        raise Invalid(f"flag must be one of {', '.join(FLAGS)}, got {flag!r}", field="flag")
    if offset < 0 or (limit is not None and not 1 <= limit <= 1000):
        raise Invalid("limit must be between 1 and 1000 and offset not negative", field="limit")
    where = [region_condition(scope, "building", "b")]
    if street_office_id is not None:
        where.append(sql.SQL("c.street_office_id = %(office)s"))
    query = sql.SQL(
        "WITH need AS ({need}) SELECT * FROM need WHERE {filters}"
        " ORDER BY need_rank LIMIT %(limit)s OFFSET %(offset)s"
    ).format(
        need=sql.SQL(_NEED).format(
            flag_order=sql.SQL(FLAG_ORDER.format("s.flag")), where=sql.SQL(" AND ").join(where)
        ),
        filters=_FILTERS,
    )
    params = {
        "run": run_id,
        "office": street_office_id,
        "community": community_id,
        "flag": flag,
        "limit": limit,
        "offset": offset,
    }
    with conn.cursor(row_factory=class_row(BuildingNeed)) as cur:
        rows = cur.execute(query, params).fetchall()
    count = sql.SQL("WITH need AS ({need}) SELECT count(*) FROM need WHERE {filters}").format(
        need=sql.SQL(_NEED).format(
            flag_order=sql.SQL(FLAG_ORDER.format("s.flag")), where=sql.SQL(" AND ").join(where)
        ),
        filters=_FILTERS,
    )
    with conn.cursor(row_factory=tuple_row) as cur:
        total = cur.execute(count, params).fetchone()
    return BuildingPage(buildings=rows, total=int(total[0]) if total else 0)


def building_history(*, conn: Conn, scope: Scope, building_id: str) -> list[BuildingHistory]:
    """The building's units in every stored run, oldest first (within the scope)."""
    query = sql.SQL(
        "SELECT r.run_id, r.as_of, min(s.rank) AS top_rank, max(s.risk) AS max_risk,"
        " (array_agg(s.flag ORDER BY {flag_order}))[1] AS worst_flag,"
        " (count(*) FILTER (WHERE s.flag <> 'ok'))::int AS flagged"
        " FROM unit_score s JOIN score_run r USING (run_id) JOIN unit_place p USING (unit_id)"
        " WHERE p.building_id = %(building)s AND {scope}"
        " GROUP BY r.run_id, r.as_of ORDER BY r.as_of, r.run_id"
    ).format(flag_order=sql.SQL(FLAG_ORDER.format("s.flag")), scope=scope.condition("p"))
    with conn.cursor(row_factory=class_row(BuildingHistory)) as cur:
        return cur.execute(query, {"building": building_id}).fetchall()
