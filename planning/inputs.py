"""The planner's inputs from the database: one score run's PoF, consequence and flags, and the
register's buildings and units with their funding and consent facts, within the caller's scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from core.errors import NotFound
from core.scope import Scope
from planning.model import Fleet

_UNITS = """
SELECT u.unit_id, u.building_id, b.name AS building_name, p.street_office_id, p.district_id,
       b.households, b.elderly_share, b.fund_balance, b.fund_vote_on, b.collection_rate,
       b.collection_expected_on, b.floor_area_m2, s.pof, s.cof, s.flag, u.service_status,
       coalesce(u.renewed_on, u.installed_on) AS age_from, u.stops, u.rated_speed_mps,
       u.assessment_action, u.assessment_on
FROM unit_score s
JOIN unit u USING (unit_id)
JOIN unit_place p USING (unit_id)
JOIN building b ON b.building_id = u.building_id
WHERE s.run_id = %(run_id)s AND u.service_status <> 'retired' AND {scope}
ORDER BY u.building_id, u.unit_id
"""


def latest_run_id(conn: psycopg.Connection[Any], *, run_id: int | None) -> int:
    """The given score run, checked to exist, or the latest one."""
    if run_id is not None:
        row = conn.execute("SELECT run_id FROM score_run WHERE run_id = %s", (run_id,)).fetchone()
    else:
        row = conn.execute("SELECT run_id FROM score_run ORDER BY run_id DESC LIMIT 1").fetchone()
    if row is None:
        raise NotFound(
            f"no score run {run_id}" if run_id else "no score run yet: run `liftwatch score run`"
        )
    return int(row["run_id"] if isinstance(row, Mapping) else row[0])


def load_fleet(conn: psycopg.Connection[Any], *, run_id: int, scope: Scope, start: date) -> Fleet:
    """The scored units of a run within the scope, with their buildings."""
    query = sql.SQL(_UNITS).format(scope=scope.condition("p"))
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(query, {"run_id": run_id}).fetchall()
    return fleet_from_rows(rows, start=start)


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def fleet_from_rows(rows: Iterable[Mapping[str, Any]], *, start: date) -> Fleet:
    """A fleet from one mapping per unit carrying its building's facts (as ``load_fleet`` reads)."""
    buildings: dict[str, int] = {}
    fleet = Fleet(
        building_ids=[],
        building_names=[],
        street_office_ids=[],
        district_ids=[],
        households=np.zeros(0),
        elderly_share=np.zeros(0),
        fund_balance=np.zeros(0),
        fund_vote_on=[],
        collection_rate=np.zeros(0),
        collection_expected_on=[],
        floor_area=np.zeros(0),
        unit_ids=[],
        unit_building=np.zeros(0, dtype=int),
        pof=np.zeros(0),
        cof=np.zeros(0),
        stopped=np.zeros(0, dtype=bool),
        age_years=np.zeros(0),
        stops=np.zeros(0),
        speed_mps=np.zeros(0),
        assessment_action=[],
        assessment_on=[],
    )
    b_cols: dict[str, list[Any]] = {k: [] for k in ("hh", "el", "fb", "cr", "fa")}
    u_cols: dict[str, list[Any]] = {
        k: [] for k in ("b", "pof", "cof", "st", "age", "stops", "speed")
    }
    for r in rows:
        if r["building_id"] not in buildings:
            buildings[r["building_id"]] = len(buildings)
            fleet.building_ids.append(r["building_id"])
            fleet.building_names.append(r.get("building_name") or r["building_id"])
            fleet.street_office_ids.append(r["street_office_id"])
            fleet.district_ids.append(r["district_id"])
            fleet.fund_vote_on.append(r.get("fund_vote_on"))
            fleet.collection_expected_on.append(r.get("collection_expected_on"))
            b_cols["hh"].append(r["households"])
            b_cols["el"].append(_float(r.get("elderly_share")))
            b_cols["fb"].append(float(r.get("fund_balance") or 0))
            b_cols["cr"].append(_float(r.get("collection_rate")))
            b_cols["fa"].append(_float(r.get("floor_area_m2")))
        fleet.unit_ids.append(r["unit_id"])
        fleet.assessment_action.append(r.get("assessment_action"))
        fleet.assessment_on.append(r.get("assessment_on"))
        u_cols["b"].append(buildings[r["building_id"]])
        u_cols["pof"].append(float(r["pof"]))
        u_cols["cof"].append(float(r["cof"]))
        u_cols["st"].append(r["flag"] == "stopped" or r.get("service_status") == "stopped")
        u_cols["age"].append((start - r["age_from"]).days / 365.25)
        u_cols["stops"].append(_float(r.get("stops")))
        u_cols["speed"].append(_float(r.get("rated_speed_mps")))
    fleet.households = np.array(b_cols["hh"], dtype=float)
    fleet.elderly_share = np.array(b_cols["el"], dtype=float)
    fleet.fund_balance = np.array(b_cols["fb"], dtype=float)
    fleet.collection_rate = np.array(b_cols["cr"], dtype=float)
    fleet.floor_area = np.array(b_cols["fa"], dtype=float)
    fleet.unit_building = np.array(u_cols["b"], dtype=int)
    fleet.pof = np.array(u_cols["pof"], dtype=float)
    fleet.cof = np.array(u_cols["cof"], dtype=float)
    fleet.stopped = np.array(u_cols["st"], dtype=bool)
    fleet.age_years = np.array(u_cols["age"], dtype=float)
    fleet.stops = np.array(u_cols["stops"], dtype=float)
    fleet.speed_mps = np.array(u_cols["speed"], dtype=float)
    return fleet
