"""Renewal plans as their readers see them: runs, rows, buildings, retrofit candidates, offices.

A bureau reads its district's plans. A street office reads the rows and buildings of its own
jurisdiction from any plan that holds them, and a plan's summary figures only when the plan is
limited to the street office's district (they are the district's totals). Contractors maintain
units; renewal plans are not theirs to read. Plans are written by planning/store.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from core.scope import Scope
from queries.common import Conn


def _visible(scope: Scope, alias: str) -> sql.Composable:
    """A scope's condition over a table carrying district_id and street_office_id."""
    if scope.role == "admin":
        return sql.SQL("TRUE")
    if scope.role in ("bureau", "street_office"):
        return sql.SQL("{} = {}").format(
            sql.Identifier(alias, scope.column or ""), sql.Literal(scope.bound_to)
        )
    return sql.SQL("FALSE")


def _run_visible(scope: Scope) -> sql.Composable:
    """Which plan runs a scope may see: a bureau its district's, a street office those holding its
    buildings, an admin all."""
    if scope.role == "admin":
        return sql.SQL("TRUE")
    if scope.role == "bureau":
        return sql.SQL("r.district_id = {}").format(sql.Literal(scope.bound_to))
    if scope.role == "street_office":
        return sql.SQL(
            "EXISTS (SELECT 1 FROM plan_building b WHERE b.plan_id = r.plan_id"
            " AND b.street_office_id = {})"
        ).format(sql.Literal(scope.bound_to))
    return sql.SQL("FALSE")


def _in_place(scope: Scope, alias: str) -> sql.Composable:
    """A plan's rows of ``alias`` visible to the scope, of one street office (``%(so)s``) or
    building (``%(b)s``) when those are given."""
    return sql.SQL(
        "{a}.plan_id = %(plan_id)s AND {visible}"
        " AND (%(so)s::text IS NULL OR {a}.street_office_id = %(so)s)"
        " AND (%(b)s::text IS NULL OR {a}.building_id = %(b)s)"
    ).format(a=sql.Identifier(alias), visible=_visible(scope, alias))


def plan_runs(*, conn: Conn, scope: Scope, limit: int = 50) -> list[dict[str, Any]]:
    """Plan runs the scope may see, newest first."""
    query = sql.SQL(
        "SELECT r.plan_id, r.created_at, r.score_run_id, r.district_id, r.starts_on, r.years,"
        " r.period_months, r.method, r.policy_version, r.catalogue_version, r.note,"
        " r.summary -> 'planned' AS planned, r.summary -> 'cost' AS cost"
        " FROM plan_run r WHERE {} ORDER BY r.plan_id DESC LIMIT %s"
    ).format(_run_visible(scope))
    return conn.execute(query, (limit,)).fetchall()


def plan_run(*, conn: Conn, scope: Scope, plan_id: int) -> dict[str, Any] | None:
    """One plan run the scope may see, with summary, trajectory and scenarios; None if not."""
    query = sql.SQL("SELECT r.* FROM plan_run r WHERE r.plan_id = %s AND {}").format(
        _run_visible(scope)
    )
    run = conn.execute(query, (plan_id,)).fetchone()
    if run is None:
        return None
    if scope.role == "street_office":
        # The district's totals are not a street office's figures: it sees its own rows only.
        run["trajectory"] = None
        run["scenarios"] = []
        run["summary"] = {"method": run["summary"].get("method")}
    return run


def latest_plan_id(*, conn: Conn, scope: Scope) -> int | None:
    """The newest plan run the scope may see."""
    runs = plan_runs(conn=conn, scope=scope, limit=1)
    return int(runs[0]["plan_id"]) if runs else None


def plan_rows(
    *,
    conn: Conn,
    scope: Scope,
    plan_id: int,
    street_office_id: str | None = None,
    building_id: str | None = None,
) -> list[dict[str, Any]]:
    """A plan's rows in the scope (of one street office or building), with the building's name."""
    query = sql.SQL(
        "SELECT p.*, b.name AS building_name FROM plan_row p"
        " JOIN plan_building b USING (plan_id, building_id)"
        " WHERE {} ORDER BY p.starts_on, p.street_office_id, p.building_id, p.unit_id"
    ).format(_in_place(scope, "p"))
    params = {"plan_id": plan_id, "so": street_office_id, "b": building_id}
    return conn.execute(query, params).fetchall()


def plan_buildings(
    *,
    conn: Conn,
    scope: Scope,
    plan_id: int,
    street_office_id: str | None = None,
    building_id: str | None = None,
) -> list[dict[str, Any]]:
    """A plan's buildings in the scope (of one street office or building): phases and waits."""
    query = sql.SQL(
        "SELECT b.* FROM plan_building b WHERE {} ORDER BY b.street_office_id, b.building_id"
    ).format(_in_place(scope, "b"))
    params = {"plan_id": plan_id, "so": street_office_id, "b": building_id}
    return conn.execute(query, params).fetchall()


def plan_retrofits(*, conn: Conn, scope: Scope, plan_id: int) -> list[dict[str, Any]]:
    """A plan's retrofit candidates in the scope, ranked per street office."""
    query = sql.SQL(
        "SELECT t.* FROM plan_retrofit t WHERE t.plan_id = %(plan_id)s AND {}"
        " ORDER BY t.street_office_id, t.rank_in_street"
    ).format(_visible(scope, "t"))
    return conn.execute(query, {"plan_id": plan_id}).fetchall()


def street_offices(*, conn: Conn, scope: Scope, plan_id: int) -> list[dict[str, Any]]:
    """Per street office of a plan: its name, units planned, cost and first start, in the scope."""
    query = sql.SQL(
        "SELECT p.street_office_id, s.name, s.name_en, count(*) AS units, sum(p.cost) AS cost,"
        " min(p.starts_on) AS first_start"
        " FROM plan_row p JOIN street_office s USING (street_office_id)"
        " WHERE p.plan_id = %s AND {} GROUP BY 1, 2, 3 ORDER BY 1"
    ).format(_visible(scope, "p"))
    return conn.execute(query, (plan_id,)).fetchall()


@dataclass(frozen=True)
class PlanWhole:
    """A plan as its workbook shows it: the run, its rows, buildings and retrofit candidates."""

    run: dict[str, Any]
    rows: list[dict[str, Any]]
    buildings: list[dict[str, Any]]
    retrofits: list[dict[str, Any]]


def plan_whole(*, conn: Conn, scope: Scope, plan_id: int) -> PlanWhole | None:
    """Everything of a plan the scope may see, or None when the run is not visible."""
    run = plan_run(conn=conn, scope=scope, plan_id=plan_id)
    if run is None:
        return None
    return PlanWhole(
        run=run,
        rows=plan_rows(conn=conn, scope=scope, plan_id=plan_id),
        buildings=plan_buildings(conn=conn, scope=scope, plan_id=plan_id),
        retrofits=plan_retrofits(conn=conn, scope=scope, plan_id=plan_id),
    )
