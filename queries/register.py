"""Reading and writing the fleet register, each query scoped to what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from core.errors import Conflict, NotFound
from core.scope import Scope
from queries.scoping import Level, contractor_condition, region_condition

Conn = psycopg.Connection[dict[str, Any]]


@dataclass(frozen=True)
class Resource:
    """One register resource: its table, key, how it is read and how it is scoped."""

    name: str
    table: str
    key: str
    select: str
    level: Level | None
    parent: tuple[str, Level] | None = None

    def condition(self, scope: Scope) -> sql.Composable:
        """The scope condition over this resource's rows (aliased ``x``)."""
        if self.table == "unit":
            return scope.condition("p")
        if self.table == "contractor":
            return contractor_condition(scope, "x")
        assert self.level is not None
        return region_condition(scope, self.level, "x")


_BUILDING_SELECT = """
SELECT x.*, s.street_office_id, s.district_id,
       (SELECT count(*) FROM unit u WHERE u.building_id = x.building_id)::int AS units,
       (SELECT count(*) FROM unit u WHERE u.building_id = x.building_id
         AND u.service_status = 'in_service')::int AS units_in_service
FROM building x
JOIN community c USING (community_id)
JOIN street_office s USING (street_office_id)
"""

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("district", "district", "district_id", "SELECT x.* FROM district x", "district"),
        Resource(
            "street office",
            "street_office",
            "street_office_id",
            "SELECT x.* FROM street_office x",
            "street_office",
            parent=("district_id", "district"),
        ),
        Resource(
            "community",
            "community",
            "community_id",
            "SELECT x.* FROM community x",
            "community",
            parent=("street_office_id", "street_office"),
        ),
        Resource(
            "building",
            "building",
            "building_id",
            _BUILDING_SELECT,
            "building",
            parent=("community_id", "community"),
        ),
        Resource(
            "unit",
            "unit",
            "unit_id",
            "SELECT x.*, p.community_id, p.street_office_id, p.district_id"
            " FROM unit x JOIN unit_place p USING (unit_id)",
            None,
            parent=("building_id", "building"),
        ),
        Resource("contractor", "contractor", "contractor_id", "SELECT x.* FROM contractor x", None),
    )
}


def _where(resource: Resource, scope: Scope, filters: dict[str, Any]) -> sql.Composable:
    parts: list[sql.Composable] = [resource.condition(scope)]
    for column, value in filters.items():
        if value is None:
            continue
        alias = "p" if resource.table == "unit" and column.endswith("_id") else "x"
        if resource.table == "building" and column in ("street_office_id", "district_id"):
            alias = "s"
        parts.append(sql.SQL("{} = {}").format(sql.Identifier(alias, column), sql.Literal(value)))
    return sql.SQL(" AND ").join(parts)


