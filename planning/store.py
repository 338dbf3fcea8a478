"""Plan runs in the database: written whole in one transaction, read back within a caller's scope.

A bureau's plan covers its district; a street office reads the rows and buildings of its own
jurisdiction from any plan that holds them, and a plan's summary figures only when the plan is
limited to the street office's district (they are the district's totals)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from psycopg import sql

from core.scope import Scope
from planning.catalogue import Catalogue
from planning.funding import Budgets, FundingPolicy
from planning.plan import Plan

_ROW_COLUMNS = (
    "unit_id",
    "building_id",
    "street_office_id",
    "district_id",
    "year",
    "period",
    "starts_on",
    "phase",
    "action",
    "cost",
    "bond",
    "district",
    "maintenance_fund",
    "owners",
    "advance",
    "benefit",
    "pof",
    "cof",
    "mandatory",
)
_BUILDING_COLUMNS = (
    "building_id",
    "street_office_id",
    "district_id",
    "name",
    "units",
    "households",
    "phases",
    "waits",
)
_RETROFIT_COLUMNS = (
    "building_id",
    "street_office_id",
    "district_id",
    "need",
    "rank_in_street",
    "residents_served",
    "cost",
    "subsidy",
    "year",
)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def write_plan(
    conn: psycopg.Connection[Any],
    plan: Plan,
    *,
    score_run_id: int,
    district_id: str | None,
    policy: FundingPolicy,
    catalogue: Catalogue,
    budgets: Budgets,
    note: str | None = None,
) -> int:
    """Store a plan run with its rows, buildings and retrofit ranking; return its id."""
    o = plan.options
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO plan_run (score_run_id, district_id, starts_on, years, period_months,"
            " method, policy_version, policy_hash, catalogue_version, budgets, options, summary,"
            " trajectory, scenarios, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s) RETURNING plan_id",
            (
                score_run_id,
                district_id,
                o.start,
                o.years,
                o.period_months,
                plan.method,
                policy.version,
                policy.hash,
                catalogue.version,
                _json(
                    {
                        "amounts": budgets.amounts,
                        "advance_max_units_per_building": budgets.advance_max_units_per_building,
                    }
                ),
                _json(
                    {
                        "discount_rate": o.discount_rate,
                        "pof_growth": o.pof_growth,
                        "benefit_years": o.benefit_years,
                        "one_per_building_per_phase": o.one_per_building_per_phase,
                        "excluded": o.excluded,
                        "failure_downtime_days": o.failure_downtime_days,
                        "backup_share": o.backup_share,
                        "min_interval_years": o.min_interval_years,
                        "retrofit_rate": o.retrofit_rate,
                        "city": policy.city,
                    }
                ),
                _json(plan.summary),
                _json(plan.trajectory),
                _json(plan.scenarios),
                note,
            ),
        ).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        plan_id = int(row["plan_id"] if isinstance(row, dict) else row[0])
        with conn.cursor() as cur:
            _copy(cur, "plan_row", _ROW_COLUMNS, plan_id, plan.rows)
            buildings = [
                {**b, "phases": _json(b["phases"]), "waits": _json(b["waits"])}
                for b in plan.buildings
            ]
            _copy(cur, "plan_building", _BUILDING_COLUMNS, plan_id, buildings)
            _copy(cur, "plan_retrofit", _RETROFIT_COLUMNS, plan_id, plan.retrofits)
    return plan_id


def _copy(
    cur: psycopg.Cursor[Any],
    table: str,
    columns: tuple[str, ...],
    plan_id: int,
    rows: list[dict[str, Any]],
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, ("plan_id", *columns)))
    )
    with cur.copy(statement) as copy:
        for r in rows:
            copy.write_row([plan_id, *(r[c] for c in columns)])


def _visible(scope: Scope, alias: str) -> sql.Composable:
    """A scope's condition over a table carrying district_id and street_office_id."""
    if scope.role == "admin":
        return sql.SQL("TRUE")
    if scope.role in ("bureau", "street_office"):
        return sql.SQL("{} = {}").format(
            sql.Identifier(alias, scope.column or ""), sql.Literal(scope.bound_to)
        )
    return sql.SQL("FALSE")  # contractors maintain units; renewal plans are not theirs to read


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


