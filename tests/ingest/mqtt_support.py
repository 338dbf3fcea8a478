"""MQTT helpers for ingestion tests: a small publisher, worker processes, waiting for results."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest.worker import broker_address

ROOT = Path(__file__).resolve().parents[2]


def publish(url: str, messages: Iterable[tuple[str, bytes]], *, client_id: str = "") -> int:
    """Publish at QoS 1 and wait until the broker acknowledged every message; return the count."""
    host, port = broker_address(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, raw, qos=1) for topic, raw in messages]
        for info in infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()


def worker_env(db_url: str, broker_url: str, **settings: Any) -> dict[str, str]:
    """Environment of a worker process for this test."""
    env = dict(os.environ)
    env.update(
        LIFTWATCH_DATABASE_URL=db_url,
        LIFTWATCH_BROKER_URL=broker_url,
        LIFTWATCH_INGEST_METRICS_PORT="0",
        LIFTWATCH_INGEST_BATCH_MAX_WAIT="0.05",
        LIFTWATCH_LOG_LEVEL="INFO",
    )
    env.update({f"LIFTWATCH_INGEST_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`liftwatch ingest` as a child process, logging to a file."""
    return subprocess.Popen(
        [sys.executable, "-m", "liftwatch.cli", "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        cwd=ROOT,
    )


def stop_worker(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then the exit code."""
    proc.terminate()
    return proc.wait(timeout=30)


def counts(url: str) -> dict[str, int]:
    """Stored rows per table and dead letters."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM fault_event), (SELECT count(*) FROM inspection_event), "
            "(SELECT count(*) FROM maintenance_event), (SELECT count(*) FROM status_sample), "
            "(SELECT count(*) FROM dead_letter)"
        ).fetchone()
    assert row is not None
    return dict(zip(("fault", "inspection", "maintenance", "status", "dead"), row, strict=True))


def wait_for(check: Callable[[], bool], *, timeout: float = 60, what: str = "condition") -> None:
    """Poll until check() is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except psycopg.OperationalError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
