"""Controllers: publish a simulation's events over MQTT (QoS 1), losing none.

paho refuses a QoS 1 message without raising when its queue is full (MQTT_ERR_QUEUE_SIZE), so every
publish's return code is checked, the messages in flight are bounded by a semaphore released when
the broker acknowledges (on_publish), and publish() returns only when every message is acknowledged.
A message paho accepted while disconnected (MQTT_ERR_NO_CONN) is queued by paho and sent on
reconnection, so it is not published twice.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from core.broker import configure_client, parse_broker_url, redact
from core.errors import ConfigError, LiftwatchError
from core.settings import get_settings
from simulators import faults
from simulators.faults import DUPLICATE, FaultPlan, InjectionCounts, Message
from simulators.model import SimEvent

Progress = Callable[[int, int], None]  # (messages sent, messages acknowledged)
ACK_TIMEOUT_S = 120.0
BATCH = 500


@dataclass
class PublishReport:
    """What was published: every message acknowledged by the broker, accounted by category."""

    sent: int = 0  # messages published and acknowledged
    valid_distinct: int = 0  # distinct valid events (each must be stored once)
    valid_by_kind: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0  # re-sent valid events (same event_id and bytes)
    out_of_order: int = 0  # valid events sent after later ones (included in valid_distinct)
    late: int = 0  # valid events held back a week of event time (included in valid_distinct)
    malformed: int = 0
    schema_violations: int = 0
    unknown_units: int = 0
    wrong_contractor: int = 0
    oversized: int = 0
    offline_units: int = 0  # units that sent online=false and fell silent
    suppressed: int = 0  # events of offline units never sent
    refused: int = 0  # acknowledgements carrying a failure reason code
    queue_full_retries: int = 0
    reconnects: int = 0  # connections re-established while publishing (nothing lost)
    processes: int = 1
    seconds: float = 0.0

    @property
    def dead_letters_expected(self) -> int:
        """Messages that ingestion must reject: malformed, schema, unknown unit, wrong
        contractor, oversized."""
        return (
            self.malformed
            + self.schema_violations
            + self.unknown_units
            + self.wrong_contractor
            + self.oversized
        )

    def summary(self) -> str:
        """Lines for people."""
        rate = self.sent / self.seconds if self.seconds else 0.0
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.valid_by_kind.items()))
        return "\n".join(
            [
                f"published {self.sent} messages in {self.seconds:.1f} s ({rate:,.0f}/s, "
                f"{self.processes} process(es)); broker refused {self.refused}; "
                f"reconnections {self.reconnects}",
                f"valid distinct events: {self.valid_distinct} ({kinds})",
                f"  of which out of order {self.out_of_order}, late {self.late}",
                f"duplicates: {self.duplicates}; offline units: {self.offline_units} "
                f"({self.suppressed} events not sent)",
                f"bad messages: malformed {self.malformed}, schema violations "
                f"{self.schema_violations}, unknown units {self.unknown_units}, wrong contractor "
                f"{self.wrong_contractor}, oversized {self.oversized} "
                f"(total {self.dead_letters_expected})",
            ]
        )


def publish(
    events: Iterable[SimEvent],
    broker_url: str,
    *,
    client_id: str | None = None,
    max_inflight: int = 1000,
    speed: float | None = None,
    inject: FaultPlan | None = None,
    progress: Progress | None = None,
    processes: int = 1,
) -> PublishReport:
    """Publish the events (with injected faults) to liftwatch/v1/{contractor}/{unit}/{kind} at QoS 1;
    speed None = as fast as possible, else event-time seconds per wall second (1 = real time)."""
    if speed is not None and speed <= 0:
        raise ConfigError("speed must be positive (1 = real time) or None for as fast as possible")
    started = time.perf_counter()
    counts = InjectionCounts()
    messages = _paced(faults.inject(events, inject, counts), speed)
    client_id = client_id or f"liftwatch-sim-{os.getpid()}"
    if processes <= 1:
        sent, refused, retries, reconnects = _publish_here(
            messages, broker_url, client_id, max_inflight, progress
        )
    else:
        sent, refused, retries, reconnects = _publish_spread(
            messages, broker_url, client_id, max_inflight, progress, processes
        )
    by = counts.sent
    return PublishReport(
        sent=sent,
        valid_distinct=sum(counts.valid.values()),
        valid_by_kind=dict(counts.valid),
        duplicates=by[DUPLICATE],
        out_of_order=counts.out_of_order,
        late=counts.late,
        malformed=by["malformed"],
        schema_violations=by["schema_violation"],
        unknown_units=by["unknown_unit"],
        wrong_contractor=by["wrong_contractor"],
        oversized=by["oversized"],
        offline_units=counts.offline_units,
        suppressed=counts.suppressed,
        refused=refused,
        queue_full_retries=retries,
        reconnects=reconnects,
        processes=max(1, processes),
        seconds=time.perf_counter() - started,
    )


def _paced(messages: Iterator[Message], speed: float | None) -> Iterator[Message]:
    if speed is None:
        yield from messages
        return
    origin: float | None = None
    wall0 = time.monotonic()
    for message in messages:
        if origin is None:
            origin = message.at
        delay = wall0 + (message.at - origin) / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield message


class _Publisher:
    """One paho client with a bounded window of unacknowledged messages."""

    def __init__(self, broker_url: str, client_id: str, max_inflight: int) -> None:
        address = parse_broker_url(broker_url)
        self.window = threading.BoundedSemaphore(max_inflight)
        self.lock = threading.Condition()
        self.published = 0
        self.acked = 0
        self.refused = 0
        self.retries = 0
        self.reconnects = 0
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        # Credentials and TLS (mqtts://, LIFTWATCH_BROKER_CA_FILE) as every liftwatch client.
        configure_client(self.client, address, get_settings().broker_ca_file)
        # The semaphore is the window. paho's own in-flight limit stays off: with it on, every
        # acknowledgement scans all unacknowledged messages (quadratic in the window).
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 5)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        try:
            self.client.connect(address.host, address.port, keepalive=30)
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the MQTT broker at {redact(broker_url)}: {exc}"
            ) from exc
        self.client.loop_start()
        if not self.connected.wait(15):
            self.client.loop_stop()
            raise ConfigError(
                f"the MQTT broker at {redact(broker_url)} did not accept the connection "
                "(for a broker with users: mqtt://CONTRACTOR:PASSWORD@host:port, made with "
                "`liftwatch broker add-contractor`)"
            )

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            if self.connected.is_set():
                self.reconnects += 1
            self.connected.set()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self.lock:
            self.acked += 1
            if reason.is_failure:
                self.refused += 1
            self.lock.notify_all()
        self.window.release()

    def send(self, topic: str, payload: bytes) -> None:
        self.window.acquire()
        while True:
            info = self.client.publish(topic, payload, qos=1)
            if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                break
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                self.retries += 1
                time.sleep(0.01)
                continue
            self.window.release()
            raise LiftwatchError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        with self.lock:
            self.published += 1

    def close(self) -> None:
        deadline = time.monotonic() + ACK_TIMEOUT_S
        with self.lock:
            while self.acked < self.published:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(min(left, 1.0))
            missing = self.published - self.acked
        self.client.disconnect()
        self.client.loop_stop()
        if missing:
            raise LiftwatchError(
                f"{missing} message(s) were not acknowledged within {ACK_TIMEOUT_S:.0f} s"
            )


def _publish_here(
    messages: Iterable[Message],
    broker_url: str,
    client_id: str,
    max_inflight: int,
    progress: Progress | None,
) -> tuple[int, int, int, int]:
    pub = _Publisher(broker_url, client_id, max_inflight)
    try:
        for n, message in enumerate(messages, 1):
            pub.send(message.topic, message.payload)
            if progress is not None and n % 10_000 == 0:
                progress(n, pub.acked)
    finally:
        pub.close()
    if progress is not None:
        progress(pub.published, pub.acked)
    return pub.acked, pub.refused, pub.retries, pub.reconnects


def _worker(broker_url: str, client_id: str, max_inflight: int, inbox: Any, outbox: Any) -> None:
    try:
        pub = _Publisher(broker_url, client_id, max_inflight)
        try:
            while (batch := inbox.get()) is not None:
                for topic, payload in batch:
                    pub.send(topic, payload)
        finally:
            pub.close()
    except LiftwatchError as exc:
        while inbox.get() is not None:  # let the parent finish handing out work
            pass
        outbox.put(("error", exc.detail))
        return
    outbox.put((pub.acked, pub.refused, pub.retries, pub.reconnects))


def _hand(inbox: Any, item: Any, worker: Any) -> None:
    """Put work in a worker's inbox, failing instead of waiting for ever if the worker died."""
    while True:
        try:
            inbox.put(item, timeout=1.0)
            return
        except queue.Full:
            if not worker.is_alive():
                raise LiftwatchError("a publisher process died") from None


