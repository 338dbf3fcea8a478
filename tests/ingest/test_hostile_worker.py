"""The worker against hostile producers and failures, with a real Mosquitto and PostgreSQL.

No message can stop it (the regression corpus goes through a worker process); when a thread it
needs dies anyway, the watchdog ends the process at once with a non-zero code; it is back within
a second of the broker's return; its metrics listen on loopback.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from core.settings import Settings
from ingest.worker import Worker
from tests.ingest.factories import T0, add_register, payload
from tests.ingest.mqtt_support import (
    counts,
    publish,
    start_worker,
    stop_worker,
    wait_for,
    worker_env,
)
from tests.ingest.test_fuzz import corpus
from tests.support.servers import Mosquitto, free_port


def _settings(db_url: str, broker_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url, "broker_url": broker_url, "ingest_client_id": f"t-{free_port()}",
        "ingest_metrics_port": 0, "ingest_batch_max_wait": 0.05,
    }  # fmt: skip
    return Settings(**(values | extra))


class Running:
    """A worker running in a thread of the test, with its exit code once it returns."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        self.code = self.worker.run(install_signals=False)

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)


def test_the_corpus_cannot_stop_a_worker_process(
    conn: psycopg.Connection[Any], db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    add_register(conn, {"U1": [("C1", T0.replace(year=2000), None)]})
    env = worker_env(db_url, mosquitto.url, client_id="t-corpus")
    proc = start_worker(env, tmp_path / "worker.log")
    try:
        wait_for(
            lambda: b"subscribing" in (tmp_path / "worker.log").read_bytes(), what="subscribed"
        )
        cases = corpus()
        publish(mosquitto.url, [(c["topic"], raw) for c, raw in cases])
        good = payload("fault")
        publish(mosquitto.url, [("liftwatch/v1/C1/U1/fault", orjson.dumps(good))])
        wait_for(lambda: counts(db_url)["fault"] == 1, timeout=30, what="the valid event stored")
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()
        letters = conn.execute("SELECT reason, payload FROM dead_letter").fetchall()
        assert sorted((r["reason"], bytes(r["payload"])) for r in letters) == sorted(
            (c["reason"], raw) for c, raw in cases
        )
    finally:
        assert stop_worker(proc) == 0


# The injected exception kills paho's thread on purpose; pytest would report it as a warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_watchdog_ends_the_worker_when_paho_s_thread_dies(
    db_url: str, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker(_settings(db_url, mosquitto.url), database_url=db_url, broker_url=mosquitto.url)

    def broken(*_args: Any) -> None:
        raise RuntimeError("injected failure")

    worker._enqueue = broken  # type: ignore[method-assign]
    running = Running(worker)
    try:
        wait_for(lambda: worker.generation > 0, timeout=10, what="worker connected")
        wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
        publish(mosquitto.url, [("liftwatch/v1/C1/U1/fault", orjson.dumps(payload("fault")))])
        running.thread.join(timeout=10)
    finally:
        running.stop()
    assert running.code == 1
    assert "RuntimeError: injected failure" in caplog.text
    assert "network thread died" in caplog.text


def test_the_watchdog_ends_the_worker_when_the_writer_dies(
    db_url: str, mosquitto: Mosquitto
) -> None:
    worker = Worker(_settings(db_url, mosquitto.url), database_url=db_url, broker_url=mosquitto.url)

    def broken(_batch: Any) -> None:
        raise RuntimeError("injected failure")

    worker._write = broken  # type: ignore[method-assign]
    running = Running(worker)
    try:
        wait_for(lambda: worker.generation > 0, timeout=10, what="worker connected")
        wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
        publish(mosquitto.url, [("liftwatch/v1/C1/U1/fault", orjson.dumps(payload("fault")))])
        running.thread.join(timeout=10)
    finally:
        running.stop()
    assert running.code == 1


def test_unreachable_broker_is_reported_and_rejoined_within_a_second(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    broker = Mosquitto(tmp_path / "late")
    worker = Worker(_settings(db_url, broker.url), database_url=db_url, broker_url=broker.url)
    running = Running(worker)
    try:
        wait_for(lambda: "unreachable" in caplog.text, timeout=10, what="an unreachable warning")
        broker.start()
        back = time.monotonic()
        wait_for(lambda: worker.generation > 0, timeout=10, what="worker connected")
        assert time.monotonic() - back < 2.0
    finally:
        running.stop()
        broker.stop()
    assert caplog.text.count("unreachable") == 1  # once per 10 s, not once per attempt


def test_metrics_listen_on_loopback_by_default(db_url: str, mosquitto: Mosquitto) -> None:
    settings = _settings(db_url, mosquitto.url, ingest_metrics_port=free_port())
    assert Settings().ingest_metrics_host == "127.0.0.1"
    worker = Worker(settings, database_url=db_url, broker_url=mosquitto.url)
    server = worker.serve_metrics()
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
