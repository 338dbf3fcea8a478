"""Stored backtests: written once by `liftwatch score backtest`, read by the API and the page."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from scoring.backtest import Backtest

_FIELDS = sql.SQL(
    "backtest_id, created_at, as_of, horizon_months, unit_count, bootstrap, policy_version,"
    " policy_hash, note"
)


def save(conn: psycopg.Connection[Any], *, result: Backtest, note: str | None = None) -> int:
    """Store a backtest's figures and return its id."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "INSERT INTO backtest (as_of, horizon_months, unit_count, bootstrap, policy_version,"
            " policy_hash, outcomes, results, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING backtest_id",
            (
                result.as_of,
                result.horizon_months,
                result.unit_count,
                result.bootstrap,
                result.policy_version,
                result.policy_hash,
                orjson.dumps(result.outcomes, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
                orjson.dumps(_finite(result.results)).decode(),
                note,
            ),
        )
        row = cur.fetchone()
    assert row is not None
    return int(row["backtest_id"])


def _finite(value: Any) -> Any:
    """JSON has no NaN: an undefined figure (e.g. ROC AUC with no event) is stored as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def listing(conn: psycopg.Connection[Any], *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest stored backtests, newest first, without their figures."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("SELECT {} FROM backtest ORDER BY backtest_id DESC LIMIT %s").format(_FIELDS),
            (limit,),
        )
        return cur.fetchall()


def get(conn: psycopg.Connection[Any], *, backtest_id: int | None = None) -> dict[str, Any] | None:
    """One stored backtest with its figures (the latest when no id is given), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL(
                "SELECT {}, outcomes, results FROM backtest"
                " WHERE %(id)s::bigint IS NULL OR backtest_id = %(id)s"
                " ORDER BY backtest_id DESC LIMIT 1"
            ).format(_FIELDS),
            {"id": backtest_id},
        )
        return cur.fetchone()
