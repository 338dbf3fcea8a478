"""Ingestion figures: a running worker's metrics, and what the database holds."""

from __future__ import annotations

import urllib.request
from typing import Any

import psycopg
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.rows import tuple_row

from ingest.decode import TABLES


def scrape(url: str, *, timeout: float = 3.0) -> dict[str, float]:
    """The liftwatch_ingest_* samples of a worker's /metrics endpoint, keyed by name and labels."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not s.name.startswith("liftwatch_ingest_") or s.name.endswith("_created"):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()) if k != "le")
            if "le" in s.labels:
                continue
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def db_totals(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Stored events per table and dead letters per reason (pending and replayed)."""
    out: dict[str, Any] = {"stored": {}, "dead_letters": {}}
    with conn.cursor(row_factory=tuple_row) as cur:
        for table, _ in TABLES.values():
            row = cur.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            out["stored"][table] = row[0] if row else 0
        for reason, pending, replayed in cur.execute(
            "SELECT reason, count(*) FILTER (WHERE replayed_at IS NULL), "
            "count(*) FILTER (WHERE replayed_at IS NOT NULL) FROM dead_letter GROUP BY 1 ORDER BY 1"
        ):
            out["dead_letters"][reason] = {"pending": pending, "replayed": replayed}
    return out
