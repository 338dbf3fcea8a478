"""The worker's paho client: buffered reads and batched PUBACKs, against a real Mosquitto."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.mqttclient import FastClient
from tests.support.servers import Mosquitto


def _session(port: int, got: list[mqtt.MQTTMessage], lock: threading.Lock) -> FastClient:
    client = FastClient(
        CallbackAPIVersion.VERSION2, client_id="fast-test", protocol=mqtt.MQTTv5, manual_ack=True
    )

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append(msg)

    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 600
    props.ReceiveMaximum = 10000
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    return client


def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [pub.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=30)
    pub.disconnect()
    pub.loop_stop()


def _wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_every_message_arrives_intact_across_buffer_boundaries(mosquitto: Mosquitto) -> None:
    # Sizes straddle the 64 KiB read buffer: packets split across reads, several per read, and
    # payloads larger than the buffer; a queued backlog arrives in large reads.
    sizes = [0, 1, 127, 128, 16_383, 16_384, 65_530, 65_536, 70_000, 200_000] + [250] * 3000
    messages = [
        (f"fast/{n}", bytes([n % 251]) * size + str(n).encode()) for n, size in enumerate(sizes)
    ]
    got: list[mqtt.MQTTMessage] = []
    lock = threading.Lock()
    client = _session(mosquitto.port, got, lock)
    assert client.fast_path
    client.subscribe("fast/#", qos=1)
    client.loop_start()
    try:
        time.sleep(0.3)
        _publish(mosquitto.port, messages)
        _wait_for(lambda: len(got) >= len(messages))
        assert [(m.topic, m.payload) for m in got] == messages
        client.ack_many([m.mid for m in got])
    finally:
        client.disconnect()
        client.loop_stop()


def test_ack_many_acknowledges_exactly_the_given_messages(mosquitto: Mosquitto) -> None:
    got: list[mqtt.MQTTMessage] = []
    lock = threading.Lock()
    client = _session(mosquitto.port, got, lock)
    client.subscribe("acks/#", qos=1)
    client.loop_start()
    time.sleep(0.3)
    messages = [(f"acks/{n}", str(n).encode()) for n in range(2000)]
    _publish(mosquitto.port, messages)
    _wait_for(lambda: len(got) == len(messages))
    acked = {bytes(m.payload) for m in got[::2]}
    client.ack_many([m.mid for m in got[::2]])
    time.sleep(0.5)  # let the network thread write them
    client.disconnect()
    client.loop_stop()

    # The same session again: the broker re-delivers exactly the messages left unacknowledged.
    again: list[mqtt.MQTTMessage] = []
    client = _session(mosquitto.port, again, lock)
    client.loop_start()
    try:
        _wait_for(lambda: len(again) >= 1000)
        time.sleep(0.5)
        assert sorted(bytes(m.payload) for m in again) == sorted(
            payload for _, payload in messages if payload not in acked
        )
        assert all(m.dup for m in again)
        client.ack_many([m.mid for m in again])
    finally:
        client.disconnect()
        client.loop_stop()


def test_per_topic_callbacks_are_refused() -> None:
    client = FastClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    with pytest.raises(NotImplementedError, match="on_message only"):
        client.message_callback_add("a/#", lambda *_: None)


def test_buffered_packets_are_handled_without_waiting_for_more_data(
    mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a tiny bound per pass, most reads leave complete packets in the buffer after the last
    # byte has arrived; they must be handled at once, not when the socket next becomes readable.
    monkeypatch.setattr("ingest.mqttclient._PACKETS_PER_PASS", 2)
    got: list[mqtt.MQTTMessage] = []
    lock = threading.Lock()
    client = _session(mosquitto.port, got, lock)
    client.subscribe("tail/#", qos=1)
    client.loop_start()
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()
    messages = [(f"tail/{n}", b"x") for n in range(3000)]
    _publish(mosquitto.port, messages)  # queued for the session while it is away

    got.clear()
    client = _session(mosquitto.port, got, lock)
    client.loop_start()
    try:
        _wait_for(lambda: len(got) >= len(messages), timeout=5)  # keepalive is 60 s
        client.ack_many([m.mid for m in got])
    finally:
        client.disconnect()
        client.loop_stop()
