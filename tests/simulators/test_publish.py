"""Publishing over a real Mosquitto, checked by a real subscriber: every message accounted for."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.errors import ConfigError
from simulators.faults import FaultPlan
from simulators.model import simulate
from simulators.publish import publish
from simulators.scenario import load_scenario
from tests.simulators.accounting import classify
from tests.support.servers import Mosquitto, free_port


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto that queues without limit for a slow subscriber (its default drops
    QoS 1 messages beyond 1000 queued, which would hide the publisher's own accounting)."""
    server = Mosquitto(tmp_path / "mosquitto", extra_conf="max_queued_messages 0").start()
    yield server
    server.stop()


class Subscriber:
    """A paho client that records every message under liftwatch/v1/#."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-sub-{port}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("liftwatch/v1/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, r, p: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), "subscription not acknowledged"

    def _on_message(self, client: object, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload))

    def wait_for(self, n: int, timeout: float = 30.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < n:
            time.sleep(0.05)
        time.sleep(0.2)  # nothing more must arrive
        self.client.disconnect()
        self.client.loop_stop()
        return list(self.messages)


def test_subscriber_accounts_for_every_message_including_injected_faults(broker: Mosquitto) -> None:
    scenario = load_scenario("seed-cases")
    events = list(simulate(scenario, start=date(2022, 9, 1), end=date(2023, 5, 1), seed=3).events())
    plan = FaultPlan(
        duplicates=25,
        out_of_order=10,
        late=4,
        malformed=6,
        schema_violations=8,
        unknown_units=4,
        wrong_contractor=5,
        oversized=2,
        offline=2,
        seed=9,
        oversized_bytes=300_000,
    )
    sub = Subscriber(broker.port)
    report = publish(events, broker.url, inject=plan, max_inflight=20, client_id="test-pub")
    received = sub.wait_for(report.sent)

    assert len(received) == report.sent
    categories, valid_ids = classify(received, scenario)
    assert categories["malformed"] == report.malformed == 6
    assert categories["schema_violation"] == report.schema_violations == 8
    assert categories["unknown_unit"] == report.unknown_units == 4
    assert categories["wrong_contractor"] == report.wrong_contractor == 5
    assert categories["oversized"] == report.oversized == 2
    assert len(valid_ids) == report.valid_distinct
    assert sum(valid_ids.values()) - len(valid_ids) == report.duplicates == 25
    assert report.dead_letters_expected == 25
    assert report.offline_units == 2
    assert report.valid_distinct == len(events) - report.suppressed + report.offline_units
    assert report.refused == 0


def test_worker_processes_and_paced_clock_lose_nothing(broker: Mosquitto) -> None:
    scenario = load_scenario("seed-cases").subset({"DXYX-02-1", "RFXS-01-1", "HTRD-01-1"})
    sim = simulate(
        scenario,
        start=date(2022, 1, 1),
        end=date(2022, 1, 2),
        seed=1,
        status_every=timedelta(minutes=5),
    )
    events = list(sim.events())
    sub = Subscriber(broker.port)
    started = time.monotonic()
    # One simulated day in about two seconds of wall time.
    report = publish(events, broker.url, processes=2, speed=43_200, max_inflight=10)
    elapsed = time.monotonic() - started
    received = sub.wait_for(report.sent)

    assert report.sent == report.valid_distinct == len(events) == len(received)
    assert {(t, p) for t, p in received} == {(e.topic, e.encode()) for e in events}
    assert elapsed >= 1.5
    # Each unit's messages arrive in its own order even when spread over processes.
    for unit in ("DXYX-02-1", "RFXS-01-1"):
        mine = [p for t, p in received if f"/{unit}/" in t]
        assert mine == [e.encode() for e in events if e.unit_id == unit]


def test_an_unreachable_broker_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="cannot reach"):
        publish([], f"mqtt://127.0.0.1:{free_port()}")


def test_publishing_survives_a_broker_restart(tmp_path: Path) -> None:
    server = Mosquitto(tmp_path / "persistent", persistence=True).start()
    try:
        scenario = load_scenario("seed-cases").subset({"DXYX-02-1", "RFXS-01-1"})
        events = list(
            simulate(
                scenario,
                start=date(2022, 1, 1),
                end=date(2022, 1, 3),
                seed=1,
                status_every=timedelta(seconds=30),
            ).events()
        )

        def bounce() -> None:
            time.sleep(1.0)
            server.restart()

        restarter = threading.Thread(target=bounce)
        restarter.start()
        # Two simulated days in about four seconds, so the restart falls in the middle.
        report = publish(events, server.url, speed=43_200, max_inflight=50)
        restarter.join()
        assert report.reconnects >= 1
        assert report.sent == report.valid_distinct == len(events)
    finally:
        server.stop()
