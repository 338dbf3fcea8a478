"""Alerts a score run raises: units newly flagged `stopped` or `replace_or_overhaul`.

"Newly" is against the run before it (by scoring date); a fleet's first run sets the baseline
and raises nothing, so switching liftwatch on does not bury people in alerts. An open flag alert
clears when a later run no longer gives the unit that flag. Only the latest run of the fleet
raises or clears: re-scoring a past date changes nothing that needs a person now.
"""

from __future__ import annotations

from typing import Any, cast

import psycopg
from psycopg.rows import tuple_row

from core.alerts import AlertKind, clear_alerts, raise_alert

FLAG_KINDS: tuple[AlertKind, ...] = ("stopped", "replace_or_overhaul")

_NEWLY_FLAGGED = """
SELECT s.unit_id, s.flag, s.contractor_id, s.flag_rule, prev.flag
FROM unit_score s
LEFT JOIN unit_score prev ON prev.run_id = %(prev)s AND prev.unit_id = s.unit_id
WHERE s.run_id = %(run)s AND s.flag = ANY (%(kinds)s)
  AND prev.flag IS DISTINCT FROM s.flag AND s.contractor_id IS NOT NULL
"""


def flag_alerts(conn: psycopg.Connection[Any], *, run_id: int) -> dict[str, int]:
    """Raise alerts for units this run newly flags and clear those it no longer flags."""
    with conn.cursor(row_factory=tuple_row) as cur:
        runs = cur.execute(
            "SELECT run_id, created_at FROM score_run ORDER BY as_of DESC, run_id DESC LIMIT 2"
        ).fetchall()
        if not runs or runs[0][0] != run_id:
            return {}
        counts: dict[str, int] = {}
        for kind in FLAG_KINDS:
            still = [
                r[0]
                for r in cur.execute(
                    "SELECT a.subject FROM alert a WHERE a.kind = %s AND a.cleared_at IS NULL"
                    " AND NOT EXISTS (SELECT 1 FROM unit_score s"
                    "   WHERE s.run_id = %s AND s.unit_id = a.unit_id AND s.flag = %s)",
                    (kind, run_id, kind),
                ).fetchall()
            ]
            counts[f"{kind} cleared"] = clear_alerts(conn, kind=kind, subjects=still)
        if len(runs) < 2:
            return counts
        found = cur.execute(
            _NEWLY_FLAGGED, {"run": run_id, "prev": runs[1][0], "kinds": list(FLAG_KINDS)}
        ).fetchall()
    for unit_id, flag, contractor_id, rule, before in found:
        raise_alert(
            conn,
            kind=cast(AlertKind, flag),
            unit_id=unit_id,
            contractor_id=contractor_id,
            occurred_at=runs[0][1],
            detail={"run_id": run_id, "flag_rule": rule, "previous_flag": before},
        )
        counts[flag] = counts.get(flag, 0) + 1
    return counts
