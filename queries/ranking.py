"""The ranking: a run's units in the caller's scope, by priority (the run's rank) or by likelihood.

Every item carries the scope's own rank (its place in this list: 1, 2, 3 in a district, whatever
its place in the fleet) beside the fleet rank, and what a bureau hands out: names as well as
codes, age, households and installation date. The dashboards' ranking, ``GET /v1/rankings`` and
the CSV/XLSX exports all read these items, so they list the same units in the same order.

Every query joins the unit's place and adds ``scope.condition("p")`` in SQL, so a unit outside the
scope is never read: it looks exactly like a unit that does not exist (an empty page).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from psycopg import sql
from psycopg.rows import tuple_row

from core import vocab
from core.errors import Invalid
from core.scope import Scope
from queries.common import Conn

SORTS = {"risk": "risk", "health": "health", "pof": "pof", "cof": "cof"}
"""``risk`` is priority (the run's rank: stopped units first, then by risk); ``pof`` likelihood."""
_STORED_ORDERS = {"risk": "rank", "pof": "pof_rank"}
FLAGS = vocab.FLAGS


@dataclass(frozen=True)
class RankingPage:
    """One page of a ranking; pass ``next_cursor`` back to get the next page (None at the end)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    run: dict[str, Any] | None = field(default=None)


def _encode_cursor(sort: str, value: float, rank: int, position: int) -> str:
    raw = orjson.dumps([sort, value, rank, position])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[float, int, int]:
    # The position (items before the cursor) numbers the next page's scope ranks without counting.
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, rank, position = orjson.loads(raw)
        if got_sort != sort or int(position) < 0:
            raise ValueError("sort changed")
        return float(value), int(rank), int(position)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("cursor is not one this ranking returned (or the sort changed)") from None


# What a ranking returns of its run, and of each unit in it: field name and SQL. The items' place
# is the register's (unit_place), their reasons the ones stored with each score.
_RUN_FIELDS = tuple(
    (name, sql.Identifier("r", name))
    for name in (
        "run_id",
        "as_of",
        "created_at",
        "policy_version",
        "policy_hash",
        "model_version",
        "unit_count",
        "timings",
        "note",
    )
)
_ITEM_FIELDS = tuple(
    (name, sql.SQL(expr))
    for name, expr in (
        ("rank", "s.rank"),
        ("pof_rank", "s.pof_rank"),
        ("unit_id", "s.unit_id"),
        ("registration_code", "p.registration_code"),
        ("district_id", "p.district_id"),
        ("street_office_id", "p.street_office_id"),
        ("street_office_name", "p.street_office_name"),
        ("street_office_name_en", "p.street_office_name_en"),
        ("community_id", "p.community_id"),
        ("community_name", "p.community_name"),
        ("community_name_en", "p.community_name_en"),
        ("building_id", "p.building_id"),
        ("building_name", "p.building_name"),
        ("households", "p.households"),
        ("floors", "p.floors"),
        ("contractor_id", "p.contractor_id"),
        ("installed_on", "p.installed_on"),
        ("renewed_on", "p.renewed_on"),
        ("service_status", "p.service_status"),
        (
            "age",
            "round(((r.chosen_as_of - GREATEST(p.installed_on,"
            " CASE WHEN p.renewed_on <= r.chosen_as_of THEN p.renewed_on END,"
            " (SELECT max(w.renewed_on) FROM unit_renewal w"
            " WHERE w.unit_id = s.unit_id AND w.renewed_on <= r.chosen_as_of))) / 365.25)::numeric,"
            " 1)::float8",
        ),
        ("health", "s.health"),
        ("pof", "s.pof"),
        ("cof", "s.cof"),
        ("risk", "s.risk"),
        ("model_probability", "s.model_probability"),
        ("flag", "s.flag"),
        ("flag_rule", "s.flag_rule"),
        ("reasons", "s.reasons"),
    )
)
# unit_place's joins with the names a list shows: the view plus unit and building again would
# look each unit's row up twice. District and contractor names are joined to the page's rows
# only (``_NAMED``): as two more joins of the page's query they made planning it cost more than
# running it, and as scalar subqueries of each row they doubled its run time.
_LISTED_PLACE = sql.SQL(
    "(SELECT u.unit_id, u.registration_code, u.installed_on, u.renewed_on, u.service_status,"
    " u.building_id, b.name AS building_name, b.households, b.floors,"
    " b.community_id, c.name AS community_name, c.name_en AS community_name_en,"
    " c.street_office_id, o.name AS street_office_name, o.name_en AS street_office_name_en,"
    " o.district_id, u.contractor_id"
    " FROM unit u JOIN building b USING (building_id) JOIN community c USING (community_id)"
    " JOIN street_office o USING (street_office_id))"
)
# Places each score also stores (migration 0007): a condition on one of them is also put on the
# score's own column, which has an index in rank order within a run.
_STORED_PLACES = ("district_id", "street_office_id", "contractor_id")


def _json_object(fields: tuple[tuple[str, sql.Composable], ...]) -> sql.Composable:
    """``json_build_object`` of the fields, as text (PostgreSQL writes the JSON)."""
    pairs = sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(name), expr) for name, expr in fields
    )
    return sql.SQL("json_build_object({})::text").format(pairs)


_NAMED = (
    ("district_name", sql.SQL("d.name")),
    ("district_name_en", sql.SQL("d.name_en")),
    ("contractor_name", sql.SQL("k.name")),
    ("contractor_name_en", sql.SQL("k.name_en")),
)
# The page's rows (i) as the item's fields, after the names joined to them.
_PAGE_FIELDS = (*((name, sql.Identifier("i", name)) for name, _ in _ITEM_FIELDS), *_NAMED)
ITEM_NAMES = tuple(name for name, _ in _PAGE_FIELDS)
# A ranking's select lists: as columns (for Python callers), or as the API's JSON. The scope rank
# is numbered in Python from the cursor's position: as a window function in the statement it cost
# more than the rest of the page.
_INNER = sql.SQL(", ").join(
    sql.SQL("{} AS {}").format(expr, sql.Identifier(name)) for name, expr in _ITEM_FIELDS
)
_SELECT = {
    False: (
        sql.SQL(", ").join(expr for _, expr in _RUN_FIELDS),
        sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(expr, sql.Identifier(name)) for name, expr in _PAGE_FIELDS
        ),
    ),
    True: (
        _json_object(_RUN_FIELDS),
        sql.SQL("CASE WHEN i.cursor_rank IS NOT NULL THEN {} END AS item").format(
            _json_object(_PAGE_FIELDS)
        ),
    ),
}


_CHOICES = {
    "id": sql.SQL("WHERE run_id = %(run_id)s"),
    "as_of": sql.SQL("WHERE as_of <= %(as_of)s ORDER BY as_of DESC, run_id DESC"),
    "latest": sql.SQL("ORDER BY run_id DESC"),
}


@functools.lru_cache(maxsize=1024)
def _ranking_sql(
    *,
    as_json: bool,
    scope: Scope,
    choice: str,
    places: tuple[str, ...],
    flag: bool,
    sort: str,
    after: bool,
) -> bytes:
    """The text of the ranking statement of one shape (composed once per shape and scope).

    It chooses the run (by id, as of a date, or the latest) and reads a page of it: a row per
    item (one row of NULL items when none matches), each with the run's columns, the run's id, the
    item's columns, and its rank and sort value for the next cursor. The scope and every filter
    are conditions of the statement.
    """
    where: list[sql.Composable] = [
        sql.SQL("s.run_id = r.chosen_run"),
        scope.condition("p"),
        scope.condition("s"),
    ]
    for column in places:
        for alias in ("p", "s") if column in _STORED_PLACES else ("p",):
            where.append(
                sql.SQL("{} = {}").format(sql.Identifier(alias, column), sql.Placeholder(column))
            )
    if flag:
        where.append(sql.SQL("s.flag = %(flag)s"))
    key: sql.Composable
    order: sql.Composable
    position: sql.Composable = sql.SQL("s.rank")
    if sort in _STORED_ORDERS:
        # Priority and likelihood are orders stored with the run (unique, indexed, stopped first).
        key = order = position = sql.Identifier("s", _STORED_ORDERS[sort])
        if after:
            where.append(sql.SQL("{} > %(after_rank)s").format(key))
    else:
        key = sql.Identifier("s", SORTS[sort])
        order = sql.SQL("{} DESC, s.rank").format(key)
        if after:
            where.append(
                sql.SQL(
                    "({col} < %(after_value)s OR ({col} = %(after_value)s AND s.rank > %(after_rank)s))"
                ).format(col=key)
            )
    run_columns, item_columns = _SELECT[as_json]
    page_order = (
        sql.SQL("i.cursor_rank")
        if sort in _STORED_ORDERS
        else sql.SQL("i.cursor_value DESC, i.cursor_rank")
    )
    query = sql.SQL(
        "SELECT r.*, {cols}, i.cursor_rank, i.cursor_value FROM (SELECT {run_cols},"
        " r.run_id AS chosen_run, r.as_of AS chosen_as_of FROM score_run r {choice} LIMIT 1) r"
        " LEFT JOIN LATERAL (SELECT {inner}, {position} AS cursor_rank, {key} AS cursor_value"
        " FROM unit_score s JOIN {place} p USING (unit_id)"
        " WHERE {where} ORDER BY {order} LIMIT %(limit)s) i ON TRUE"
        " LEFT JOIN district d ON d.district_id = i.district_id"
        " LEFT JOIN contractor k ON k.contractor_id = i.contractor_id"
        " ORDER BY {page_order}"
    ).format(
        run_cols=run_columns,
        choice=_CHOICES[choice],
        cols=item_columns,
        inner=_INNER,
        key=key,
        position=position,
        place=_LISTED_PLACE,
        where=sql.SQL(" AND ").join(where),
        order=order,
        page_order=page_order,
    )
    return query.as_string().encode()


def _ranking_rows(
    *,
    conn: Conn,
    as_json: bool,
    scope: Scope,
    run_id: int | None,
    as_of: date | None,
    places: dict[str, str | None],
    flag: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> list[tuple[Any, ...]]:
    """The rows of one ranking page (see ``_ranking_sql``), limit + 1 of them when more follow."""
    if sort not in SORTS:
        raise Invalid(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    if flag is not None and flag not in FLAGS:
        raise Invalid(f"flag must be one of {', '.join(FLAGS)}, got {flag!r}")
    if not 1 <= limit <= 1000:
        raise Invalid(f"limit must be between 1 and 1000, got {limit}")
    params: dict[str, Any] = {k: v for k, v in places.items() if v is not None}
    params.update(limit=limit + 1, run_id=run_id, as_of=as_of, flag=flag)
    if cursor is not None:
        params["after_value"], params["after_rank"], _ = _decode_cursor(cursor, sort)
    query = _ranking_sql(
        as_json=as_json,
        scope=scope,
        choice="id" if run_id is not None else "as_of" if as_of is not None else "latest",
        places=tuple(k for k, v in places.items() if v is not None),
        flag=flag is not None,
        sort=sort,
        after=cursor is not None,
    )
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(query, params).fetchall()


def _next_cursor(rows: list[tuple[Any, ...]], sort: str, limit: int, position: int) -> str | None:
    """The cursor after the page's last item when more follow (rows end in rank, sort value)."""
    if len(rows) <= limit:
        return None
    rank, value = rows[limit - 1][-2:]
    return _encode_cursor(sort, value, rank, position)


def ranking(
    *,
    conn: Conn,
    scope: Scope,
    run_id: int | None = None,
    as_of: date | None = None,
    district_id: str | None = None,
    street_office_id: str | None = None,
    community_id: str | None = None,
    building_id: str | None = None,
    flag: str | None = None,
    contractor_id: str | None = None,
    sort: str = "risk",
    limit: int = 50,
    cursor: str | None = None,
) -> RankingPage:
    """A page of a run's ranking within the scope, filtered and keyset-paginated."""
    rows = _ranking_rows(
        conn=conn,
        as_json=False,
        scope=scope,
        run_id=run_id,
        as_of=as_of,
        places={
            "district_id": district_id,
            "street_office_id": street_office_id,
            "community_id": community_id,
            "building_id": building_id,
            "contractor_id": contractor_id,
        },
        flag=flag,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    if not rows:
        return RankingPage(items=[], next_cursor=None, run=None)
    split = len(_RUN_FIELDS) + 2
    run = {name: value for (name, _), value in zip(_RUN_FIELDS, rows[0], strict=False)}
    if rows[0][split] is None:  # the run holds nothing in this scope and filter
        return RankingPage(items=[], next_cursor=None, run=run)
    before = _decode_cursor(cursor, sort)[2] if cursor is not None else 0
    items = [
        {"scope_rank": before + n, **dict(zip(ITEM_NAMES, row[split:], strict=False))}
        for n, row in enumerate(rows[:limit], start=1)
    ]
    position = before + len(items)
    return RankingPage(items=items, next_cursor=_next_cursor(rows, sort, limit, position), run=run)


def ranking_json(
    *,
    conn: Conn,
    scope: Scope,
    run_id: int | None = None,
    as_of: date | None = None,
    district_id: str | None = None,
    street_office_id: str | None = None,
    community_id: str | None = None,
    building_id: str | None = None,
    flag: str | None = None,
    contractor_id: str | None = None,
    sort: str = "risk",
    limit: int = 50,
    cursor: str | None = None,
) -> bytes | None:
    """The page ``ranking`` returns, as the API's JSON body ``{"run", "items", "next_cursor"}``;
    None when no run matches.

    The same statement, but PostgreSQL writes each item's JSON (it turns every value into text
    anyway) and Python only joins them: no per-value decoding, dicts or re-encoding of a page.
    """
    rows = _ranking_rows(
        conn=conn,
        as_json=True,
        scope=scope,
        run_id=run_id,
        as_of=as_of,
        places={
            "district_id": district_id,
            "street_office_id": street_office_id,
            "community_id": community_id,
            "building_id": building_id,
            "contractor_id": contractor_id,
        },
        flag=flag,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    if not rows:
        return None
    run = orjson.Fragment(rows[0][0])
    if rows[0][3] is None:  # the run holds nothing in this scope and filter
        return orjson.dumps({"run": run, "items": [], "next_cursor": None})
    page = rows[:limit]
    before = _decode_cursor(cursor, sort)[2] if cursor is not None else 0
    # Each item's object as PostgreSQL wrote it, with the scope rank put first.
    items = [
        orjson.Fragment(f'{{"scope_rank":{before + n},{row[3][1:]}')
        for n, row in enumerate(page, start=1)
    ]
    return orjson.dumps(
        {
            "run": run,
            "items": items,
            "next_cursor": _next_cursor(rows, sort, limit, before + len(page)),
        }
    )


MAX_ROWS = 500_000
"""An export walks at most this many ranked units."""


def all_ranked(
    *, conn: Conn, scope: Scope, **filters: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Every item of a ranking (same filters and sort as ``ranking``), walking its pages; and the run."""
    first = ranking(conn=conn, scope=scope, limit=1000, **filters)
    items, cursor = list(first.items), first.next_cursor
    while cursor is not None and len(items) < MAX_ROWS:
        nxt = ranking(conn=conn, scope=scope, limit=1000, cursor=cursor, **filters)
        items.extend(nxt.items)
        cursor = nxt.next_cursor
    return first.run, items
