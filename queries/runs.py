"""Score runs: the list, one run by id or date, the latest, and what moved between two runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import sql

from core.scope import Scope
from queries.common import Conn


def runs(*, conn: Conn, limit: int = 100) -> list[dict[str, Any]]:
    """Stored score runs, newest first."""
    return conn.execute(
        "SELECT run_id, as_of, created_at, policy_version, policy_hash, model_version, unit_count,"
        " timings, note FROM score_run ORDER BY run_id DESC LIMIT %s",
        (limit,),
    ).fetchall()


def resolve_run(
    *, conn: Conn, run_id: int | None = None, as_of: date | None = None
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


def run_weights(*, conn: Conn, run_id: int | None = None) -> dict[str, Any] | None:
    """A run's fitted condition-model weights (the latest run's without an id), or None."""
    run = resolve_run(conn=conn, run_id=run_id)
    if run is None:
        return None
    return {
        "run_id": run["run_id"],
        "as_of": run["as_of"],
        "policy_version": run["policy_version"],
        "fitted_weights": run.get("fitted_weights"),
    }


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
    *, conn: Conn, scope: Scope, run_a: int, run_b: int, limit: int = 20
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
        "run_a": resolve_run(conn=conn, run_id=run_a),
        "run_b": resolve_run(conn=conn, run_id=run_b),
        "moved_up": [item(r) for r in up],
        "moved_down": [item(r) for r in down],
        "flag_changes": [item(r) for r in flag_changes[:limit]],
        "only_in_a": sorted(r["unit_id"] for r in rows if r["rank_b"] is None),
        "only_in_b": sorted(r["unit_id"] for r in rows if r["rank_a"] is None),
    }
