"""Plan runs written to the database, whole, in one transaction.

A plan is read back, within a caller's scope, through the read model (queries/plans.py)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from psycopg import sql

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
