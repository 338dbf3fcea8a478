"""Alerts found where events arrive: entrapments as they are stored, and a periodic sweep over the
data's health (units gone silent, a contractor's rejection rate jumping, entrapments gone quiet).

Entrapments are raised inside the transaction that stores them, so an alert exists exactly when
its event does; a re-delivered message raises nothing twice. The sweep is run by
``liftwatch alerts run`` (and by the demo) every ``LIFTWATCH_ALERT_SWEEP_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from core.alerts import clear_alerts, raise_alert
from core.settings import Settings
from ingest.decode import TABLES, Decoded

_FAULT_COLUMNS = TABLES["fault"][1]
_ENTRAPMENT = _FAULT_COLUMNS.index("entrapment")
_TRAPPED = _FAULT_COLUMNS.index("passengers_trapped")
_CODE = _FAULT_COLUMNS.index("code")
_ENDED = _FAULT_COLUMNS.index("ended_at")

# Status samples are the units' heartbeat; a unit's usual interval is read from this far back.
SILENT_LOOKBACK = timedelta(days=30)
RECENT = timedelta(hours=1)
BASELINE = timedelta(days=7)


@dataclass(frozen=True)
class SweepResult:
    """Alerts a sweep opened (or repeated) and cleared, by kind."""

    raised: dict[str, int]
    cleared: dict[str, int]


def raise_entrapments(
    conn: psycopg.Connection[Any], items: Sequence[Decoded], *, now: datetime, settings: Settings
) -> int:
    """Raise an entrapment alert for each accepted fault that trapped passengers recently."""
    oldest = now - timedelta(hours=settings.alert_entrapment_hours)
    raised = 0
    for item in items:
        row = item.row
        if item.kind != "fault" or row is None or not item.accepted or not row[_ENTRAPMENT]:
            continue
        if item.occurred_at is None or item.occurred_at < oldest:
            continue  # history being loaded, not someone to free now
        assert item.unit_id is not None and item.contractor_id is not None
        detail = {"code": row[_CODE], "passengers_trapped": row[_TRAPPED]}
        if row[_ENDED] is not None:
            detail["ended_at"] = row[_ENDED].isoformat()
        if raise_alert(
            conn,
            kind="entrapment",
            unit_id=item.unit_id,
            contractor_id=item.contractor_id,
            occurred_at=item.occurred_at,
            detail=detail,
            event_id=item.event_id,
        ):
            raised += 1
    return raised


_SILENT = """
WITH recent AS (
    SELECT unit_id, count(*) AS n, min(occurred_at) AS first, max(occurred_at) AS last
    FROM status_sample
    WHERE occurred_at >= %(since)s AND occurred_at <= %(now)s
    GROUP BY unit_id
    HAVING count(*) >= 3
)
SELECT r.unit_id, u.contractor_id, r.last,
       extract(epoch FROM (r.last - r.first) / (r.n - 1)) AS usual_seconds
FROM recent r JOIN unit u USING (unit_id)
WHERE r.last < %(now)s - greatest((r.last - r.first) / (r.n - 1) * %(factor)s,
                                  make_interval(secs => %(min_seconds)s))
  AND NOT EXISTS (SELECT 1 FROM alert a
                  WHERE a.kind = 'silent' AND a.subject = r.unit_id AND a.cleared_at IS NULL)
"""

# A silent unit that reports again clears its alert.
_SPOKEN_AGAIN = """
SELECT a.unit_id FROM alert a
WHERE a.kind = 'silent' AND a.cleared_at IS NULL
  AND EXISTS (SELECT 1 FROM status_sample s
              WHERE s.unit_id = a.unit_id AND s.occurred_at > a.occurred_at)
