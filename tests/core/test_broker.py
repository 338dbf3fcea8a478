"""The local broker: started once per data directory, shared, reachable by a real MQTT client."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from core.broker import broker_url, stop_local_broker
from core.settings import Settings
from tests.support.servers import free_port


def _roundtrip(url: str, protocol: mqtt.MQTTProtocolVersion) -> bytes:
    host, port = url.removeprefix("mqtt://").split(":")
    got = threading.Event()
    received: list[bytes] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)

    def on_connect(c: mqtt.Client, *_: object) -> None:
        c.subscribe("liftwatch/v1/#", qos=1)

    def on_subscribe(c: mqtt.Client, *_: object) -> None:
        c.publish("liftwatch/v1/C1/U1/status", b"hello", qos=1)

    def on_message(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append(message.payload)
        got.set()

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect(host, int(port))
    client.loop_start()
    try:
        assert got.wait(10), "no message came back through the local broker"
    finally:
        client.loop_stop()
        client.disconnect()
    return received[0]


@pytest.mark.parametrize(
    ("kind", "protocol"),
    [("mosquitto", mqtt.MQTTProtocolVersion.MQTTv5), ("amqtt", mqtt.MQTTProtocolVersion.MQTTv311)],
)
def test_local_broker_starts_once_and_carries_messages(
    tmp_path: object, kind: str, protocol: mqtt.MQTTProtocolVersion
) -> None:
    settings = Settings(data_dir=tmp_path, local_broker=kind, local_broker_port=free_port())  # type: ignore[arg-type]
    url = broker_url(settings)
    try:
        assert url == f"mqtt://127.0.0.1:{settings.local_broker_port}"
        assert broker_url(settings) == url  # a second caller joins the running broker
        assert _roundtrip(url, protocol) == b"hello"
    finally:
        assert stop_local_broker(settings)
    assert not stop_local_broker(settings)


def test_configured_broker_url_is_used_as_is(tmp_path: object) -> None:
    settings = Settings(data_dir=tmp_path, broker_url="mqtt://broker.example:1883")  # type: ignore[arg-type]
    assert broker_url(settings) == "mqtt://broker.example:1883"


def test_local_broker_has_the_limits_of_the_shipped_config() -> None:
    from core.broker import MOSQUITTO_CONF
    from tests.support.servers import deploy_limits

    local = {
        line for line in MOSQUITTO_CONF.splitlines() if line.startswith(("max_", "persistent"))
    }
    assert local == set(deploy_limits().splitlines())
