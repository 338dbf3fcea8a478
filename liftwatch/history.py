"""Simulated history loaded straight through the ingestion pipeline (no broker): the fast path for
backtests, tests and bulk loads. Every event is validated, authorized and stored exactly as if it
had come over MQTT; only the transport differs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
import psycopg

from ingest.authorize import RegisterCache
from ingest.pipeline import IngestResult, Message, ingest_messages
from simulators.model import SimEvent


def messages_of(events: Iterable[SimEvent]) -> Iterator[Message]:
    """The messages a controller would publish for these events."""
    for e in events:
        yield Message(None, e.contractor_id, e.unit_id, e.kind, orjson.dumps(e.payload))


def ingest_events(
    conn: psycopg.Connection[Any],
    events: Iterable[SimEvent],
    *,
    batch_size: int = 20_000,
    dead_letters: bool = True,
    progress: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Ingest the events in batches, committing after each; return the totals."""
    register = RegisterCache()
    totals = IngestResult()
    batch: list[Message] = []

    def flush() -> None:
        totals.add(
            ingest_messages(
                conn, batch, source="file", register=register, dead_letters=dead_letters
            )
        )
        conn.commit()
        batch.clear()
        if progress:
            progress(totals)

    for message in messages_of(events):
        batch.append(message)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return totals
