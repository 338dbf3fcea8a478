"""Read stored score runs for the API and dashboards, always within the caller's scope.

Every query joins ``unit_place`` and adds ``scope.condition("p")`` in SQL, so a unit outside the
scope is never read: it looks exactly like a unit that does not exist (None or an empty list).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from core import vocab
from core.errors import Invalid
from core.scope import Scope

SORTS = {"risk": "risk", "health": "health", "pof": "pof", "cof": "cof"}
# Sorts that are orders stored with the run (unique, indexed): priority and likelihood of failure.
_STORED_ORDERS = {"risk": "rank", "pof": "pof_rank"}
FLAGS = vocab.FLAGS


@dataclass(frozen=True)
class RankingPage:
    """One page of a ranking; pass ``next_cursor`` back to get the next page (None at the end)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    run: dict[str, Any] | None = field(default=None)


def runs(conn: psycopg.Connection[Any], *, limit: int = 100) -> list[dict[str, Any]]:
    """Stored score runs, newest first."""
    return conn.execute(
        "SELECT run_id, as_of, created_at, policy_version, policy_hash, model_version, unit_count,"
        " timings, note FROM score_run ORDER BY run_id DESC LIMIT %s",
        (limit,),
    ).fetchall()


def resolve_run(
    conn: psycopg.Connection[Any], *, run_id: int | None = None, as_of: date | None = None
) -> dict[str, Any] | None:
    """A run by id, else the latest run as of a date (as_of on or before it), else the latest."""
    params: tuple[Any, ...]
    if run_id is not None:
        query, params = "SELECT * FROM score_run WHERE run_id = %s", (run_id,)
    elif as_of is not None:
        query = "SELECT * FROM score_run WHERE as_of <= %s ORDER BY as_of DESC, run_id DESC LIMIT 1"
        params = (as_of,)
    else:
        query, params = "SELECT * FROM score_run ORDER BY run_id DESC LIMIT 1", ()
    return conn.execute(query, params).fetchone()


def run_weights(
    conn: psycopg.Connection[Any], *, run_id: int | None = None
) -> dict[str, Any] | None:
    """A run's fitted condition-model weights (the latest run's without an id), or None."""
    run = resolve_run(conn, run_id=run_id)
    if run is None:
        return None
    return {
        "run_id": run["run_id"],
        "as_of": run["as_of"],
        "policy_version": run["policy_version"],
        "fitted_weights": run.get("fitted_weights"),
    }


