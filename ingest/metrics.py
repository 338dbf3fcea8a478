"""The ingest worker's Prometheus metrics, served on ``LIFTWATCH_INGEST_METRICS_PORT``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from ingest.pipeline import IngestResult

RECEIVED = Counter(
    "liftwatch_ingest_received",
    "Messages taken from the broker (counted as the writer batches them).",
)
STORED = Counter("liftwatch_ingest_stored", "Events stored, by kind.", ["kind"])
DUPLICATES = Counter("liftwatch_ingest_duplicates", "Re-deliveries of events already stored.")
REJECTED = Counter("liftwatch_ingest_rejected", "Messages dead-lettered, by reason.", ["reason"])
ACKED = Counter("liftwatch_ingest_acknowledged", "Messages acknowledged to the broker.")
DB_ERRORS = Counter("liftwatch_ingest_db_errors", "Batch writes that failed and were retried.")
BATCH_SIZE = Histogram(
    "liftwatch_ingest_batch_size",
    "Messages per committed batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000),
)
BATCH_SECONDS = Histogram(
    "liftwatch_ingest_batch_seconds",
    "Time to authorize, write and commit one batch.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge("liftwatch_ingest_queue_depth", "Decoded messages waiting for the writer.")
OLDEST_UNACKED = Gauge(
    "liftwatch_ingest_oldest_unacked_seconds",
    "Age of the oldest message received but not yet acknowledged.",
)
CONNECTED = Gauge("liftwatch_ingest_connected", "1 while connected to the broker.")


def record(result: IngestResult, seconds: float, size: int) -> None:
    """Count one committed batch."""
    for kind, n in result.stored_by_kind.items():
        STORED.labels(kind).inc(n)
    DUPLICATES.inc(result.duplicates)
    for reason, n in result.rejected.items():
        REJECTED.labels(reason).inc(n)
    BATCH_SIZE.observe(size)
    BATCH_SECONDS.observe(seconds)
