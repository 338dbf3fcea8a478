"""Places above the unit: where a district, street office, compound or building sits (for the
breadcrumbs of a drill-down), their summaries by flag, and the search box.

Every lookup is scoped: a place the caller may not see is None, like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from psycopg import sql
from psycopg.rows import class_row

from core.scope import Scope
from queries.common import Conn
from queries.scoping import region_condition

Level = Literal["district", "street_office", "community", "building"]
LEVELS: tuple[Level, ...] = ("district", "street_office", "community", "building")


@dataclass(frozen=True)
class Crumb:
    """One level of a place's path: its level, id and names."""

    level: Level
    id: str
    name: str
    name_en: str | None


@dataclass(frozen=True)
class Place:
    """A place and its path from the district down to it (itself last)."""

    level: Level
    id: str
    name: str
    name_en: str | None
    path: list[Crumb]


@dataclass(frozen=True)
class BuildingFacts:
    """A building's register facts: residents, floors, funding and how many units serve it."""

    building_id: str
    name: str
    floors: int
    households: int
    residents: int | None
    elderly_share: float | None
    year_built: int | None
    fund_status: str
    fund_balance: float | None
    units: int
    units_in_service: int


@dataclass(frozen=True)
class FlagCounts:
    """Units of one street office (or of the whole scope when the id is None) by the run's flag."""

    street_office_id: str | None
    name: str | None
    name_en: str | None
    units: int
    stopped: int
    replace_or_overhaul: int
    safety_assessment: int
    watch: int
    ok: int


@dataclass(frozen=True)
class SearchHit:
    """A unit, building or compound whose id, registration code or name holds the search text."""

    kind: Literal["unit", "building", "community"]
    id: str
    label: str
    community: str
    community_en: str | None


# The path of each level, as (level, id column, name column, English name column) over the
# joined district d, street office o, community c and building b.
_PATH: tuple[tuple[Level, str, str, str], ...] = (
    ("district", "d.district_id", "d.name", "d.name_en"),
    ("street_office", "o.street_office_id", "o.name", "o.name_en"),
    ("community", "c.community_id", "c.name", "c.name_en"),
    ("building", "b.building_id", "b.name", "NULL::text"),
)
_FROM = {
    "district": "district d",
    "street_office": "street_office o JOIN district d USING (district_id)",
    "community": "community c JOIN street_office o USING (street_office_id)"
    " JOIN district d USING (district_id)",
    "building": "building b JOIN community c USING (community_id)"
    " JOIN street_office o USING (street_office_id) JOIN district d USING (district_id)",
}
_ALIAS = {"district": "d", "street_office": "o", "community": "c", "building": "b"}


def place(*, conn: Conn, scope: Scope, level: Level, place_id: str) -> Place | None:
    """A district, street office, compound or building in the scope, with its path; else None."""
    depth = LEVELS.index(level) + 1
    columns = sql.SQL(", ").join(
        sql.SQL(f"{ident} AS {lvl}_id, {name} AS {lvl}_name, {name_en} AS {lvl}_name_en")
        for lvl, ident, name, name_en in _PATH[:depth]
    )
    alias = _ALIAS[level]
    query = sql.SQL("SELECT {columns} FROM {source} WHERE {key} = %s AND {scope}").format(
        columns=columns,
        source=sql.SQL(_FROM[level]),
        key=sql.Identifier(alias, f"{level}_id"),
        scope=region_condition(scope, level, alias),
    )
    row = conn.execute(query, (place_id,)).fetchone()
    if row is None:
        return None
    path = [
        Crumb(
            level=lvl, id=row[f"{lvl}_id"], name=row[f"{lvl}_name"], name_en=row[f"{lvl}_name_en"]
        )
        for lvl, *_ in _PATH[:depth]
    ]
    here = path[-1]
    return Place(level=level, id=here.id, name=here.name, name_en=here.name_en, path=path)


def building_facts(*, conn: Conn, scope: Scope, building_id: str) -> BuildingFacts | None:
    """A building's register facts and its units in and out of service, if in the scope."""
    query = sql.SQL(
        "SELECT b.building_id, b.name, b.floors, b.households, b.residents,"
        " b.elderly_share::float8 AS elderly_share, b.year_built, b.fund_status,"
        " b.fund_balance::float8 AS fund_balance,"
        " (SELECT count(*) FROM unit u WHERE u.building_id = b.building_id"
        "  AND u.service_status <> 'retired')::int AS units,"
        " (SELECT count(*) FROM unit u WHERE u.building_id = b.building_id"
        "  AND u.service_status = 'in_service')::int AS units_in_service"
        " FROM building b WHERE b.building_id = %s AND {scope}"
    ).format(scope=region_condition(scope, "building", "b"))
    with conn.cursor(row_factory=class_row(BuildingFacts)) as cur:
        return cur.execute(query, (building_id,)).fetchone()


