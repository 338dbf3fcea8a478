"""The demo's live fleet: status samples and the odd fault or entrapment, stamped with the current
time and published over MQTT like a controller would, at a gentle rate.

Each unit reports its status every ``status_every`` seconds (spread over the period, so the
broker sees a steady trickle); somewhere in the fleet a fault happens every ``fault_every``
seconds on average, one in three an entrapment. One unit stops reporting after ``silent_after``
seconds, so the alert feed shows a unit gone silent as well.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import paho.mqtt.client as paho

from core.contracts import topic_for
from ingest.worker import broker_address

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveUnit:
    """A unit the live simulator speaks for, and the contractor whose topic it publishes under."""

    unit_id: str
    contractor_id: str


class LiveFleet:
    """A thread publishing the fleet's live events until stopped."""

    def __init__(
        self,
        units: list[LiveUnit],
        broker_url: str,
        *,
        status_every: float = 300.0,
        fault_every: float = 60.0,
        silent_after: float = 1200.0,
        seed: int = 7,
    ) -> None:
        self.units = units
        self.status_every = status_every
        self.fault_every = fault_every
        self.silent_after = silent_after
        self.random = random.Random(seed)
        self.published = 0
        self._stop = threading.Event()
        self._host, self._port = broker_address(broker_url)
        self._client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"liftwatch-demo-live-{uuid.uuid4().hex[:8]}",
        )
        self._thread = threading.Thread(target=self._run, name="demo-live", daemon=True)

    def start(self) -> LiveFleet:
        """Connect and start publishing."""
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.connect_async(self._host, self._port)
        self._client.loop_start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop publishing and disconnect."""
        self._stop.set()
        self._thread.join(timeout=10)
        self._client.disconnect()
        self._client.loop_stop()

    def _publish(self, unit: LiveUnit, kind: str, body: dict[str, object]) -> None:
        body = {
            "v": 1,
            "event_id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(),
            **body,
        }
        self._client.publish(
            topic_for(unit.contractor_id, unit.unit_id, kind), orjson.dumps(body), qos=1
        )
        self.published += 1

    def _run(self) -> None:
        if not self.units:
            return
        started = time.monotonic()
        tick = 1.0
        per_tick = len(self.units) * tick / self.status_every
        owed, turn = 0.0, 0
        silent = self.units[-1]
        while not self._stop.wait(tick):
            owed += per_tick
            while owed >= 1:
                owed -= 1
                unit = self.units[turn % len(self.units)]
                turn += 1
                if unit == silent and time.monotonic() - started > self.silent_after:
                    continue
                self._publish(unit, "status", {"online": True, "in_service": True})
            if self.random.random() < tick / self.fault_every:
                unit = self.random.choice(self.units[:-1] or self.units)
                if self.random.random() < 1 / 3:
                    fault = {"code": "93", "entrapment": True, "passengers_trapped": 1}
                else:
                    fault = {"code": self.random.choice(["02", "03", "07"])}
                self._publish(unit, "fault", fault)
