"""Retrofit candidates: walk-ups of four floors or more without an elevator, ranked per street
office by need. Their benefit is residents served, never risk avoided, so they are reported apart
from renewals.

need = residents above the second floor × (0.5 + elderly share) × height factor × consent, where
the height factor grows from a quarter at four floors to one at seven, and consent is the share of
residents who agreed where recorded (half where unknown, so an unconsulted building ranks below a
consulted one of the same size)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from core.scope import Scope
from planning.catalogue import Catalogue
from planning.funding import Budgets, FundingPolicy
from planning.joint import fund_from_leftover
from planning.plan import Plan

MIN_FLOORS = 4
UNKNOWN_CONSENT = 0.5
RESIDENTS_PER_HOUSEHOLD = 2.5

_WALKUPS = """
SELECT b.building_id, c.street_office_id, s.district_id, b.floors, b.households, b.residents,
       b.elderly_share, b.consent_share
FROM building b
JOIN community c USING (community_id)
JOIN street_office s USING (street_office_id)
WHERE b.floors >= %(floors)s
  AND NOT EXISTS (SELECT 1 FROM unit u WHERE u.building_id = b.building_id
                  AND u.service_status <> 'retired')
  AND {scope}
"""


def walkups(conn: psycopg.Connection[Any], *, scope: Scope) -> list[dict[str, Any]]:
    """Buildings of four floors or more with no elevator in service, within the scope."""
    if scope.role == "contractor":
        return []
    condition = (
        sql.SQL("TRUE")
        if scope.column is None
        else sql.SQL("{} = {}").format(
            sql.Identifier("c" if scope.role == "street_office" else "s", scope.column),
            sql.Literal(scope.bound_to),
        )
    )
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            sql.SQL(_WALKUPS).format(scope=condition), {"floors": MIN_FLOORS}
        ).fetchall()


def rank_retrofits(
    buildings: list[dict[str, Any]], *, catalogue: Catalogue, policy: FundingPolicy
) -> list[dict[str, Any]]:
    """Need, residents served, cost and subsidy of each walk-up, ranked within its street office."""
    scored = []
    for b in buildings:
        floors = int(b["floors"])
        residents = b["residents"] or b["households"] * RESIDENTS_PER_HOUSEHOLD
        served = round(residents * (floors - 2) / floors)
        elderly = float(b["elderly_share"]) if b["elderly_share"] is not None else 0.0
        consent = float(b["consent_share"]) if b["consent_share"] is not None else UNKNOWN_CONSENT
        height = min(1.0, (floors - 3) / 4)
        cost = catalogue.add_elevator.cost(stops=floors, speed_mps=None)
        subsidy = 0.0
        if policy.retrofit is not None:
            subsidy = min(policy.retrofit.share * cost, policy.retrofit.cap)
        scored.append(
            {
                "building_id": b["building_id"],
                "street_office_id": b["street_office_id"],
                "district_id": b["district_id"],
                "need": round(served * (0.5 + elderly) * height * consent, 3),
                "residents_served": int(served),
                "cost": cost,
                "subsidy": subsidy,
                "year": None,
            }
        )
    scored.sort(key=lambda r: (r["street_office_id"], -r["need"], r["building_id"]))
    rank: dict[str, int] = {}
    for r in scored:
        rank[r["street_office_id"]] = rank.get(r["street_office_id"], 0) + 1
        r["rank_in_street"] = rank[r["street_office_id"]]
    return scored


def attach_retrofits(
    conn: psycopg.Connection[Any],
    plan: Plan,
    *,
    scope: Scope,
    catalogue: Catalogue,
    policy: FundingPolicy,
    budgets: Budgets,
) -> None:
    """Rank the walk-ups in the plan's scope and fund what the policy's shared pot allows."""
    plan.retrofits = rank_retrofits(walkups(conn, scope=scope), catalogue=catalogue, policy=policy)
    fund_from_leftover(
        plan.retrofits, rows=plan.rows, budgets=budgets, options=plan.options, policy=policy
    )