def plan_runs(
    conn: psycopg.Connection[Any], *, scope: Scope, limit: int = 50
) -> list[dict[str, Any]]:
    """Plan runs the scope may see, newest first."""
    query = sql.SQL(
        "SELECT r.plan_id, r.created_at, r.score_run_id, r.district_id, r.starts_on, r.years,"
        " r.period_months, r.method, r.policy_version, r.catalogue_version, r.note,"
        " r.summary -> 'planned' AS planned, r.summary -> 'cost' AS cost"
        " FROM plan_run r WHERE {} ORDER BY r.plan_id DESC LIMIT %s"
    ).format(_run_visible(scope))
    return conn.execute(query, (limit,)).fetchall()


def plan_run(conn: psycopg.Connection[Any], *, plan_id: int, scope: Scope) -> dict[str, Any] | None:
    """One plan run the scope may see, with its summary, trajectory and scenarios (None if not).
    A street office sees the figures of its own rows, not the district's totals."""
    query = sql.SQL("SELECT r.* FROM plan_run r WHERE r.plan_id = %s AND {}").format(
        _run_visible(scope)
    )
    run = conn.execute(query, (plan_id,)).fetchone()
    if run is None:
        return None
    if scope.role == "street_office":
        run["trajectory"] = None
        run["scenarios"] = []
        run["summary"] = {"method": run["summary"].get("method")}
    return run


def latest_plan_id(conn: psycopg.Connection[Any], *, scope: Scope) -> int | None:
    """The newest plan run the scope may see."""
    runs = plan_runs(conn, scope=scope, limit=1)
    return int(runs[0]["plan_id"]) if runs else None


def plan_rows(
    conn: psycopg.Connection[Any],
    *,
    plan_id: int,
    scope: Scope,
    street_office_id: str | None = None,
    building_id: str | None = None,
) -> list[dict[str, Any]]:
    """A plan's rows in the scope (of one street office or building if given), by start and unit,
    with the building's name."""
    query = sql.SQL(
        "SELECT p.*, b.name AS building_name FROM plan_row p"
        " JOIN plan_building b USING (plan_id, building_id)"
        " WHERE p.plan_id = %(plan_id)s AND {} AND (%(so)s::text IS NULL OR p.street_office_id = %(so)s)"
        " AND (%(b)s::text IS NULL OR p.building_id = %(b)s)"
        " ORDER BY p.starts_on, p.street_office_id, p.building_id, p.unit_id"
    ).format(_visible(scope, "p"))
    params = {"plan_id": plan_id, "so": street_office_id, "b": building_id}
    return conn.execute(query, params).fetchall()


def plan_buildings(
    conn: psycopg.Connection[Any],
    *,
    plan_id: int,
    scope: Scope,
    street_office_id: str | None = None,
    building_id: str | None = None,
) -> list[dict[str, Any]]:
    """A plan's buildings in the scope (of one street office, or one building, if given): phases
    and what each waits for."""
    query = sql.SQL(
        "SELECT b.* FROM plan_building b WHERE b.plan_id = %(plan_id)s AND {}"
        " AND (%(so)s::text IS NULL OR b.street_office_id = %(so)s)"
        " AND (%(b)s::text IS NULL OR b.building_id = %(b)s)"
        " ORDER BY b.street_office_id, b.building_id"
    ).format(_visible(scope, "b"))
    params = {"plan_id": plan_id, "so": street_office_id, "b": building_id}
    return conn.execute(query, params).fetchall()


def plan_retrofits(
    conn: psycopg.Connection[Any], *, plan_id: int, scope: Scope
) -> list[dict[str, Any]]:
    """A plan's retrofit candidates in the scope, ranked per street office."""
    query = sql.SQL(
        "SELECT t.* FROM plan_retrofit t WHERE t.plan_id = %(plan_id)s AND {}"
        " ORDER BY t.street_office_id, t.rank_in_street"
    ).format(_visible(scope, "t"))
    return conn.execute(query, {"plan_id": plan_id}).fetchall()


def street_offices(
    conn: psycopg.Connection[Any], *, plan_id: int, scope: Scope
) -> list[dict[str, Any]]:
    """Per street office: units planned, cost, and its name, in the scope."""
    query = sql.SQL(
        "SELECT p.street_office_id, s.name, s.name_en, count(*) AS units, sum(p.cost) AS cost,"
        " min(p.starts_on) AS first_start"
        " FROM plan_row p JOIN street_office s USING (street_office_id)"
        " WHERE p.plan_id = %s AND {} GROUP BY 1, 2, 3 ORDER BY 1"
    ).format(_visible(scope, "p"))
    return conn.execute(query, (plan_id,)).fetchall()
