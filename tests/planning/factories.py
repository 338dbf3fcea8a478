"""Seed cases in the database: the register as the scenario holds it, planning facts set by SQL,
and a score run whose flags follow the register (stopped units stopped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import psycopg

from core.register import import_rows
from simulators.scenario import load_scenario


def seed_register(conn: psycopg.Connection[Any], community: str) -> list[dict[str, Any]]:
    """Import the seed cases' register rows of one community; return them."""
    rows = [
        r for r in load_scenario("seed-cases").register_rows() if r["community_id"] == community
    ]
    import_rows(conn, rows, source="test")
    return rows


def set_building(conn: psycopg.Connection[Any], building_id: str, **facts: Any) -> None:
    """Set planning facts of a building (column names as in migration 0013)."""
    for column, value in facts.items():
        conn.execute(
            psycopg.sql.SQL("UPDATE building SET {} = %s WHERE building_id = %s").format(
                psycopg.sql.Identifier(column)
            ),
            (value, building_id),
        )


def set_unit(conn: psycopg.Connection[Any], unit_id: str, **facts: Any) -> None:
    """Set planning facts of a unit."""
    for column, value in facts.items():
        conn.execute(
            psycopg.sql.SQL("UPDATE unit SET {} = %s WHERE unit_id = %s").format(
                psycopg.sql.Identifier(column)
            ),
            (value, unit_id),
        )


def score_run(conn: psycopg.Connection[Any], pof: Mapping[str, float], *, cof: float = 1.0) -> int:
    """A score run over the given units; a unit stopped in the register is flagged stopped."""
    run_id = conn.execute(
        "INSERT INTO score_run (as_of, policy_version, policy_hash, unit_count) "
        "VALUES ('2023-04-30', 'test', 'test', %s) RETURNING run_id",
        (len(pof),),
    ).fetchone()["run_id"]
    status = {
        r["unit_id"]: r["service_status"]
        for r in conn.execute("SELECT unit_id, service_status FROM unit").fetchall()
    }
    ranked = sorted(pof, key=lambda u: -pof[u])
    for rank, unit in enumerate(ranked, start=1):
        flag = "stopped" if status[unit] == "stopped" else "replace_or_overhaul"
        conn.execute(
            "INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag, flag_rule,"
            " factors) VALUES (%s, %s, %s, 5, %s, %s, %s, %s, 'test', %s)",
            (run_id, unit, rank, pof[unit], cof, pof[unit] * cof, flag, orjson.dumps([]).decode()),
        )
    return int(run_id)
