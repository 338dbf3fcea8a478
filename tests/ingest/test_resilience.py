"""Crashes and outages mid-stream: nothing lost, nothing stored twice."""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core import migrate
from ingest.stats import scrape
from tests.ingest.factories import T0, add_register, mqtt, payload
from tests.ingest.mqtt_support import (
    counts,
    publish,
    start_worker,
    stop_worker,
    wait_for,
    worker_env,
)
from tests.support.servers import Mosquitto, PrivatePostgres, free_port


def _stream(n: int, unit: str = "U1") -> list[tuple[str, bytes]]:
    return [
        mqtt("C1", unit, "status", payload("status", at=T0 + timedelta(seconds=i)))
        for i in range(n)
    ]


def _register(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        add_register(conn, {"U1": [("C1", T0 - timedelta(days=365), None)]})


def _connected(log: Path, times: int = 1) -> bool:
    return log.exists() and log.read_text().count("subscribing to") >= times


def _stored(url: str) -> int:
    return counts(url)["status"]


def _publish_in_background(url: str, messages: list[tuple[str, bytes]]) -> threading.Thread:
    thread = threading.Thread(target=publish, args=(url, messages), daemon=True)
    thread.start()
    return thread


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "mosquitto", persistence=True).start()
    yield server
    server.stop()


def test_kill_9_mid_stream_then_restart_loses_nothing_and_stores_nothing_twice(
    db_url: str, broker: Mosquitto, tmp_path: Path
) -> None:
    _register(db_url)
    stream = _stream(8000)
    env = worker_env(db_url, broker.url, client_id="t-kill", batch_size=300)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    wait_for(lambda: _connected(log), timeout=20, what="worker subscribed")
    publisher = _publish_in_background(broker.url, stream)
    wait_for(lambda: _stored(db_url) >= 1500, timeout=30, what="first batches stored")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    stored_at_kill = _stored(db_url)
    assert stored_at_kill < len(stream), "the kill came mid-stream"

    worker = start_worker(env, log)
    publisher.join(timeout=60)
    wait_for(lambda: _stored(db_url) >= len(stream), timeout=60, what="the whole stream stored")
    assert stop_worker(worker) == 0
    assert counts(db_url) == {
        "fault": 0,
        "inspection": 0,
        "maintenance": 0,
        "status": len(stream),
        "dead": 0,
    }


def test_database_restart_mid_stream_is_ridden_out(tmp_path: Path) -> None:
    # The cluster's directory must be reachable by the postgres user, unlike pytest's tmp_path.
    with tempfile.TemporaryDirectory(prefix="liftwatch-pg-") as pgdir:
        Path(pgdir).chmod(0o755)
        pg = PrivatePostgres(Path(pgdir) / "cluster").start()
        broker = Mosquitto(tmp_path / "mosquitto").start()
        worker = None
        try:
            migrate.upgrade(pg.url)
            _register(pg.url)
            stream = _stream(8000)
            env = worker_env(pg.url, broker.url, client_id="t-pg", batch_size=300)
            log = tmp_path / "worker.log"
            worker = start_worker(env, log)
            wait_for(lambda: _connected(log), timeout=20, what="worker subscribed")
            publisher = _publish_in_background(broker.url, stream)
            wait_for(lambda: _stored(pg.url) >= 1500, timeout=30, what="first batches stored")
            pg.stop(mode="immediate")
            time.sleep(2)
            pg.start()
            publisher.join(timeout=60)
            wait_for(
                lambda: _stored(pg.url) >= len(stream), timeout=90, what="the whole stream stored"
            )
            assert "database unavailable" in log.read_text()
            assert stop_worker(worker) == 0
            worker = None
            assert counts(pg.url)["status"] == len(stream)
            assert counts(pg.url)["dead"] == 0
        finally:
            if worker is not None:
                worker.kill()
            broker.stop()
            pg.stop(mode="immediate")


def test_broker_restart_mid_stream_loses_nothing(
    db_url: str, broker: Mosquitto, tmp_path: Path
) -> None:
    _register(db_url)
    first, second = _stream(6000)[:4000], _stream(6000)[4000:]
    env = worker_env(db_url, broker.url, client_id="t-broker", batch_size=300)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    wait_for(lambda: _connected(log), timeout=20, what="worker subscribed")
    publish(broker.url, first)
    broker.restart()
    publish(broker.url, second)
    wait_for(lambda: _stored(db_url) >= 6000, timeout=60, what="the whole stream stored")
    assert _connected(log, times=2), "the worker reconnected by itself"
    assert "session present: True" in log.read_text(), (
        "the broker kept the session across its restart"
    )
    assert stop_worker(worker) == 0
    assert counts(db_url)["status"] == 6000


def test_two_workers_on_a_shared_subscription_split_the_stream(
    db_url: str, broker: Mosquitto, tmp_path: Path
) -> None:
    _register(db_url)
    stream = _stream(6000)
    ports = [free_port(), free_port()]
    workers = []
    for n, port in enumerate(ports):
        env = worker_env(db_url, broker.url, client_id=f"t-share-{n}", shared_group="ingest",
                         metrics_port=port, batch_size=200)  # fmt: skip
        log = tmp_path / f"worker{n}.log"
        workers.append(start_worker(env, log))
        wait_for(lambda log=log: _connected(log), timeout=20, what=f"worker {n} subscribed")
    publish(broker.url, stream)
    wait_for(lambda: _stored(db_url) >= len(stream), timeout=60, what="the whole stream stored")
    shares: list[Any] = []
    for port in ports:
        metrics = scrape(f"http://127.0.0.1:{port}/metrics")
        shares.append(metrics.get("liftwatch_ingest_stored_total{kind=status}", 0))
    for worker in workers:
        assert stop_worker(worker) == 0
    assert sum(shares) == len(stream), shares
    assert all(share > 0 for share in shares), shares
    assert counts(db_url)["status"] == len(stream)