def _encode_cursor(sort: str, value: float, rank: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([sort, value, rank])).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[float, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, rank = orjson.loads(raw)
        if got_sort != sort:
            raise ValueError("sort changed")
        return float(value), int(rank)
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
        ("unit_id", "s.unit_id"),
        ("registration_code", "p.registration_code"),
        ("building_id", "p.building_id"),
        ("building_name", "p.building_name"),
        ("community_id", "p.community_id"),
        ("street_office_id", "p.street_office_id"),
        ("district_id", "p.district_id"),
        ("contractor_id", "p.contractor_id"),
        ("rank", "s.rank"),
        ("pof_rank", "s.pof_rank"),
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
_ITEM_COLUMNS = sql.SQL(", ").join(
    sql.SQL("{} AS {}").format(expr, sql.Identifier(name)) for name, expr in _ITEM_FIELDS
)
# unit_place's joins with the names a list shows: the view plus unit and building again would
# look each unit's row up twice.
_LISTED_PLACE = sql.SQL(
    "(SELECT u.unit_id, u.registration_code, u.building_id, b.name AS building_name,"
    " b.community_id, c.street_office_id, o.district_id, u.contractor_id"
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


# A ranking's select lists: as columns (for Python callers), or as the API's JSON.
_SELECT = {
    False: (sql.SQL(", ").join(expr for _, expr in _RUN_FIELDS), _ITEM_COLUMNS),
    True: (_json_object(_RUN_FIELDS), sql.SQL("{} AS item").format(_json_object(_ITEM_FIELDS))),
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
    run_columns, item_columns = _SELECT[as_json]
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
    query = sql.SQL(
        "SELECT r.*, i.* FROM (SELECT {run_cols}, r.run_id AS chosen_run"
        " FROM score_run r {choice} LIMIT 1) r"
        " LEFT JOIN LATERAL (SELECT {cols}, {position} AS cursor_rank, {key} AS cursor_value"
        " FROM unit_score s JOIN {place} p USING (unit_id)"
        " WHERE {where} ORDER BY {order} LIMIT %(limit)s) i ON TRUE"
    ).format(
        run_cols=run_columns,
        choice=_CHOICES[choice],
        cols=item_columns,
        key=key,
        position=position,
        place=_LISTED_PLACE,
        where=sql.SQL(" AND ").join(where),
        order=order,
    )
    return query.as_string().encode()


def _ranking_rows(
    conn: psycopg.Connection[Any],
    *,
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
        params["after_value"], params["after_rank"] = _decode_cursor(cursor, sort)
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


def _next_cursor(rows: list[tuple[Any, ...]], sort: str, limit: int) -> str | None:
    """The cursor after the page's last item when more follow (rows end in rank, sort value)."""
    if len(rows) <= limit:
        return None
    rank, value = rows[limit - 1][-2:]
    return _encode_cursor(sort, value, rank)


def ranking(
    conn: psycopg.Connection[Any],
    *,
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
        conn,
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
    split = len(_RUN_FIELDS) + 1
    run = {name: value for (name, _), value in zip(_RUN_FIELDS, rows[0], strict=False)}
    if rows[0][split] is None:  # the run holds nothing in this scope and filter
        return RankingPage(items=[], next_cursor=None, run=run)
    items = [
        {name: value for (name, _), value in zip(_ITEM_FIELDS, row[split:], strict=False)}
        for row in rows[:limit]
    ]
    return RankingPage(items=items, next_cursor=_next_cursor(rows, sort, limit), run=run)


def ranking_json(
    conn: psycopg.Connection[Any],
    *,
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
        conn,
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
    if rows[0][2] is None:  # the run holds nothing in this scope and filter
        return orjson.dumps({"run": run, "items": [], "next_cursor": None})
    return orjson.dumps(
        {
            "run": run,
            "items": [orjson.Fragment(row[2]) for row in rows[:limit]],
            "next_cursor": _next_cursor(rows, sort, limit),
        }
    )


def explanation(
    conn: psycopg.Connection[Any], *, scope: Scope, unit_id: str, run_id: int | None = None
) -> dict[str, Any] | None:
    """One unit's score with every factor and reason (latest run holding it unless run_id given)."""
    query = sql.SQL(
        "SELECT r.run_id, r.as_of, r.created_at, r.policy_version, r.policy_hash, r.model_version,"
        " r.unit_count, {cols}, u.manufacturer, u.installed_on, u.renewed_on, u.service_status,"
        " b.floors, b.households, b.elderly_share::float8 AS elderly_share, s.factors"
        " FROM unit_score s JOIN score_run r USING (run_id) JOIN {place} p USING (unit_id)"
        " JOIN unit u USING (unit_id) JOIN building b ON b.building_id = p.building_id"
        " WHERE s.unit_id = %(unit_id)s AND {scope} AND (%(run_id)s::bigint IS NULL OR s.run_id = %(run_id)s)"
        " ORDER BY s.run_id DESC LIMIT 1"
    ).format(cols=_ITEM_COLUMNS, place=_LISTED_PLACE, scope=scope.condition("p"))
    row = conn.execute(query, {"unit_id": unit_id, "run_id": run_id}).fetchone()
    if row is None:
        return None
    rule = next((f for f in row["factors"] if f.get("factor") == "flag_rule"), None)
    row["flag_reason"] = {"zh": rule.get("zh"), "en": rule.get("en")} if rule else None
    return row


def score_history(
    conn: psycopg.Connection[Any], *, scope: Scope, unit_id: str
) -> list[dict[str, Any]]:
    """A unit's score in every stored run, oldest as-of date first."""
    query = sql.SQL(
        "SELECT r.run_id, r.as_of, r.created_at, r.unit_count, s.rank, s.health, s.pof, s.cof, s.risk,"
        " s.model_probability, s.flag, s.flag_rule"
        " FROM unit_score s JOIN score_run r USING (run_id) JOIN unit_place p USING (unit_id)"
        " WHERE s.unit_id = %(unit_id)s AND {scope} ORDER BY r.as_of, r.run_id"
    ).format(scope=scope.condition("p"))
    return conn.execute(query, {"unit_id": unit_id}).fetchall()


def _why(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The factors whose health contribution changed most between two runs, biggest first."""
    old = {f["factor"]: f for f in before}
    new = {f["factor"]: f for f in after}
    changes = []
    for name in old.keys() | new.keys():
        a, b = old.get(name, {}), new.get(name, {})
        delta = (b.get("contribution") or 0.0) - (a.get("contribution") or 0.0)
        if abs(delta) >= 0.01 or (name == "flag_rule" and a.get("value") != b.get("value")):
            shown = b or a
            changes.append(
                {
                    "factor": name,
                    "delta": round(delta, 4),
                    "zh": shown.get("zh"),
                    "en": shown.get("en"),
                }
            )
    changes.sort(key=lambda c: -abs(c["delta"]))
    return changes


def compare_runs(
    conn: psycopg.Connection[Any], *, scope: Scope, run_a: int, run_b: int, limit: int = 20
) -> dict[str, Any]:
    """What moved up or down the ranking from run A to run B, and why (within the scope)."""
    query = sql.SQL(
        "SELECT coalesce(a.unit_id, b.unit_id) AS unit_id, a.rank AS rank_a, b.rank AS rank_b,"
        " a.health AS health_a, b.health AS health_b, a.risk AS risk_a, b.risk AS risk_b,"
        " a.flag AS flag_a, b.flag AS flag_b, a.factors AS factors_a, b.factors AS factors_b"
        " FROM (SELECT * FROM unit_score WHERE run_id = %(a)s) a"
        " FULL JOIN (SELECT * FROM unit_score WHERE run_id = %(b)s) b USING (unit_id)"
        " JOIN unit_place p ON p.unit_id = coalesce(a.unit_id, b.unit_id)"
        " WHERE {scope}"
    ).format(scope=scope.condition("p"))
    rows = conn.execute(query, {"a": run_a, "b": run_b}).fetchall()
    both = [r for r in rows if r["rank_a"] is not None and r["rank_b"] is not None]
    for r in both:
        r["moved"] = r["rank_a"] - r["rank_b"]
    up = sorted((r for r in both if r["moved"] > 0), key=lambda r: -r["moved"])[:limit]
    down = sorted((r for r in both if r["moved"] < 0), key=lambda r: r["moved"])[:limit]
    flag_changes = [r for r in both if r["flag_a"] != r["flag_b"]]
    flag_changes.sort(key=lambda r: r["rank_b"])

    def item(r: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in r.items() if not k.startswith("factors")}
        out["why"] = _why(r["factors_a"] or [], r["factors_b"] or [])
        return out

    return {
        "run_a": resolve_run(conn, run_id=run_a),
        "run_b": resolve_run(conn, run_id=run_b),
        "moved_up": [item(r) for r in up],
        "moved_down": [item(r) for r in down],
        "flag_changes": [item(r) for r in flag_changes[:limit]],
        "only_in_a": sorted(r["unit_id"] for r in rows if r["rank_b"] is None),
        "only_in_b": sorted(r["unit_id"] for r in rows if r["rank_a"] is None),
    }
