"""Scope conditions for register rows above the unit (district, street office, community, building).

A bureau or street office sees its whole jurisdiction, including buildings with no elevator yet
(``region_place``); a contractor sees only the places that hold a unit it maintains
(``unit_place``). Both come down to ``Scope.condition`` inside an EXISTS, so the row is filtered in
the query itself.
"""

from __future__ import annotations

from typing import Literal

from psycopg import sql

from core.scope import Scope

Level = Literal["district", "street_office", "community", "building"]


def region_condition(scope: Scope, level: Level, alias: str) -> sql.Composable:
    """A SQL boolean: the row ``alias`` of this level lies inside the scope."""
    if scope.role == "admin":
        return sql.SQL("TRUE")
    key = f"{level}_id"
    view = "unit_place" if scope.role == "contractor" else "region_place"
    return sql.SQL(
        "EXISTS (SELECT 1 FROM {view} p WHERE p.{key} = {alias}.{key} AND {cond})"
    ).format(
        view=sql.Identifier(view),
        key=sql.Identifier(key),
        alias=sql.Identifier(alias),
        cond=scope.condition("p"),
    )


def contractor_condition(scope: Scope, alias: str) -> sql.Composable:
    """A SQL boolean: the contractor row ``alias`` is visible.

    Admins and bureaus see the whole directory (contractors work across districts, and a bureau
    registers them before assigning units); a street office sees those maintaining its units; a
    contractor sees itself.
    """
    if scope.role in ("admin", "bureau"):
        return sql.SQL("TRUE")
    if scope.role == "contractor":
        return sql.SQL("{} = {}").format(
            sql.Identifier(alias, "contractor_id"), sql.Literal(scope.bound_to)
        )
    return sql.SQL(
        "EXISTS (SELECT 1 FROM unit_place p WHERE p.contractor_id = {}.contractor_id AND {})"
    ).format(sql.Identifier(alias), scope.condition("p"))