def flag_counts(*, conn: Conn, scope: Scope, run_id: int) -> list[FlagCounts]:
    """Units of the run by flag: the whole scope first (id None), then each street office."""
    query = sql.SQL(
        "SELECT o.street_office_id, o.name, o.name_en, count(*)::int AS units,"
        " {counts} FROM unit_score s JOIN unit_place p USING (unit_id)"
        " LEFT JOIN street_office o ON o.street_office_id = p.street_office_id"
        " WHERE s.run_id = %(run)s AND {scope}"
        " GROUP BY GROUPING SETS ((), (o.street_office_id, o.name, o.name_en))"
        " ORDER BY o.street_office_id NULLS FIRST"
    ).format(
        counts=sql.SQL(", ").join(
            sql.SQL("(count(*) FILTER (WHERE s.flag = {}))::int AS {}").format(
                sql.Literal(f), sql.Identifier(f)
            )
            for f in ("stopped", "replace_or_overhaul", "safety_assessment", "watch", "ok")
        ),
        scope=scope.condition("p"),
    )
    with conn.cursor(row_factory=class_row(FlagCounts)) as cur:
        return cur.execute(query, {"run": run_id}).fetchall()


def street_offices(*, conn: Conn, scope: Scope) -> list[Crumb]:
    """The street offices with at least one unit in scope, for filters and navigation."""
    query = sql.SQL(
        "SELECT 'street_office' AS level, o.street_office_id AS id, o.name, o.name_en"
        " FROM street_office o WHERE EXISTS (SELECT 1 FROM unit_place p"
        " WHERE p.street_office_id = o.street_office_id AND {scope}) ORDER BY o.street_office_id"
    ).format(scope=scope.condition("p"))
    with conn.cursor(row_factory=class_row(Crumb)) as cur:
        return cur.execute(query).fetchall()


def communities(*, conn: Conn, scope: Scope, street_office_id: str) -> list[Crumb]:
    """The compounds of a street office in the scope, for the page's filter."""
    query = sql.SQL(
        "SELECT 'community' AS level, c.community_id AS id, c.name, c.name_en FROM community c"
        " WHERE c.street_office_id = %s AND {scope} ORDER BY c.name, c.community_id"
    ).format(scope=region_condition(scope, "community", "c"))
    with conn.cursor(row_factory=class_row(Crumb)) as cur:
        return cur.execute(query, (street_office_id,)).fetchall()


def search(*, conn: Conn, scope: Scope, text: str, limit: int = 30) -> list[SearchHit]:
    """Units by id or registration code, buildings and compounds by name, holding ``text``."""
    needle = text.strip()
    if not needle:
        return []
    like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = sql.SQL(
        "(SELECT 'unit' AS kind, u.unit_id AS id,"
        "  u.unit_id || ' · ' || u.registration_code || ' · ' || b.name AS label,"
        "  c.name AS community, c.name_en AS community_en"
        "  FROM unit u JOIN unit_place p USING (unit_id)"
        "  JOIN building b ON b.building_id = p.building_id"
        "  JOIN community c ON c.community_id = p.community_id"
        "  WHERE (u.unit_id ILIKE %(like)s OR u.registration_code ILIKE %(like)s) AND {unit_scope}"
        "  ORDER BY u.unit_id LIMIT %(limit)s)"
        " UNION ALL"
        " (SELECT 'building', b.building_id, b.name, c.name, c.name_en"
        "  FROM building b JOIN community c USING (community_id)"
        "  WHERE (b.name ILIKE %(like)s OR b.building_id ILIKE %(like)s"
        "   OR c.name || b.name ILIKE %(like)s) AND {building_scope}"
        "  ORDER BY c.name, b.name LIMIT %(limit)s)"
        " UNION ALL"
        " (SELECT 'community', c.community_id, c.name, c.name, c.name_en FROM community c"
        "  WHERE (c.name ILIKE %(like)s OR c.name_en ILIKE %(like)s OR c.community_id ILIKE %(like)s)"
        "  AND {community_scope} ORDER BY c.name LIMIT %(limit)s)"
    ).format(
        unit_scope=scope.condition("p"),
        building_scope=region_condition(scope, "building", "b"),
        community_scope=region_condition(scope, "community", "c"),
    )
    with conn.cursor(row_factory=class_row(SearchHit)) as cur:
        return cur.execute(query, {"like": like, "limit": limit}).fetchall()