"""

# Rejected and stored messages per registered contractor, in the last hour and the week before it.
# Stored events are counted by arrival; the occurred_at bound lets partitions be skipped.
_REJECTION = """
WITH arrived AS (
    SELECT contractor_id, received_at, false AS rejected FROM fault_event
    WHERE occurred_at >= %(events_since)s AND received_at >= %(baseline)s
    UNION ALL SELECT contractor_id, received_at, false FROM inspection_event
    WHERE occurred_at >= %(events_since)s AND received_at >= %(baseline)s
    UNION ALL SELECT contractor_id, received_at, false FROM maintenance_event
    WHERE occurred_at >= %(events_since)s AND received_at >= %(baseline)s
    UNION ALL SELECT contractor_id, received_at, false FROM status_sample
    WHERE occurred_at >= %(events_since)s AND received_at >= %(baseline)s
    UNION ALL SELECT contractor_id, received_at, true FROM dead_letter
    WHERE received_at >= %(baseline)s AND contractor_id IS NOT NULL
), counted AS (
    SELECT contractor_id,
           count(*) FILTER (WHERE received_at >= %(recent)s) AS recent_n,
           count(*) FILTER (WHERE received_at >= %(recent)s AND rejected) AS recent_rejected,
           count(*) FILTER (WHERE received_at < %(recent)s) AS before_n,
           count(*) FILTER (WHERE received_at < %(recent)s AND rejected) AS before_rejected
    FROM arrived WHERE received_at <= %(now)s
    GROUP BY contractor_id
)
SELECT c.contractor_id, recent_n, recent_rejected, before_n, before_rejected
FROM counted JOIN contractor c USING (contractor_id)
"""


def _silent(conn: psycopg.Connection[Any], *, now: datetime, settings: Settings) -> tuple[int, int]:
    with conn.cursor(row_factory=tuple_row) as cur:
        silent = cur.execute(
            _SILENT,
            {
                "since": now - SILENT_LOOKBACK,
                "now": now,
                "factor": settings.alert_silent_factor,
                "min_seconds": settings.alert_silent_min_seconds,
            },
        ).fetchall()
        spoken = [r[0] for r in cur.execute(_SPOKEN_AGAIN).fetchall()]
    cleared = clear_alerts(conn, kind="silent", subjects=spoken)
    for unit_id, contractor_id, last, usual in silent:
        raise_alert(
            conn,
            kind="silent",
            unit_id=unit_id,
            contractor_id=contractor_id,
            occurred_at=last,
            detail={"last_at": last.isoformat(), "usual_seconds": round(float(usual))},
        )
    return len(silent), cleared


def _rejection(
    conn: psycopg.Connection[Any], *, now: datetime, settings: Settings
) -> tuple[int, int]:
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            _REJECTION,
            {
                "now": now,
                "recent": now - RECENT,
                "baseline": now - RECENT - BASELINE,
                "events_since": now - RECENT - BASELINE - timedelta(days=1),
            },
        ).fetchall()
    with conn.cursor(row_factory=tuple_row) as cur:
        already = {
            r[0]
            for r in cur.execute(
                "SELECT subject FROM alert WHERE kind = 'rejection_rate' AND cleared_at IS NULL"
            ).fetchall()
        }
    jump, least = settings.alert_rejection_jump, settings.alert_rejection_min_messages
    raised, calm = 0, set(already)
    for contractor_id, recent_n, recent_rejected, before_n, before_rejected in rows:
        rate = recent_rejected / recent_n if recent_n else 0.0
        usual = before_rejected / before_n if before_n else 0.0
        # Cleared below half the jump, so a rate hovering at the threshold does not flap.
        if rate - usual >= jump / 2:
            calm.discard(contractor_id)
        if recent_n >= least and rate - usual >= jump and contractor_id not in already:
            detail = {"rate": round(rate, 3), "usual_rate": round(usual, 3), "messages": recent_n}
            raise_alert(
                conn,
                kind="rejection_rate",
                contractor_id=contractor_id,
                occurred_at=now,
                detail=detail,
            )
            raised += 1
    return raised, clear_alerts(conn, kind="rejection_rate", subjects=sorted(calm))


def _expire_entrapments(conn: psycopg.Connection[Any], *, now: datetime, settings: Settings) -> int:
    cur = conn.execute(
        "UPDATE alert SET cleared_at = now(), cleared_by = 'condition' "
        "WHERE kind = 'entrapment' AND cleared_at IS NULL AND last_seen_at < %s",
        (now - timedelta(hours=settings.alert_entrapment_hours),),
    )
    return cur.rowcount


def sweep(conn: psycopg.Connection[Any], *, now: datetime, settings: Settings) -> SweepResult:
    """Raise and clear the alerts that depend on time passing, as of ``now``, in one transaction."""
    with conn.transaction():
        silent_raised, silent_cleared = _silent(conn, now=now, settings=settings)
        rejection_raised, rejection_cleared = _rejection(conn, now=now, settings=settings)
        expired = _expire_entrapments(conn, now=now, settings=settings)
    return SweepResult(
        raised={"silent": silent_raised, "rejection_rate": rejection_raised},
        cleared={
            "silent": silent_cleared,
            "rejection_rate": rejection_cleared,
            "entrapment": expired,
        },
    )
