"""The MQTT worker against a real Mosquitto and PostgreSQL: every message accounted for."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import Settings
from ingest.worker import Worker, broker_address
from tests.ingest.factories import T0, add_register, payload
from tests.ingest.factories import mqtt as message
from tests.ingest.mqtt_support import counts, publish, wait_for
from tests.support.servers import Mosquitto

END = T0 + timedelta(days=30)


@pytest.fixture
def broker(mosquitto: Mosquitto) -> Mosquitto:
    return mosquitto


def _pending_for(url: str, client_id: str) -> int:
    """Messages the broker still holds for a session: it re-sends them when the client returns."""
    host, port = broker_address(url)
    got: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_message = lambda *_: got.append(1)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 60
    client.connect(host, port, clean_start=False, properties=props)
    client.loop_start()
    time.sleep(1.5)
    client.disconnect()
    client.loop_stop()
    return len(got)


def test_a_mixed_stream_is_stored_once_and_every_bad_message_dead_lettered(
    conn: psycopg.Connection[Any], db_url: str, broker: Mosquitto
) -> None:
    add_register(conn, {"U1": [("C1", T0 - timedelta(days=365), None)],
                        "U2": [("C1", T0 - timedelta(days=365), END), ("C2", END, None)]})  # fmt: skip
    rng = random.Random(7)
    valid = [
        message("C1", "U1", "status", payload("status", at=T0 + timedelta(seconds=n)))
        for n in range(1500)
    ]
    valid += [message("C1", "U1", kind, payload(kind, at=T0 - timedelta(days=n))) for n, kind in
              enumerate(("fault", "inspection", "maintenance"), start=1)]  # fmt: skip
    valid.append(message("C2", "U2", "fault", payload("fault", at=END + timedelta(hours=1))))
    duplicates = rng.sample(valid, 150)
    bad = [
        ("liftwatch/v1/C1/U1/fault", b"{not json"),
        message("C1", "U1", "fault", payload("fault", code="ZZ")),
        ("liftwatch/v1/C1/U1/elevator", orjson.dumps(payload("fault"))),
        ("liftwatch/v1/C1/U1", orjson.dumps(payload("fault"))),
        ("liftwatch/v1/C 1/U1/fault", orjson.dumps(payload("fault"))),
        message("C1", "U404", "fault", payload("fault")),
        message("C1", "U2", "fault", payload("fault", at=END + timedelta(days=1))),
        message("C1", "U1", "fault", payload("fault", at=datetime.now(UTC) + timedelta(days=1))),
        message(
            "C1", "U1", "fault", payload("fault", description="x" * 1900) | {"pad": "y" * 70000}
        ),
    ]
    stream = valid + duplicates + bad
    rng.shuffle(stream)  # out of order in time and kinds interleaved

    settings = Settings(
        database_url=db_url, broker_url=broker.url, ingest_client_id="t-mixed",
        ingest_metrics_port=0, ingest_batch_size=200, ingest_batch_max_wait=0.05,
    )  # fmt: skip
    worker = Worker(settings, database_url=db_url, broker_url=broker.url)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    runner.start()
    try:
        wait_for(lambda: worker.generation > 0, timeout=10, what="worker connected")
        wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
        publish(broker.url, stream)
        wait_for(
            lambda: worker.totals.total >= len(stream), timeout=30, what="every message written"
        )
    finally:
        worker.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()

    assert worker.totals.stored == len(valid)
    assert worker.totals.duplicates == len(duplicates)
    assert dict(worker.totals.rejected) == {
        "malformed_json": 1, "schema_violation": 1, "unknown_kind": 1, "bad_topic": 2,
        "unknown_unit": 1, "not_maintainer": 1, "future_timestamp": 1, "oversized": 1,
    }  # fmt: skip
    assert counts(db_url) == {
        "fault": 2,
        "inspection": 1,
        "maintenance": 1,
        "status": 1500,
        "dead": 9,
    }
    assert _pending_for(broker.url, "t-mixed") == 0, "every message was acknowledged"


def test_mqtt_3_1_1_worker_and_publisher_are_accepted(
    conn: psycopg.Connection[Any], db_url: str, broker: Mosquitto
) -> None:
    add_register(conn, {"U1": [("C1", T0 - timedelta(days=365), None)]})
    stream = [
        message("C1", "U1", "status", payload("status", at=T0 + timedelta(seconds=n)))
        for n in range(300)
    ]
    settings = Settings(
        database_url=db_url, broker_url=broker.url, ingest_client_id="t-v311", ingest_protocol="3.1.1",
        ingest_metrics_port=0, ingest_batch_max_wait=0.05,
    )  # fmt: skip
    worker = Worker(settings, database_url=db_url, broker_url=broker.url)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    runner.start()
    try:
        wait_for(lambda: worker.generation > 0, timeout=10, what="worker connected")
        wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
        host, port = broker_address(broker.url)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.connect(host, port)
        client.loop_start()
        for info in [client.publish(topic, raw, qos=1) for topic, raw in stream]:
            info.wait_for_publish(timeout=30)
        client.disconnect()
        client.loop_stop()
        wait_for(lambda: worker.totals.stored == len(stream), timeout=30, what="stream stored")
    finally:
        worker.stop()
        runner.join(timeout=30)
    assert counts(db_url)["status"] == len(stream)


def test_a_writer_failure_stops_the_worker_without_acknowledging(
    conn: psycopg.Connection[Any], db_url: str, broker: Mosquitto
) -> None:
    add_register(conn, {"U1": [("C1", T0 - timedelta(days=365), None)]})
    conn.execute("ALTER TABLE status_sample RENAME TO status_sample_away")
    settings = Settings(
        database_url=db_url, broker_url=broker.url, ingest_client_id="t-fail",
        ingest_metrics_port=0, ingest_batch_max_wait=0.05,
    )  # fmt: skip
    worker = Worker(settings, database_url=db_url, broker_url=broker.url)
    exit_code: list[int] = []
    runner = threading.Thread(target=lambda: exit_code.append(worker.run(install_signals=False)))
    runner.start()
    wait_for(lambda: worker.generation > 0, timeout=10, what="worker connected")
    wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
    publish(broker.url, [message("C1", "U1", "status", payload("status"))])
    runner.join(timeout=30)
    assert exit_code == [1]
    assert _pending_for(broker.url, "t-fail") == 1, "the broker still holds the unstored message"
