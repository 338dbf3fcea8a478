"""Writing a batch: COPY into a staging table, insert what is new, and COPY the dead letters.

Idempotency rests on the event tables' primary key (event_id, occurred_at): rows are copied into a
temporary staging table and moved with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, so the
rows that came back are the ones stored and every other accepted message was a duplicate (of a
row stored earlier or of one earlier in the same batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from ingest.decode import TABLES, Decoded

DEAD_LETTER_COLUMNS = (
    "source", "topic", "contractor_id", "unit_id", "kind", "event_id", "reason", "detail", "payload",
)  # fmt: skip


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


def store_rows(
    conn: psycopg.Connection[Any], kind: str, items: Sequence[Decoded], *, keys: bool = True
) -> tuple[int, set[tuple[UUID, datetime]]]:
    """Insert the rows of accepted items of one kind: how many were new, and (with keys) which."""
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
        if not keys:
            return cur.rowcount, set()
        new = {(r[0], r[1]) for r in cur.fetchall()}
        return len(new), new


def store_dead_letters(
    conn: psycopg.Connection[Any], items: Sequence[Decoded], *, source: str
) -> None:
    """Keep every rejected message with its raw bytes, topic, reason and detail."""
    columns = sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_COLUMNS))
    copy_sql = sql.SQL("COPY dead_letter ({}) FROM STDIN").format(columns)
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for item in items:
            m = item.message
            copy.write_row(
                    (source, m.topic, item.contractor_id, item.unit_id, item.kind, item.event_id,
                     item.reason, item.detail, m.raw)
                )  # fmt: skip