def _publish_spread(
    messages: Iterable[Message],
    broker_url: str,
    client_id: str,
    max_inflight: int,
    progress: Progress | None,
    processes: int,
) -> tuple[int, int, int, int]:
    """Spread messages over worker processes by unit, so each unit's order is kept."""
    ctx = mp.get_context("spawn")
    outbox = ctx.Queue()
    inboxes = [ctx.Queue(maxsize=64) for _ in range(processes)]
    workers = [
        ctx.Process(
            target=_worker,
            args=(broker_url, f"{client_id}-{k}", max_inflight, inboxes[k], outbox),
            daemon=True,
        )
        for k in range(processes)
    ]
    for w in workers:
        w.start()
    batches: list[list[tuple[str, bytes]]] = [[] for _ in range(processes)]
    n = 0
    try:
        for n, message in enumerate(messages, 1):
            k = zlib.crc32(message.topic.rsplit("/", 1)[0].encode()) % processes
            batches[k].append((message.topic, message.payload))
            if len(batches[k]) >= BATCH:
                _hand(inboxes[k], batches[k], workers[k])
                batches[k] = []
            if progress is not None and n % 10_000 == 0:
                progress(n, 0)
    finally:
        for k in range(processes):
            if batches[k] and workers[k].is_alive():
                _hand(inboxes[k], batches[k], workers[k])
            if workers[k].is_alive():
                _hand(inboxes[k], None, workers[k])
    results: list[Any] = []
    deadline = time.monotonic() + ACK_TIMEOUT_S + 60
    while len(results) < processes:
        try:
            results.append(outbox.get(timeout=1.0))
        except queue.Empty:
            if time.monotonic() > deadline or not any(w.is_alive() for w in workers):
                raise LiftwatchError("a publisher process ended without reporting") from None
    for w in workers:
        w.join(timeout=10)
    errors = [r[1] for r in results if r[0] == "error"]
    if errors:
        raise LiftwatchError(f"publisher process failed: {errors[0]}")
    acked = sum(r[0] for r in results)
    if acked != n:
        raise LiftwatchError(f"{n - acked} of {n} message(s) were not acknowledged")
    if progress is not None:
        progress(n, acked)
    refused, retries, reconnects = (sum(r[i] for r in results) for i in (1, 2, 3))
    return acked, refused, retries, reconnects
