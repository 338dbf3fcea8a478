"""Writing a batch: COPY into a staging table, insert what is new, and COPY the dead letters.

Idempotency rests on the event tables' primary key (event_id, occurred_at): rows are copied into a
temporary staging table and moved with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, so the
rows that came back are the ones stored and every other accepted message was a duplicate (of a
row stored earlier or of one earlier in the same batch). When some were not new, their content
hashes are compared with the stored rows': a different hash is a conflicting version, not a
re-delivery.

Dead letters keep their text safe for PostgreSQL (NUL and invalid UTF-8 escaped) and at most the
first ``keep_bytes`` of a payload larger than the size limit, with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from ingest.decode import TABLES, Decoded, Limits, safe_text

DEAD_LETTER_COLUMNS = (
    "source", "topic", "contractor_id", "unit_id", "kind", "event_id", "reason", "detail", "payload",
    "payload_size", "payload_sha256",
)  # fmt: skip
Stored = tuple[int, set[tuple[UUID, datetime]], list[int]]


def _stage_name(table: str) -> sql.Identifier:
    return sql.Identifier(f"liftwatch_stage_{table}")


def _ensure_stage(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str]) -> None:
    # Temporary and emptied at each commit: private to this connection, never seen by others.
    cur.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            "SELECT {cols} FROM {table} WITH NO DATA"
        ).format(
            stage=_stage_name(table),
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=sql.Identifier(table),
        )
    )


def _conflicts(
    cur: psycopg.Cursor[Any], table: str, stage: sql.Identifier, items: Sequence[Decoded]
) -> list[int]:
    """Positions of the items whose key is stored with another content hash."""
    rows = cur.execute(
        sql.SQL(
            "SELECT s.event_id, s.occurred_at, s.content_hash FROM {stage} s JOIN {table} t"
            " ON t.event_id = s.event_id AND t.occurred_at = s.occurred_at"
            " WHERE t.content_hash <> s.content_hash"
        ).format(stage=stage, table=sql.Identifier(table))
    ).fetchall()
    wanted = {(r[0], r[1], bytes(r[2])) for r in rows}
    return [
        n
        for n, item in enumerate(items)
        if (item.event_id, item.occurred_at, item.content_hash) in wanted
    ]


def store_rows(
    conn: psycopg.Connection[Any], kind: str, items: Sequence[Decoded], *, keys: bool = True
) -> Stored:
    """Insert the rows of accepted items of one kind: how many were new, (with keys) which,
    and the positions of the items that conflict with a stored version."""
    table, columns = TABLES[kind]
    stage = _stage_name(table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    returning = sql.SQL(" RETURNING event_id, occurred_at" if keys else "")
    with conn.cursor(row_factory=tuple_row) as cur:
        _ensure_stage(cur, table, columns)
        cur.execute(sql.SQL("DELETE FROM {}").format(stage))
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
            for item in items:
                assert item.row is not None
                copy.write_row(item.row)
        cur.execute(
            sql.SQL(
                "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING{returning}"
            ).format(table=sql.Identifier(table), cols=cols, stage=stage, returning=returning)
        )
        new = set() if not keys else {(r[0], r[1]) for r in cur.fetchall()}
        count = cur.rowcount if not keys else len(new)
        # Only a batch with re-sent keys pays for the comparison.
        conflicts = _conflicts(cur, table, stage, items) if count < len(items) else []
        return count, new, conflicts


def _text(value: Any) -> str | None:
    return None if value is None else safe_text(str(value))


def dead_letter_row(item: Decoded, *, source: str, limits: Limits) -> tuple[Any, ...]:
    """The dead_letter columns of one rejected item, bounded and safe for PostgreSQL."""
    m = item.message
    raw, size, digest = m.raw, None, None
    if len(raw) > limits.max_payload_bytes:
        raw, size, digest = (
            raw[: limits.dead_letter_keep_bytes],
            len(raw),
            hashlib.sha256(raw).digest(),
        )
    return (
        source, _text(m.topic), _text(item.contractor_id), _text(item.unit_id), _text(item.kind),
        item.event_id, item.reason, item.detail, raw, size, digest,
    )  # fmt: skip


def store_dead_letters(
    conn: psycopg.Connection[Any], items: Sequence[Decoded], *, source: str, limits: Limits
) -> None:
    """Keep every rejected message with its raw bytes (bounded), topic, reason and detail."""
    columns = sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS))
    copy_sql = sql.SQL("COPY dead_letter ({}) FROM STDIN").format(columns)
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for item in items:
            copy.write_row(dead_letter_row(item, source=source, limits=limits))