def list_rows(
    conn: Conn,
    *,
    resource: str,
    scope: Scope,
    filters: dict[str, Any],
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of rows in key order after ``after``, and the cursor of the next page."""
    res = RESOURCES[resource]
    key = sql.Identifier("x", res.key)
    query = sql.SQL(
        "{select} WHERE {where} AND ({after}::text IS NULL OR {key} > {after}) ORDER BY {key} LIMIT {n}"
    ).format(
        select=sql.SQL(res.select),
        where=_where(res, scope, filters),
        after=sql.Literal(after),
        key=key,
        n=sql.Literal(limit + 1),
    )
    rows = conn.execute(query).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][res.key] if more and rows else None)


def get_row(conn: Conn, *, resource: str, scope: Scope, key: str) -> dict[str, Any]:
    """One row by key, or NotFound when it does not exist or lies outside the scope."""
    res = RESOURCES[resource]
    query = sql.SQL("{select} WHERE {cond} AND {key} = %s").format(
        select=sql.SQL(res.select), cond=res.condition(scope), key=sql.Identifier("x", res.key)
    )
    row = conn.execute(query, (key,)).fetchone()
    if row is None:
        raise NotFound(f"no {res.name} {key!r}")
    return row


def _check_parent(conn: Conn, res: Resource, scope: Scope, values: dict[str, Any]) -> None:
    if res.parent is None:
        return
    column, level = res.parent
    parent = next(r for r in RESOURCES.values() if r.key == column)
    cond = parent.condition(scope) if parent.table != "unit" else sql.SQL("TRUE")
    query = sql.SQL("SELECT 1 FROM {table} x WHERE {cond} AND x.{key} = %s").format(
        table=sql.Identifier(parent.table), cond=cond, key=sql.Identifier(column)
    )
    if conn.execute(query, (values[column],)).fetchone() is None:
        # An unknown parent and one outside the scope read the same: nothing confirms it exists.
        raise NotFound(
            f"no {level.replace('_', ' ')} {values[column]!r} in your scope", field=column
        )


def _check_contractor(conn: Conn, contractor_id: str) -> None:
    if (
        conn.execute(
            "SELECT 1 FROM contractor WHERE contractor_id = %s", (contractor_id,)
        ).fetchone()
        is None
    ):
        raise NotFound(f"no contractor {contractor_id!r}", field="contractor_id")


def create_row(
    conn: Conn, *, resource: str, scope: Scope, values: dict[str, Any], source: str
) -> dict[str, Any]:
    """Insert a register row whose parent lies in the caller's scope; return it as read back."""
    res = RESOURCES[resource]
    _check_parent(conn, res, scope, values)
    if res.table == "unit":
        _check_contractor(conn, values["contractor_id"])
    _check_free(conn, res, scope, values[res.key])
    columns = list(values)
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(res.table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        [values[c] for c in columns],
    )
    if res.table == "unit":
        conn.execute(
            "INSERT INTO unit_contract (unit_id, contractor_id, valid_from) VALUES (%s, %s, now())",
            (values["unit_id"], values["contractor_id"]),
        )
        if values.get("renewed_on"):
            conn.execute(
                "INSERT INTO unit_renewal (unit_id, renewed_on) VALUES (%s, %s)",
                (values["unit_id"], values["renewed_on"]),
            )
    return get_row(conn, resource=resource, scope=scope, key=values[res.key])


def _check_free(conn: Conn, res: Resource, scope: Scope, key: str) -> None:
    """Conflict for a taken id the caller can see; for one it cannot, what a read of it answers."""
    taken = sql.SQL("SELECT 1 FROM {} x WHERE x.{} = %s").format(
        sql.Identifier(res.table), sql.Identifier(res.key)
    )
    if conn.execute(taken, (key,)).fetchone() is None:
        return
    visible = sql.SQL("{select} WHERE {cond} AND x.{key} = %s").format(
        select=sql.SQL(res.select), cond=res.condition(scope), key=sql.Identifier(res.key)
    )
    if conn.execute(visible, (key,)).fetchone() is None:
        raise NotFound(f"no {res.name} {key!r}")
    raise Conflict(f"{res.name} {key!r} already exists")


def update_row(
    conn: Conn, *, resource: str, scope: Scope, key: str, values: dict[str, Any], source: str
) -> dict[str, Any]:
    """Change fields of a row inside the scope; units keep an audit trail and contract history."""
    res = RESOURCES[resource]
    before = get_row(conn, resource=resource, scope=scope, key=key)
    changed = {k: v for k, v in values.items() if before.get(k) != v}
    if not changed:
        return before
    if res.table == "unit":
        _update_unit_history(conn, before=before, changed=changed, source=source)
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder()) for c in changed
    )
    if res.table == "unit":
        assignments = sql.SQL("{}, updated_at = now()").format(assignments)
    conn.execute(
        sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
            sql.Identifier(res.table), assignments, sql.Identifier(res.key)
        ),
        [*changed.values(), key],
    )
    return get_row(conn, resource=resource, scope=scope, key=key)


def _update_unit_history(
    conn: Conn, *, before: dict[str, Any], changed: dict[str, Any], source: str
) -> None:
    unit_id = before["unit_id"]
    if "contractor_id" in changed:
        _check_contractor(conn, changed["contractor_id"])
        # The open period may start in the future (an import's contractor_since): it then ends a
        # second after it starts, and the new one starts where it ends.
        closed = conn.execute(
            "UPDATE unit_contract SET valid_to = greatest(now(), valid_from + interval '1 second')"
            " WHERE unit_id = %s AND valid_to IS NULL RETURNING valid_to",
            (unit_id,),
        ).fetchone()
        conn.execute(
            "INSERT INTO unit_contract (unit_id, contractor_id, valid_from) VALUES (%s, %s, %s)",
            (unit_id, changed["contractor_id"], closed["valid_to"] if closed else _now(conn)),
        )
    if changed.get("renewed_on"):
        conn.execute(
            "INSERT INTO unit_renewal (unit_id, renewed_on) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (unit_id, changed["renewed_on"]),
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO unit_change (unit_id, field, old_value, new_value, source)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (unit_id, field, _text(before.get(field)), _text(value), source)
                for field, value in changed.items()
            ],
        )


def _now(conn: Conn) -> Any:
    row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    return row["now"]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
