"""The rows behind exports: a whole ranking in the scope, and a street office's buildings by need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from api.queries.scoping import region_condition
from core.errors import NotFound
from core.scope import Scope
from scoring import queries as scoring

Conn = psycopg.Connection[dict[str, Any]]
MAX_ROWS = 500_000


def all_ranked(
    page: Callable[[str | None], scoring.RankingPage],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Every item of a ranking, walking its pages; and the run."""
    first = page(None)
    items, cursor = list(first.items), first.next_cursor
    while cursor is not None and len(items) < MAX_ROWS:
        nxt = page(cursor)
        items.extend(nxt.items)
        cursor = nxt.next_cursor
    return first.run, items


_FLAG_ORDER = "array_position(ARRAY['stopped','replace_or_overhaul','safety_assessment','watch','ok'], s.flag)"


def street_office_buildings(
    conn: Conn, *, scope: Scope, street_office_id: str, run_id: int | None
) -> list[dict[str, Any]]:
    """The office's buildings in the scope, most in need first (best-ranked unit, then elderly share)."""
    office = conn.execute(
        sql.SQL("SELECT 1 FROM street_office x WHERE x.street_office_id = %s AND {}").format(
            region_condition(scope, "street_office", "x")
        ),
        (street_office_id,),
    ).fetchone()
    if office is None:
        raise NotFound(f"no street office {street_office_id!r}")
    run = scoring.resolve_run(conn, run_id=run_id)
    if run is None and run_id is not None:
        raise NotFound(f"no score run {run_id}")
    query = sql.SQL(
        "SELECT b.building_id, b.name AS building_name, c.community_id, c.name AS community,"
        " b.floors, b.households, b.residents, b.elderly_share::float8 AS elderly_share,"
        " b.fund_status, b.fund_balance::float8 AS fund_balance,"
        " count(u.unit_id)::int AS units,"
        " (count(u.unit_id) FILTER (WHERE u.service_status = 'in_service'))::int AS units_in_service,"
        " count(u.unit_id) FILTER (WHERE u.service_status = 'in_service') >= 2 AS another_serves,"
        " min(s.rank) AS top_rank, max(s.risk) AS max_risk,"
        " (array_agg(s.flag ORDER BY {flag_order}) FILTER (WHERE s.flag IS NOT NULL))[1] AS worst_flag"
        " FROM building b JOIN community c USING (community_id)"
        " LEFT JOIN unit u ON u.building_id = b.building_id"
        " LEFT JOIN unit_score s ON s.unit_id = u.unit_id AND s.run_id = %(run)s"
        " WHERE c.street_office_id = %(office)s AND {scope}"
        " GROUP BY b.building_id, c.community_id"
        " ORDER BY min(s.rank) NULLS LAST, b.elderly_share DESC NULLS LAST, b.building_id"
    ).format(flag_order=sql.SQL(_FLAG_ORDER), scope=region_condition(scope, "building", "b"))
    return conn.execute(
        query, {"run": run["run_id"] if run else None, "office": street_office_id}
    ).fetchall()
