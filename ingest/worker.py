"""The MQTT ingest worker: decode in the callback, batch in a writer thread, acknowledge after commit.

paho's network thread calls ``_on_message``, which only decodes and enqueues. The writer thread
takes batches (by size or age), authorizes and stores them in one transaction, and acknowledges
each message to the broker only once that transaction has committed (``manual_ack``). A message
the broker handed over is therefore either stored or dead-lettered, or not acknowledged and
delivered again: a crash between commit and acknowledgement yields a duplicate, which the
primary key absorbs and the metrics count.

Acknowledgements belong to one connection: after a reconnect, messages of the old connection are
still stored but not acknowledged (the broker re-delivers them and they count as duplicates).

A watchdog in the main thread exits the process (non-zero, after logging why) as soon as paho's
network thread or the writer thread has died, rather than staying alive and doing nothing: a
supervisor restarts it, and since decoding never raises, the same message cannot kill it again.
Refused credentials or a refused subscription also end the worker with a message saying what to
fix, since retrying cannot help.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from prometheus_client import start_http_server

from core import migrate
from core.broker import configure_client, parse_broker_url, redact
from core.db import APP_NAME
from core.errors import ConfigError
from core.settings import Settings
from ingest import metrics
from ingest.authorize import RegisterCache
from ingest.decode import Decoded, Message, decode, safe_text
from ingest.mqttclient import FastClient
from ingest.pipeline import IngestResult, limits_from, write_batch

log = logging.getLogger(__name__)

_DB_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)
_SUMMARY_EVERY = 10.0
_UNREACHABLE_EVERY = 10.0
_WATCH_EVERY = 0.2
# CONNACK reasons that retrying cannot fix: bad user name or password, not authorized, banned,
# bad authentication method (MQTT 5), and their MQTT 3.1.1 equivalents (4, 5).
_CREDENTIALS_REFUSED = {0x86, 0x87, 0x8A, 0x8C, 4, 5}


@dataclass(slots=True)
class Pending:
    """A decoded message waiting to be stored and acknowledged."""

    decoded: Decoded
    mid: int
    qos: int
    generation: int
    received: float


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of an ``mqtt[s]://[user:password@]host:port`` URL."""
    address = parse_broker_url(url)
    return address.host, address.port


def subscription(settings: Settings) -> str:
    """The topic filter to subscribe to, shared between workers when a group is set."""
    if settings.ingest_shared_group:
        return f"$share/{settings.ingest_shared_group}/{settings.ingest_topic}"
    return settings.ingest_topic


