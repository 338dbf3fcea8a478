"""Read stored score runs for the API and dashboards, always within the caller's scope.

Every query joins ``unit_place`` and adds ``scope.condition("p")`` in SQL, so a unit outside the
scope is never read: it looks exactly like a unit that does not exist (None or an empty list).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import psycopg
from psycopg import sql

from core.errors import Invalid
from core.scope import Scope

SORTS = {"risk": "risk", "health": "health", "pof": "pof", "cof": "cof"}
FLAGS = ("stopped", "replace_or_overhaul", "safety_assessment", "watch", "ok")
_SUMMARY_FACTORS = 3


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


def _summary(factors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The first factors' sentences: what a list view shows next to a unit."""
    shown = [f for f in factors if f["factor"] not in ("consequence", "flag_rule", "model")]
    return [{"factor": f["factor"], "zh": f["zh"], "en": f["en"]} for f in shown[:_SUMMARY_FACTORS]]


_ITEM_COLUMNS = sql.SQL(
    "s.unit_id, u.registration_code, p.building_id, b.name AS building_name, p.community_id,"
    " p.street_office_id, p.district_id, p.contractor_id, s.rank, s.health, s.pof, s.cof, s.risk,"
    " s.model_probability, s.flag, s.flag_rule, s.factors"
)


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
    if sort not in SORTS:
        raise Invalid(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    if flag is not None and flag not in FLAGS:
        raise Invalid(f"flag must be one of {', '.join(FLAGS)}, got {flag!r}")
    if not 1 <= limit <= 1000:
        raise Invalid(f"limit must be between 1 and 1000, got {limit}")
    run = resolve_run(conn, run_id=run_id, as_of=as_of)
    if run is None:
        return RankingPage(items=[], next_cursor=None, run=None)
    where: list[sql.Composable] = [sql.SQL("s.run_id = %(run_id)s"), scope.condition("p")]
    params: dict[str, Any] = {"run_id": run["run_id"], "limit": limit + 1}
    filters = {
        "district_id": district_id,
        "street_office_id": street_office_id,
        "community_id": community_id,
        "building_id": building_id,
        "contractor_id": contractor_id,
    }
    for column, value in filters.items():
        if value is not None:
            where.append(
                sql.SQL("{} = {}").format(sql.Identifier("p", column), sql.Placeholder(column))
            )
            params[column] = value
    if flag is not None:
        where.append(sql.SQL("s.flag = %(flag)s"))
        params["flag"] = flag
    order: sql.Composable
    if sort == "risk":
        order = sql.SQL("s.rank")
        if cursor is not None:
            _, params["after_rank"] = _decode_cursor(cursor, sort)
            where.append(sql.SQL("s.rank > %(after_rank)s"))
    else:
        key = sql.Identifier("s", SORTS[sort])
        order = sql.SQL("{} DESC, s.rank").format(key)
        if cursor is not None:
            params["after_value"], params["after_rank"] = _decode_cursor(cursor, sort)
            where.append(
                sql.SQL(
                    "({col} < %(after_value)s OR ({col} = %(after_value)s AND s.rank > %(after_rank)s))"
                ).format(col=key)
            )
    query = sql.SQL(
        "SELECT {cols} FROM unit_score s JOIN unit_place p USING (unit_id)"
        " JOIN unit u USING (unit_id) JOIN building b ON b.building_id = p.building_id"
        " WHERE {where} ORDER BY {order} LIMIT %(limit)s"
    ).format(cols=_ITEM_COLUMNS, where=sql.SQL(" AND ").join(where), order=order)
    rows = conn.execute(query, params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for row in rows:
        factors = row.pop("factors")
        row["reasons"] = _summary(factors)
        items.append(row)
    next_cursor = None
    if more and rows:
        last = rows[-1]
        value = last["rank"] if sort == "risk" else last[SORTS[sort]]
        next_cursor = _encode_cursor(sort, value, last["rank"])
    return RankingPage(items=items, next_cursor=next_cursor, run=run)


def explanation(
    conn: psycopg.Connection[Any], *, scope: Scope, unit_id: str, run_id: int | None = None
) -> dict[str, Any] | None:
    """One unit's score with every factor and reason (latest run holding it unless run_id given)."""
    query = sql.SQL(
        "SELECT r.run_id, r.as_of, r.created_at, r.policy_version, r.policy_hash, r.model_version,"
        " r.unit_count, {cols}, u.manufacturer, u.installed_on, u.renewed_on, u.service_status,"
        " b.floors, b.households, b.elderly_share::float8 AS elderly_share"
        " FROM unit_score s JOIN score_run r USING (run_id) JOIN unit_place p USING (unit_id)"
        " JOIN unit u USING (unit_id) JOIN building b ON b.building_id = p.building_id"
        " WHERE s.unit_id = %(unit_id)s AND {scope} AND (%(run_id)s::bigint IS NULL OR s.run_id = %(run_id)s)"
        " ORDER BY s.run_id DESC LIMIT 1"
    ).format(cols=_ITEM_COLUMNS, scope=scope.condition("p"))
    row = conn.execute(query, {"unit_id": unit_id, "run_id": run_id}).fetchone()
    if row is None:
        return None
    rule = next((f for f in row["factors"] if f["factor"] == "flag_rule"), None)
    row["flag_reason"] = {"zh": rule["zh"], "en": rule["en"]} if rule else None
    row["reasons"] = _summary(row["factors"])
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
