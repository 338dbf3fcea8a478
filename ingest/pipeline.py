"""The one path every door uses: decode → authorize → COPY → dead letters, in one transaction.

``ingest_messages`` is the public entry point (HTTP door, CSV files, replays, bulk loads of
simulated history); the MQTT worker calls ``write_batch`` with messages it decoded as they arrived.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import psycopg

from core.errors import Problem
from core.settings import Settings, get_settings
from ingest.alerts import raise_entrapments
from ingest.authorize import RegisterCache
from ingest.decode import Decoded, Limits, Message, decode, safe_text
from ingest.store import store_dead_letters, store_rows

Source = Literal["mqtt", "http", "file"]
Outcome = Literal["stored", "duplicate", "rejected"]

__all__ = ["IngestResult", "ItemOutcome", "Message", "Source", "ingest_messages", "limits_from"]


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What became of one message, in input order."""

    index: int
    outcome: Outcome
    event_id: UUID | None
    kind: str | None
    reason: str | None = None
    detail: str | None = None
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, as the HTTP door returns it."""
        return {
            "index": self.index,
            "event_id": str(self.event_id) if self.event_id else None,
            "kind": self.kind,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass
class IngestResult:
    """Per-item outcomes and the totals of one call."""

    items: list[ItemOutcome] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    stored_by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.stored + self.duplicates + sum(self.rejected.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready totals and per-item results, as the HTTP door returns them."""
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "items": [item.as_dict() for item in self.items],
        }

    def add(self, other: IngestResult) -> None:
        """Fold another result's totals (not its items) into this one."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected.update(other.rejected)
        self.stored_by_kind.update(other.stored_by_kind)


def limits_from(settings: Settings) -> Limits:
    """The decoding limits the settings ask for."""
    return Limits(
        settings.ingest_max_payload_bytes,
        timedelta(seconds=settings.ingest_future_skew),
        settings.ingest_dead_letter_keep_bytes,
    )


_CONFLICT = Problem(
    "event_id",
    "conflict",
    "the same content as the event already stored with this event_id and occurred_at",
    "a different version; send a new event_id for a new event",
)


def _store_kind(
    conn: psycopg.Connection[Any], kind: str, items: list[Decoded], *, keys: bool
) -> tuple[int, set[Any]]:
    """Store rows of one kind; rows PostgreSQL refuses are rejected one by one, not the batch.

    Items that conflict with a stored version are rejected in place as ``conflict``.
    """
    try:
        with conn.transaction():
            count, new, conflicts = store_rows(conn, kind, items, keys=keys)
        for n in conflicts:
            items[n].reject("conflict", [_CONFLICT])
        return count, new
    except (psycopg.DataError, psycopg.IntegrityError):
        pass
    count, new = 0, set[Any]()
    for item in items:
        try:
            with conn.transaction():
                n, stored, conflicts = store_rows(conn, kind, [item], keys=keys)
            count, new = count + n, new | stored
            if conflicts:
                item.reject("conflict", [_CONFLICT])
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            refused = safe_text(exc.diag.message_primary or str(exc))
            item.reject(
                "schema_violation",
                [Problem("payload", "refused", "values PostgreSQL accepts", refused)],
            )
    return count, new


def write_batch(
    conn: psycopg.Connection[Any],
    items: Sequence[Decoded],
    *,
    source: Source,
    register: RegisterCache,
    dead_letters: bool = True,
    keep_items: bool = True,
    limits: Limits | None = None,
) -> IngestResult:
    """Authorize decoded items and store them (or their dead letters) in one transaction.

    ``keep_items=False`` leaves ``result.items`` empty and only counts, which spares reading
    back the keys of the stored rows.
    """
    result = IngestResult()
    outcomes: list[Outcome] = ["rejected"] * len(items)
    with conn.transaction():
        register.authorize(conn, items)
        by_kind: dict[str, list[int]] = {}
        for n, item in enumerate(items):
            if item.accepted:
                by_kind.setdefault(item.kind or "", []).append(n)
        for kind, positions in by_kind.items():
            count, new = _store_kind(conn, kind, [items[n] for n in positions], keys=keep_items)
            accepted = [n for n in positions if items[n].accepted]
            result.stored += count
            result.stored_by_kind[kind] += count
            result.duplicates += len(accepted) - count
            for n in accepted if keep_items else ():
                key = (items[n].event_id, items[n].occurred_at)
                outcomes[n] = "stored" if key in new else "duplicate"
                new.discard(key)
        if "fault" in by_kind:
            raise_entrapments(conn, items, now=datetime.now(UTC), settings=get_settings())
        rejected = [item for item in items if not item.accepted]
        if rejected and dead_letters:
            limits = limits or limits_from(get_settings())
            store_dead_letters(conn, rejected, source=source, limits=limits)
    for item in rejected:
        result.rejected[item.reason or ""] += 1
    for n, (item, outcome) in enumerate(zip(items, outcomes, strict=True) if keep_items else ()):
        detail = item.detail if item.reason else None
        result.items.append(
            ItemOutcome(
                n, outcome, item.event_id, item.kind, item.reason, detail, tuple(item.problems)
            )
        )
    return result


def ingest_messages(
    conn: psycopg.Connection[Any],
    messages: Iterable[Message],
    *,
    source: Source,
    register: RegisterCache | None = None,
    limits: Limits | None = None,
    dead_letters: bool = True,
) -> IngestResult:
    """Validate, authorize and store messages (or dead-letter them) in one transaction."""
    limits = limits or limits_from(get_settings())
    now = datetime.now(UTC)
    items = [decode(m, limits, now) for m in messages]
    return write_batch(
        conn,
        items,
        source=source,
        register=register or RegisterCache(),
        dead_letters=dead_letters,
        limits=limits,
    )
