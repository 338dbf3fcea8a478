"""Broker authentication and per-contractor authorization with Mosquitto's dynamic security.

A Mosquitto of the test's own runs with the plugin and anonymous access off, as in
deploy/mosquitto.conf; credentials are made with `liftwatch broker`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import Settings
from ingest.worker import Worker
from liftwatch.cli import main
from tests.ingest.factories import T0, add_register, payload
from tests.ingest.mqtt_support import counts, wait_for
from tests.support.servers import DEPLOY_CONF, Mosquitto, deploy_limits

ADMIN_PASSWORD = "admin-secret"
PLUGIN = next(
    (line.split(None, 1)[1] for line in DEPLOY_CONF.read_text().splitlines()
     if line.startswith("plugin ")),
    "",
)  # fmt: skip


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto with dynamic security and anonymous access off; admin / ADMIN_PASSWORD."""
    if not Path(PLUGIN).exists() or not shutil.which("mosquitto_ctrl"):
        pytest.skip("Mosquitto's dynamic-security plugin is not installed")
    workdir = tmp_path / "secured"
    workdir.mkdir()
    config = workdir / "dynamic-security.json"
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(config), "admin", ADMIN_PASSWORD],
        check=True, capture_output=True,
    )  # fmt: skip
    extra = [
        deploy_limits(),
        "allow_anonymous false",
        f"plugin {PLUGIN}",
        f"plugin_opt_config_file {config}",
    ]
    if os.geteuid() == 0:
        extra.append("user root")  # the plugin saves its file in the test's directory
    broker = Mosquitto(workdir, extra_conf="\n".join(extra)).start()
    yield broker
    broker.stop()


def _url(broker: Mosquitto, user: str, password: str) -> str:
    return f"mqtt://{user}:{password}@127.0.0.1:{broker.port}"


def _broker_cli(broker: Mosquitto, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run `liftwatch broker ...` as the admin; return the password it printed, if any."""
    os.environ["LIFTWATCH_BROKER_ADMIN_URL"] = _url(broker, "admin", ADMIN_PASSWORD)
    try:
        assert main(["broker", *args]) == 0
    finally:
        del os.environ["LIFTWATCH_BROKER_ADMIN_URL"]
    first = capsys.readouterr().out.splitlines()[0]
    return first.split("\t")[1] if "\t" in first else ""


@dataclass
class Client:
    """A paho client that records what happens to it."""

    broker: Mosquitto
    user: str | None = None
    password: str | None = None
    connect_reason: str | None = None
    published: dict[int, str] = field(default_factory=dict)
    disconnected: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if self.user:
            self.client.username_pw_set(self.user, self.password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda *_a: self.disconnected.set()
        self.client.connect("127.0.0.1", self.broker.port)
        self.client.loop_start()
        wait_for(lambda: self.connect_reason is not None, timeout=10, what="a CONNACK")

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connect_reason = str(reason)

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        self.published[mid] = str(reason)

    def publish(self, topic: str, body: dict[str, Any]) -> str:
        """Publish at QoS 1 and return the broker's PUBACK reason."""
        info = self.client.publish(topic, orjson.dumps(body), qos=1)
        wait_for(lambda: info.mid in self.published, timeout=10, what="a PUBACK")
        return self.published[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_contractors_publish_only_under_their_own_prefix_and_revocation_is_immediate(
    secured: Mosquitto,
    conn: psycopg.Connection[Any],
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_register(conn, {"U1": [("C1", T0.replace(year=2000), None)],
                        "U2": [("C2", T0.replace(year=2000), None)]})  # fmt: skip
    c1 = _broker_cli(secured, capsys, "add-contractor", "C1")
    worker_password = _broker_cli(secured, capsys, "add-worker", "ingest")
    assert c1 and worker_password

    anonymous = Client(secured)
    assert anonymous.connect_reason == "Not authorized"
    anonymous.close()
    wrong = Client(secured, "C1", "not-the-password")
    assert wrong.connect_reason != "Success"
    wrong.close()

    url = _url(secured, "ingest", worker_password)
    settings = Settings(database_url=db_url, broker_url=url, ingest_client_id="t-auth",
                        ingest_metrics_port=0, ingest_batch_max_wait=0.05)  # fmt: skip
    worker = Worker(settings, database_url=db_url, broker_url=url)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    runner.start()
    producer = Client(secured, "C1", c1)
    try:
        wait_for(lambda: worker.generation > 0, timeout=10, what="the worker connected")
        wait_for(lambda: worker.subscribed > 0, timeout=10, what="the subscription granted")
        assert producer.publish("liftwatch/v1/C1/U1/fault", payload("fault")) == "Success"
        spoofed = producer.publish("liftwatch/v1/C2/U2/fault", payload("fault"))
        assert spoofed == "Not authorized"
        wait_for(lambda: counts(db_url)["fault"] == 1, timeout=15, what="C1's event stored")

        assert _broker_cli(secured, capsys, "revoke", "C1") == ""
        assert producer.disconnected.wait(2), "revoking C1 did not close its connection"
        again = Client(secured, "C1", c1)
        assert again.connect_reason != "Success"
        again.close()
    finally:
        producer.close()
        worker.stop()
        runner.join(timeout=30)
    # The worker has stopped: everything it was sent is written; the spoofed event never came.
    stored = conn.execute("SELECT contractor_id, unit_id FROM fault_event").fetchall()
    assert stored == [{"contractor_id": "C1", "unit_id": "U1"}]
    assert counts(db_url)["dead"] == 0


def test_the_worker_stops_with_a_clear_message_when_its_credentials_are_refused(
    secured: Mosquitto, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = _url(secured, "ingest", "wrong")
    settings = Settings(database_url=db_url, broker_url=url, ingest_client_id="t-refused",
                        ingest_metrics_port=0)  # fmt: skip
    code = Worker(settings, database_url=db_url, broker_url=url).run(install_signals=False)
    assert code == 1
    assert "refused the worker's credentials" in caplog.text
    assert "wrong" not in caplog.text  # the password is never logged
