"""Who may see what: a caller's scope, turned into a SQL condition inside the query itself.

A bureau sees its district, a street office its jurisdiction, a contractor the units it maintains,
an admin everything. Queries join ``unit_place`` (unit -> building -> community -> street office ->
district, and the maintaining contractor) and add ``scope.condition("p")``, so rows outside the scope
are never read, and a resource outside it looks exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from psycopg import sql

Role = Literal["admin", "bureau", "street_office", "contractor"]
ROLES: tuple[Role, ...] = ("admin", "bureau", "street_office", "contractor")

_COLUMN: dict[Role, str] = {
    "bureau": "district_id",
    "street_office": "street_office_id",
    "contractor": "contractor_id",
}


@dataclass(frozen=True)
class Scope:
    """A role and the one register id it is bound to (none for admin)."""

    role: Role
    bound_to: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")
        if (self.role == "admin") != (self.bound_to is None):
            raise ValueError(
                "admin is bound to nothing; bureau, street_office and contractor need an id"
            )

    @property
    def column(self) -> str | None:
        """The unit_place column this scope filters on, or None for admin."""
        return _COLUMN.get(self.role)

    def condition(self, alias: str = "p") -> sql.Composable:
        """A SQL boolean over a ``unit_place`` row aliased ``alias``."""
        if self.column is None:
            return sql.SQL("TRUE")
        return sql.SQL("{} = {}").format(
            sql.Identifier(alias, self.column), sql.Literal(self.bound_to)
        )


ADMIN = Scope("admin")
