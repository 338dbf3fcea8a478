"""Replaying dead letters once their cause is fixed (typically ``unknown_unit`` after a register import).

Each dead letter goes through the pipeline again exactly as it first came (topic, routing, bytes),
without writing new dead letters. A stored or duplicate outcome marks it ``replayed_at``; one that
is still rejected keeps waiting, with the new verdict in ``replay_outcome``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.authorize import RegisterCache
from ingest.decode import Message
from ingest.pipeline import ingest_messages

_SELECT = """
SELECT dead_letter_id, source, topic, contractor_id, unit_id, kind, payload
FROM dead_letter
WHERE reason = %s AND replayed_at IS NULL AND dead_letter_id > %s
ORDER BY dead_letter_id
LIMIT %s
"""
_MARK = """
UPDATE dead_letter d
SET replayed_at = CASE WHEN u.outcome IN ('stored', 'duplicate') THEN now() END,
    replay_outcome = u.outcome
FROM unnest(%s::bigint[], %s::text[]) AS u(id, outcome)
WHERE d.dead_letter_id = u.id
"""


@dataclass
class ReplayReport:
    """What a replay did."""

    replayed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def replay(
    conn: psycopg.Connection[Any],
    *,
    reason: str,
    batch_size: int = 1000,
    progress: Callable[[ReplayReport], None] | None = None,
) -> ReplayReport:
    """Re-process the pending dead letters of one reason, one transaction per batch."""
    report = ReplayReport()
    register = RegisterCache()
    last_id = 0
    while True:
        with conn.transaction():
            with conn.cursor(row_factory=dict_row) as cur:
                rows = cur.execute(_SELECT, (reason, last_id, batch_size)).fetchall()
            if not rows:
                return report
            last_id = rows[-1]["dead_letter_id"]
            verdicts: list[str] = [""] * len(rows)
            for source in {r["source"] for r in rows}:
                picked = [n for n, r in enumerate(rows) if r["source"] == source]
                messages = [
                    Message(rows[n]["topic"], rows[n]["contractor_id"], rows[n]["unit_id"], rows[n]["kind"],
                            bytes(rows[n]["payload"]))
                    for n in picked
                ]  # fmt: skip
                result = ingest_messages(
                    conn, messages, source=source, register=register, dead_letters=False
                )
                for n, item in zip(picked, result.items, strict=True):
                    verdicts[n] = (
                        item.outcome if item.outcome != "rejected" else f"rejected:{item.reason}"
                    )
            conn.execute(_MARK, ([r["dead_letter_id"] for r in rows], verdicts))
        report.replayed += len(rows)
        report.outcomes.update(verdicts)
        if progress:
            progress(report)
