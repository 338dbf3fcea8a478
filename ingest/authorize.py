"""Authorization at the door: the topic's contractor must maintain the unit when the event happened.

The register (``unit_contract``) is cached in memory: entries are looked up once per unit and trusted
for ``ttl`` seconds. A message that the cache would reject is checked against the database again
before it is dead-lettered, so a unit or contract added a moment ago is never refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from core.errors import Problem
from ingest.decode import Decoded

# (contractor_id, valid_from, valid_to); None for a unit the register does not know.
Contracts = list[tuple[str, datetime, datetime | None]] | None

_LOOKUP = """
SELECT u.unit_id, c.contractor_id, c.valid_from, c.valid_to
FROM unit u LEFT JOIN unit_contract c USING (unit_id)
WHERE u.unit_id = ANY(%s)
"""


class RegisterCache:
    """Who maintained which unit when, as far as ingestion needs to know."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, Contracts] = {}
        self._loaded_at = time.monotonic()

    def _load(self, conn: psycopg.Connection[Any], units: Iterable[str]) -> None:
        wanted = list(units)
        if not wanted:
            return
        found: dict[str, Contracts] = dict.fromkeys(wanted)
        with conn.cursor(row_factory=tuple_row) as cur:
            for unit, contractor, valid_from, valid_to in cur.execute(_LOOKUP, (wanted,)):
                periods = found[unit]
                if periods is None:
                    periods = found[unit] = []
                if contractor is not None:
                    periods.append((contractor, valid_from, valid_to))
        self._entries.update(found)

    def _verdict(self, item: Decoded) -> str | None:
        assert item.unit_id is not None
        assert item.occurred_at is not None
        periods = self._entries.get(item.unit_id)
        if periods is None:
            return "unknown_unit"
        at = item.occurred_at
        for contractor, valid_from, valid_to in periods:
            if (
                contractor == item.contractor_id
                and valid_from <= at
                and (valid_to is None or at < valid_to)
            ):
                return None
        return "not_maintainer"

    def authorize(self, conn: psycopg.Connection[Any], items: Sequence[Decoded]) -> None:
        """Reject, in place, the accepted items whose contractor did not maintain the unit then."""
        if time.monotonic() - self._loaded_at > self.ttl:
            self._entries.clear()
            self._loaded_at = time.monotonic()
        accepted = [i for i in items if i.accepted]
        fresh = {i.unit_id for i in accepted if i.unit_id not in self._entries}
        self._load(conn, (u for u in fresh if u is not None))
        doubtful = [i for i in accepted if self._verdict(i) is not None]
        self._load(conn, {i.unit_id for i in doubtful if i.unit_id not in fresh and i.unit_id})
        for item in doubtful:
            reason = self._verdict(item)
            if reason == "unknown_unit":
                item.reject(
                    reason,
                    [Problem("unit_id", reason, "a unit in the register", repr(item.unit_id))],
                )
            elif reason == "not_maintainer":
                expected = f"the maintaining contractor of {item.unit_id} at {item.occurred_at.isoformat()}"  # type: ignore[union-attr]
                item.reject(
                    reason, [Problem("contractor_id", reason, expected, repr(item.contractor_id))]
                )
