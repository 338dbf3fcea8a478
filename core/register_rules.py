"""Who may change what through a register import: scope is checked on what the rows touch.

A row names a district, street office, community, building, unit and contractor by id. What the row
would change is decided by what the register already holds under those ids, not by what the row
claims: a bureau's row naming another district's street office with its own district id would move
that street office, and with it everything below, into the bureau's district. So, once the file is
staged and before anything is merged:

- a bureau may touch only entities that are new or already in its district, and place them there;
- a move (a street office to another district, a community to another street office, a building to
  another community, a unit to another building) or a change of a unit's contractor happens only
  when asked for (``allow_moves``); each is recorded (``register_move``, ``unit_change``);
- contractors are shared by districts, so only an admin renames one.

Every rule is one set-wise query over the staging table, so a city-sized file costs a few scans.
"""

from __future__ import annotations

from typing import Any

import psycopg

from core.errors import Problem
from core.i18n import Lang, t
from core.scope import Scope

# Ids a bureau's rows name that already exist outside its district: (row, column, id).
_OUTSIDE = """
SELECT s.row_no, 'district_id' AS field, s.district_id AS got
FROM register_stage s WHERE s.district_id <> %(district)s
UNION ALL
SELECT s.row_no, 'street_office_id', s.street_office_id
FROM register_stage s JOIN street_office o USING (street_office_id)
WHERE o.district_id <> %(district)s
UNION ALL
SELECT s.row_no, 'community_id', s.community_id
FROM register_stage s JOIN community c USING (community_id)
JOIN street_office o ON o.street_office_id = c.street_office_id
WHERE o.district_id <> %(district)s
UNION ALL
SELECT s.row_no, 'building_id', s.building_id
FROM register_stage s JOIN building b USING (building_id)
JOIN community c ON c.community_id = b.community_id
JOIN street_office o ON o.street_office_id = c.street_office_id
WHERE o.district_id <> %(district)s
UNION ALL
SELECT s.row_no, 'unit_id', s.unit_id
FROM register_stage s JOIN unit_place p USING (unit_id)
WHERE p.district_id <> %(district)s
ORDER BY 1, 2
"""

# What the rows would move: (row, entity, its id, the column that changes, old value, new value).
_MOVED = """
SELECT s.row_no, 'street_office' AS entity, s.street_office_id AS id, 'district_id' AS field,
       o.district_id AS old, s.district_id AS new
FROM register_stage s JOIN street_office o USING (street_office_id)
WHERE o.district_id <> s.district_id
UNION ALL
SELECT s.row_no, 'community', s.community_id, 'street_office_id', c.street_office_id,
       s.street_office_id
FROM register_stage s JOIN community c USING (community_id)
WHERE c.street_office_id <> s.street_office_id
UNION ALL
SELECT s.row_no, 'building', s.building_id, 'community_id', b.community_id, s.community_id
FROM register_stage s JOIN building b USING (building_id)
WHERE b.community_id <> s.community_id
UNION ALL
SELECT s.row_no, 'unit', s.unit_id, 'building_id', u.building_id, s.building_id
FROM register_stage s JOIN unit u USING (unit_id)
WHERE u.building_id <> s.building_id
UNION ALL
SELECT s.row_no, 'unit', s.unit_id, 'contractor_id', u.contractor_id, s.contractor_id
FROM register_stage s JOIN unit u USING (unit_id)
WHERE u.contractor_id <> s.contractor_id
"""

_RENAMED_CONTRACTORS = """
SELECT s.row_no, s.contractor_id, k.name
FROM register_stage s JOIN contractor k USING (contractor_id)
WHERE k.name <> s.contractor
ORDER BY 1
"""

# Moves above the unit, one record per entity (units' moves go to unit_change with the merge).
_RECORD_MOVES = f"""
INSERT INTO register_move (entity, entity_id, field, old_value, new_value, source)
SELECT DISTINCT m.entity, m.id, m.field, m.old, m.new, %(source)s
FROM ({_MOVED}) m
WHERE m.entity <> 'unit'
"""


def check(
    cur: psycopg.Cursor[Any], *, scope: Scope, allow_moves: bool, lang: Lang
) -> list[Problem]:
    """Every staged row that reaches outside the caller's scope or moves something unasked."""
    problems: list[Problem] = []
    if scope.role == "bureau":
        cur.execute(_OUTSIDE, {"district": scope.bound_to})
        for row_no, field, got in cur.fetchall():
            problems.append(
                Problem(
                    field,
                    t(lang, "register.outside_district", district=scope.bound_to),
                    got=got,
                    row=row_no,
                )
            )
    if problems:
        # Moves and names of what lies outside are not the caller's to learn.
        return problems
    if not allow_moves:
        cur.execute(f"{_MOVED} ORDER BY 1, 4")
        for row_no, entity, id_, field, old, new in cur.fetchall():
            problems.append(
                Problem(
                    field,
                    t(
                        lang,
                        "register.move_unasked",
                        entity=t(lang, f"register.entity.{entity}"),
                        id=id_,
                        old=old,
                        new=new,
                    ),
                    got=new,
                    row=row_no,
                )
            )
    if scope.role != "admin":
        cur.execute(_RENAMED_CONTRACTORS)
        for row_no, contractor_id, name in cur.fetchall():
            problems.append(
                Problem(
                    "contractor",
                    t(lang, "register.contractor_rename", id=contractor_id, name=name),
                    got=name,
                    row=row_no,
                )
            )
    return problems


def record_moves(cur: psycopg.Cursor[Any], *, source: str) -> int:
    """Record the staged moves of street offices, communities and buildings; return how many."""
    cur.execute(_RECORD_MOVES, {"source": source})
    return cur.rowcount