class Worker:
    """One ingest worker: an MQTT session, a bounded queue and a writer thread."""

    def __init__(self, settings: Settings, *, database_url: str, broker_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.broker_url = redact(broker_url)
        self.address = parse_broker_url(broker_url)
        self.host, self.port = self.address.host, self.address.port
        self.limits = limits_from(settings)
        self.register = RegisterCache(ttl=settings.ingest_register_refresh)
        # deque appends and pops are atomic: paho's thread appends, the writer pops.
        self.queue: collections.deque[Pending] = collections.deque()
        self.queue_size = settings.ingest_queue_size
        self.totals = IngestResult()
        self.generation = 0
        # Subscriptions the broker has granted (one per connection): from then on a message
        # published to the topic reaches this worker's session.
        self.subscribed = 0
        self.stopping = threading.Event()
        self.failed = False
        self.crash: str | None = None
        self._unreachable_logged = 0.0
        self._disconnected = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._batch_started: float | None = None
        self.client = self._make_client()
        metrics.QUEUE_DEPTH.set_function(lambda: len(self.queue))
        metrics.OLDEST_UNACKED.set_function(self._oldest_unacked)

    # -- MQTT side: runs in paho's network thread ---------------------------------------------

    def _make_client(self) -> FastClient:
        s = self.settings
        v5 = s.ingest_protocol == "5"
        client = FastClient(
            CallbackAPIVersion.VERSION2,
            client_id=s.ingest_client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        configure_client(client, self.address, s.broker_ca_file)
        # Small steps: after a broker restart the session is back within a second (the delay
        # never grows past ingest_reconnect_max_delay, paho's float arithmetic takes fractions).
        client.reconnect_delay_set(
            min_delay=s.ingest_reconnect_min_delay,  # type: ignore[arg-type]
            max_delay=s.ingest_reconnect_max_delay,  # type: ignore[arg-type]
        )
        client.on_connect = self._guard(self._on_connect)
        client.on_connect_fail = self._guard(self._on_connect_fail)
        client.on_disconnect = self._guard(self._on_disconnect)
        client.on_subscribe = self._guard(self._on_subscribe)
        client.on_message = self._guard(self._on_message)
        return client

    def _guard(self, callback: Any) -> Any:
        """The callback, noting why paho's thread is about to die if it raises."""

        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except BaseException as exc:
                self.crash = f"{callback.__name__} raised {type(exc).__name__}: {exc}"
                raise

        guarded.__name__ = callback.__name__
        return guarded

    def _fatal(self, why: str) -> None:
        """Stop at once with a non-zero exit code; the log says why."""
        log.error("%s", why)
        self.failed = True
        self.stopping.set()

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        metrics.CONNECTED.set(0)
        now = time.monotonic()
        if now - self._unreachable_logged >= _UNREACHABLE_EVERY:
            self._unreachable_logged = now
            log.warning(
                "the MQTT broker at %s is unreachable; retrying every %gs (nothing is lost: "
                "producers' messages wait in the broker)",
                self.broker_url, self.settings.ingest_reconnect_max_delay,
            )  # fmt: skip

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            if reason.value in _CREDENTIALS_REFUSED:
                self._fatal(
                    f"the broker at {self.broker_url} refused the worker's credentials ({reason}); "
                    "set LIFTWATCH_BROKER_URL=mqtt://USER:PASSWORD@host:port with the credentials "
                    "`liftwatch broker add-worker` printed"
                )
            else:
                log.error("broker refused the connection: %s", reason)
            return
        self._unreachable_logged = 0.0
        self.generation += 1
        metrics.CONNECTED.set(1)
        topic = subscription(self.settings)
        log.info(
            "connected to %s:%d as %s (session present: %s); subscribing to %s",
            self.host, self.port, self.settings.ingest_client_id, flags.session_present, topic,
        )  # fmt: skip
        if self.settings.ingest_protocol == "5":
            client.subscribe(topic, options=SubscribeOptions(qos=1))
        else:
            client.subscribe(topic, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        for code in codes:
            if code.is_failure:
                self._fatal(
                    f"the broker refused the subscription to {subscription(self.settings)} "
                    f"({code}); give the worker's broker user the right to subscribe to it "
                    "(`liftwatch broker add-worker`)"
                )
                return
        self.subscribed += 1

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        metrics.CONNECTED.set(0)
        if self.stopping.is_set():
            self._disconnected.set()
        if not self.stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self.stopping.is_set():
            return  # not acknowledged: the broker keeps it for the next session
        self._enqueue(self._decode(msg), msg)

    def _decode(self, msg: mqtt.MQTTMessage) -> Decoded:
        """The verdict on one message; never raises (see ``ingest.decode``)."""
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = safe_text(msg._topic.decode("utf-8", "backslashreplace"))
        return decode(
            Message(topic, None, None, None, bytes(msg.payload)), self.limits, datetime.now(UTC)
        )

    def _enqueue(self, decoded: Decoded, msg: mqtt.MQTTMessage) -> None:
        # Backpressure: pausing here stops paho reading from the socket. With Receive Maximum at or
        # below the queue size the broker's flow control stops first and this never waits.
        while len(self.queue) >= self.queue_size and not self.stopping.is_set():
            time.sleep(0.01)
        self.queue.append(Pending(decoded, msg.mid, msg.qos, self.generation, time.monotonic()))

    def _connect_properties(self) -> Properties | None:
        if self.settings.ingest_protocol != "5":
            return None
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.ingest_session_expiry
        props.ReceiveMaximum = self.settings.ingest_receive_maximum
        return props

    # -- database side: runs in the writer thread ---------------------------------------------

    def _oldest_unacked(self) -> float:
        started = self._batch_started
        if started is None:
            try:
                started = self.queue[0].received
            except IndexError:
                return 0.0
        return time.monotonic() - started

    def _collect(self) -> list[Pending]:
        """The next batch: waits for a first message, then up to the size or the time limit."""
        batch: list[Pending] = []
        size, wait = self.settings.ingest_batch_size, self.settings.ingest_batch_max_wait
        deadline = time.monotonic() + 0.2
        while len(batch) < size:
            try:
                batch.append(self.queue.popleft())
            except IndexError:
                # A short sleep instead of a condition variable: waking per message costs more.
                if time.monotonic() >= deadline or self.stopping.is_set():
                    break
                time.sleep(0.002)
                continue
            if len(batch) == 1:
                self._batch_started = batch[0].received
                deadline = time.monotonic() + wait
        # Counted here, once per batch, because a locked increment per message costs ~5% of a core.
        metrics.RECEIVED.inc(len(batch))
        return batch

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.database_url, autocommit=True, application_name=f"{APP_NAME}-ingest"
            )
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def _write(self, batch: list[Pending]) -> IngestResult | None:
        """Store a batch, retrying database outages with backoff; None if shutdown gave up."""
        delay, gave_up_at = 0.5, None
        while True:
            try:
                return write_batch(
                    self._connection(),
                    [p.decoded for p in batch],
                    source="mqtt",
                    register=self.register,
                    keep_items=False,
                )
            except _DB_ERRORS as exc:
                metrics.DB_ERRORS.inc()
                self._drop_connection()
                log.warning(
                    "database unavailable (%s); retrying %d messages in %.1fs",
                    exc,
                    len(batch),
                    delay,
                )
            if self.stopping.is_set():
                gave_up_at = gave_up_at or time.monotonic() + 10
                if time.monotonic() > gave_up_at:
                    log.error(
                        "shutting down with %d messages unstored and unacknowledged", len(batch)
                    )
                    return None
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _acknowledge(self, batch: list[Pending]) -> None:
        generation = self.generation
        # Subscriptions are QoS 1, so every message needs its PUBACK, all in one write.
        self.client.ack_many([p.mid for p in batch if p.qos == 1 and p.generation == generation])
        metrics.ACKED.inc(len(batch))

    def _writer(self) -> None:
        try:
            self._write_until_stopped()
        except Exception:
            # Nothing of the failed batch was acknowledged: the broker keeps it for the next run.
            log.exception("the writer failed; stopping without acknowledging its batch")
            self.failed = True
        finally:
            self.stopping.set()

    def _write_until_stopped(self) -> None:
        last_summary, last_total = time.monotonic(), 0
        while not (self.stopping.is_set() and not self.queue):
            batch = self._collect()
            if batch:
                started = time.perf_counter()
                result = self._write(batch)
                if result is None:
                    break
                self._acknowledge(batch)
                metrics.record(result, time.perf_counter() - started, len(batch))
                self.totals.add(result)
            self._batch_started = None
            # Only when something happened: an idle or cut-off worker does not repeat itself.
            if time.monotonic() - last_summary > _SUMMARY_EVERY and self.totals.total != last_total:
                last_summary, last_total = time.monotonic(), self.totals.total
                self._log_summary()
        self._log_summary()

    def _log_summary(self) -> None:
        t = self.totals
        log.info(
            "ingest totals: stored %d, duplicates %d, rejected %d, queue %d",
            t.stored, t.duplicates, sum(t.rejected.values()), len(self.queue),
            extra={"stored": t.stored, "duplicates": t.duplicates, "rejected": dict(t.rejected)},
        )  # fmt: skip

    # -- lifecycle -----------------------------------------------------------------------------

    def _prepare_database(self) -> None:
        """Make sure this year's and next year's partitions exist (plain PostgreSQL mode)."""
        delay = 0.5
        while not self.stopping.is_set():
            try:
                conn = self._connection()
                mode = conn.execute(
                    "SELECT value FROM liftwatch_meta WHERE key = 'mode'"
                ).fetchone()
                if mode is None:
                    raise ConfigError(
                        "the database has no liftwatch schema; run `liftwatch db upgrade`"
                    )
                if mode[0] == "postgres":
                    migrate.ensure_partitions(conn)
                return
            except _DB_ERRORS as exc:
                self._drop_connection()
                log.warning("database unavailable at start (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def stop(self, *_args: Any) -> None:
        """Stop taking messages; the writer stores and acknowledges what it holds, then exits."""
        self.stopping.set()

    def run(self, *, install_signals: bool = True) -> int:
        """Consume until SIGTERM/SIGINT (or ``stop()``); return an exit code."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._signal)
            signal.signal(signal.SIGINT, self._signal)
        self._prepare_database()
        self.serve_metrics()
        writer = threading.Thread(target=self._writer, name="ingest-writer", daemon=True)
        writer.start()
        session: dict[str, Any] = {}
        if self.settings.ingest_protocol == "5":
            session = {"clean_start": False, "properties": self._connect_properties()}
        self.client.connect_async(
            self.host, self.port, keepalive=self.settings.ingest_keepalive, **session
        )
        self.client.loop_start()
        network = self.client._thread
        try:
            while not self.stopping.wait(_WATCH_EVERY):
                self._watch(network, writer)
            writer.join()
        finally:
            if network is not None and network.is_alive():
                # Let the network thread send the last acknowledgements before it stops.
                self.client.disconnect()
                self._disconnected.wait(timeout=5)
                self.client.loop_stop()
            self._drop_connection()
        log.info("ingest worker stopped")
        return 1 if self.failed else 0

    def _watch(self, network: threading.Thread | None, writer: threading.Thread) -> None:
        """Stop at once, failed, when a thread the worker needs has died."""
        if network is not None and not network.is_alive():
            why = self.crash or "no exception recorded"
            self._fatal(f"the MQTT network thread died ({why}); exiting for a restart")
        elif not writer.is_alive():
            self._fatal("the writer thread died; exiting for a restart")

    def serve_metrics(self) -> Any:
        """Start the /metrics endpoint on the configured host and port (None when off)."""
        s = self.settings
        if not s.ingest_metrics_port:
            return None
        try:
            server, _thread = start_http_server(s.ingest_metrics_port, addr=s.ingest_metrics_host)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {s.ingest_metrics_host}:{s.ingest_metrics_port} ({exc}); "
                "set LIFTWATCH_INGEST_METRICS_PORT to a free port, or 0"
            ) from exc
        log.info("metrics on http://%s:%d/metrics", s.ingest_metrics_host, s.ingest_metrics_port)
        return server

    def _signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: flushing, committing and acknowledging", signal.Signals(signum).name)
        self.stop()
