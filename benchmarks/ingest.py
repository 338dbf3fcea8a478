"""Ingestion throughput, measured against raw baselines in the same run on this machine.

Phases, all on one private Mosquitto (deploy/mosquitto.conf limits) and one fresh database:
  1. raw COPY: binary COPY of status rows straight into status_sample (rows/s);
  2. raw broker: the load generator → Mosquitto → one plain paho subscriber (QoS 1, auto ack);
  3. liftwatch end to end: the same generator → Mosquitto → `liftwatch ingest` (one worker), from
     the first publish to the last committed row;
  4. the same with two workers on a shared subscription;
  5. (phases rawdrain, drain, drain2) the consumer alone: a backlog queued in the broker beforehand
     for persistent sessions, drained by a plain paho subscriber, by one liftwatch worker, and by two
     on a shared subscription; the drains sample the stored count every second, so a backlog of
     5,000,000 (``--backlog``) is a sustained run of about five minutes.
The load generator is several publisher processes, each bounding its in-flight QoS 1 messages.
The broker runs as deploy/mosquitto.conf ships it, with authentication and ACLs (the dynamic-security
plugin): the generator logs in as contractor C1, the raw subscriber and the workers as a
subscribe-only ingest user (``--no-auth`` for an anonymous broker).
Prints figures, ratios and the machine. Usage: python benchmarks/ingest.py [--messages N]
[--backlog N] [--phases ...] [--no-auth].
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import platform
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import migrate  # noqa: E402
from ingest.brokerauth import DynSec  # noqa: E402
from ingest.stats import scrape  # noqa: E402

UNITS = 2000
CHUNK = 50  # PUBLISH packets the generator writes at a time
RATE = 0.0  # offered load of the broker and end-to-end phases, messages a second (0: unpaced)
SAMPLE_EVERY = 0.5  # seconds between samples of the stored count
LOGS = Path(tempfile.gettempdir())  # the workers' logs go to the run's own directory (set in main)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
# (user, password) of the producer (contractor C1) and of the consumers, when the broker has auth.
PRODUCER: tuple[str, str] | None = None
CONSUMER: tuple[str, str] | None = None
ADMIN_PASSWORD = uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(workdir: Path, backlog: int, auth: bool) -> tuple[subprocess.Popen[bytes], int]:
    """A private Mosquitto with deploy/mosquitto.conf's limits, its queue raised to hold ``backlog``;
    with ``auth``, its dynamic-security plugin and anonymous access off, and users for the run."""
    global PRODUCER, CONSUMER
    port = free_port()
    limits = []
    security = ["allow_anonymous true"]
    if auth:
        config = workdir / "dynamic-security.json"
        subprocess.run(
            ["mosquitto_ctrl", "dynsec", "init", str(config), "admin", ADMIN_PASSWORD],
            check=True, capture_output=True,
        )  # fmt: skip
        plugin = next(
            line for line in (ROOT / "deploy" / "mosquitto.conf").read_text().splitlines()
            if line.startswith("plugin ")
        )  # fmt: skip
        security = ["allow_anonymous false", plugin, f"plugin_opt_config_file {config}"]
        if os.geteuid() == 0:
            security.append("user root")  # the plugin writes its file in the run's directory
    for line in (ROOT / "deploy" / "mosquitto.conf").read_text().splitlines():
        if line.startswith("max_queued_messages "):
            shipped = int(line.split()[1])
            if backlog > shipped:
                print(
                    f"broker: max_queued_messages raised from {shipped:,} to {backlog:,} to hold a whole phase"
                )
                line = f"max_queued_messages {backlog}"
        if line.startswith(("max_", "persistent_client")):
            limits.append(line)
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join([f"listener {port} 127.0.0.1", *security, *limits]) + "\n")
    with (workdir / "mosquitto.log").open("ab") as log:
        proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                                stdout=log, stderr=log)  # fmt: skip
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(
                    f"Mosquitto did not start; see {workdir}/mosquitto.log"
                ) from None
            time.sleep(0.05)
    if auth:
        with DynSec(f"mqtt://admin:{ADMIN_PASSWORD}@127.0.0.1:{port}") as dynsec:
            PRODUCER = ("C1", dynsec.add_contractor("C1"))
            CONSUMER = ("bench-ingest", dynsec.add_worker("bench-ingest"))
    return proc, port


def _login(client: mqtt.Client) -> mqtt.Client:
    """The consumers' credentials on a paho client, when the broker has auth."""
    if CONSUMER:
        client.username_pw_set(*CONSUMER)
    return client


def _consumer_url(port: int) -> str:
    user = f"{CONSUMER[0]}:{CONSUMER[1]}@" if CONSUMER else ""
    return f"mqtt://{user}127.0.0.1:{port}"


def _string(value: str) -> bytes:
    data = value.encode()
    return len(data).to_bytes(2, "big") + data


def messages_for(publisher: int, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """Status messages (~250 bytes) spread over the units, each with its own event_id."""
    for n in range(count):
        unit = f"U{(publisher * 7919 + n) % UNITS:05d}"
        body = {
            "v": 1,
            "event_id": str(uuid.uuid4()),
            # Distinct per phase and publisher, and in the past whatever the phase and the date.
            "occurred_at": (
                T0 + timedelta(seconds=n - seed * 10_000_000 - publisher * 1_000_000)
            ).isoformat(),
            "online": True,
            "in_service": True,
            "trips": 100000 + n,
            "door_cycles": 200000 + n,
            "running_hours": 1234.5,
        }
        yield f"liftwatch/v1/C1/{unit}/status", orjson.dumps(body)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _varint(len(body)) + body


def _publish_chunks(messages: Iterator[tuple[str, bytes]]) -> list[tuple[int, int, bytes]]:
    """MQTT 5 QoS 1 PUBLISH packets, encoded before the clock starts and joined in chunks of
    ``CHUNK`` (compact: millions of messages fit in memory); packet ids run 1..65535 in turn.
    Each chunk is (first packet id, packets, bytes)."""
    chunks: list[tuple[int, int, bytes]] = []
    parts: list[bytes] = []
    first = 1
    for n, (topic, payload) in enumerate(messages):
        mid = n % 65535 + 1
        if not parts:
            first = mid
        t = topic.encode()
        body = len(t).to_bytes(2, "big") + t + mid.to_bytes(2, "big") + b"\x00" + payload
        parts.append(_packet(0x32, body))
        if len(parts) == CHUNK:
            chunks.append((first, len(parts), b"".join(parts)))
            parts = []
    if parts:
        chunks.append((first, len(parts), b"".join(parts)))
    return chunks


def publisher(
    port: int,
    publisher_id: int,
    count: int,
    seed: int,
    inflight: int,
    rate: float,
    ready: Any,
    go: Any,
) -> None:
    """One load-generator process: a minimal MQTT 5 client on a raw socket, publishing at QoS 1.

    The packets are encoded beforehand and written in chunks, so the generator costs little CPU
    next to the broker and the consumer (paho's own publisher topped out below 10,000 messages a
    second here and was the bottleneck). At most ``inflight`` messages are unacknowledged at a time,
    a packet id is reused only once its PUBACK came back, and every PUBACK's reason code is checked.
    With ``rate`` (messages a second, this process's share) it paces itself to that offered load.
    """
    chunks = _publish_chunks(messages_for(publisher_id, count, seed))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # CONNECT: protocol "MQTT" level 5, clean start (and user name and password with auth),
    # keepalive 0, no properties.
    flags = 0xC2 if PRODUCER else 0x02
    connect = b"\x00\x04MQTT\x05" + bytes([flags]) + b"\x00\x00\x00"
    connect += _string(f"bench-pub-{os.getpid()}")
    if PRODUCER:
        connect += _string(PRODUCER[0]) + _string(PRODUCER[1])
    sock.sendall(_packet(0x10, connect))
    connack = sock.recv(64)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        raise RuntimeError(f"broker refused the generator's connection: {connack!r}")
    ready.wait()
    go.wait()
    started = time.perf_counter()
    outstanding = bytearray(65536)
    in_flight = 0
    sent = 0  # chunks
    pending = b""

    def free(chunk: tuple[int, int, bytes]) -> bool:
        first, n, _ = chunk
        return in_flight + n <= inflight and not any(
            outstanding[(first - 1 + k) % 65535 + 1] for k in range(n)
        )

    while sent < len(chunks) or in_flight:
        while sent < len(chunks) and free(chunks[sent]):
            if rate and (ahead := started + sent * CHUNK / rate - time.perf_counter()) > 0:
                if in_flight:
                    break  # read acknowledgements meanwhile
                time.sleep(ahead)
            first, n, data = chunks[sent]
            for k in range(n):
                outstanding[(first - 1 + k) % 65535 + 1] = 1
            in_flight += n
            sent += 1
            sock.sendall(data)
        # Read acknowledgements: wait for them only when nothing more may be sent.
        can_send = sent < len(chunks) and free(chunks[sent])
        wait = 0.0 if can_send else 30.0
        if can_send and rate:
            wait = max(0.0, started + sent * CHUNK / rate - time.perf_counter())
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            if can_send:
                continue
            raise RuntimeError(f"no PUBACK for 30 s with {in_flight} messages in flight")
        data = sock.recv(1 << 16)
        if not data:
            raise RuntimeError("the broker closed the generator's connection")
        buf = pending + data
        pos = 0
        while len(buf) - pos >= 2:
            length = buf[pos + 1]  # PUBACKs are short: a one-byte remaining length
            if len(buf) - pos < 2 + length:
                break
            if buf[pos] != 0x40 or length < 2:
                raise RuntimeError(f"unexpected packet from the broker: {buf[pos : pos + 8]!r}")
            mid = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            if length >= 3 and buf[pos + 4] >= 0x80:
                raise RuntimeError(f"broker refused message {mid}: reason {buf[pos + 4]:#x}")
            outstanding[mid] = 0
            in_flight -= 1
            pos += 2 + length
        pending = buf[pos:]
    sock.sendall(b"\xe0\x00")  # DISCONNECT
    sock.close()


def run_publishers(
    port: int, total: int, procs: int, inflight: int, seed: int, rate: float = 0.0
) -> tuple[float, list[Any]]:
    """Start the generator (``rate`` messages a second in all, or as fast as it can); return the
    start time once every process is ready and released."""
    ctx = mp.get_context("fork")
    ready = ctx.Barrier(procs + 1)
    go = ctx.Barrier(procs + 1)
    share = total // procs
    workers = [
        ctx.Process(
            target=publisher, args=(port, i, share, seed, inflight, rate / procs, ready, go)
        )
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    ready.wait()
    start = time.perf_counter()
    go.wait()
    return start, workers


def raw_copy(url: str, total: int) -> float:
    rows = []
    for n in range(total):
        rows.append((uuid.uuid4(), f"U{n % UNITS:05d}", "C1", T0 - timedelta(days=400) + timedelta(seconds=n),
                     True, True, 100000 + n, 200000 + n, 1234.5))  # fmt: skip
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        for i in range(0, total, 5000):
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY status_sample (event_id, unit_id, contractor_id, occurred_at, online, in_service, "
                    "trips, door_cycles, running_hours) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(
                    [
                        "uuid",
                        "text",
                        "text",
                        "timestamptz",
                        "bool",
                        "bool",
                        "int8",
                        "int8",
                        "float8",
                    ]
                )
                for row in rows[i : i + 5000]:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("TRUNCATE status_sample")
        conn.commit()
    return total / elapsed


def raw_broker(port: int, total: int, procs: int, inflight: int) -> float:
    got = [0]
    done_at = [0.0]
    expected = (total // procs) * procs  # what the publishers send between them
    client = _login(
        mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5)
    )

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        got[0] += 1
        if got[0] == expected:
            done_at[0] = time.perf_counter()

    def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        print(f"  raw subscriber disconnected after {got[0]:,} messages: {reason}", file=sys.stderr)

    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.connect("127.0.0.1", port)
    client.subscribe("liftwatch/v1/#", qos=1)
    client.loop_start()
    time.sleep(0.5)
    start, pubs = run_publishers(port, total, procs, inflight, seed=1, rate=RATE)
    for p in pubs:
        p.join()
    while got[0] < expected:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return expected / (done_at[0] - start)


def raw_drain(port: int, total: int, procs: int, inflight: int) -> float:
    """A plain paho subscriber draining a backlog queued for its persistent session."""
    got = [0]
    first_at = [0.0]
    done_at = [0.0]
    expected = (total // procs) * procs

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        got[0] += 1
        if got[0] == 1:
            first_at[0] = time.perf_counter()
        if got[0] == expected:
            done_at[0] = time.perf_counter()

    def session() -> mqtt.Client:
        client = _login(
            mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id="bench-raw-drain", protocol=mqtt.MQTTv5
            )
        )
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        props.ReceiveMaximum = 10000
        client.on_message = on_message
        client.connect("127.0.0.1", port, clean_start=False, properties=props)
        return client

    client = session()
    client.subscribe("liftwatch/v1/#", qos=1)
    client.loop_start()
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    _, pubs = run_publishers(port, total, procs, inflight, seed=5)
    for p in pubs:
        p.join()
    client = session()
    client.loop_start()
    while got[0] < expected:
        time.sleep(0.1)
    client.disconnect()
    client.loop_stop()
    forget_session(port, "bench-raw-drain")
    return expected / (done_at[0] - first_at[0])


def forget_session(port: int, client_id: str) -> None:
    """End a persistent session, so later phases' messages do not queue for it."""
    client = _login(
        mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    )
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


def worker_env(url: str, port: int, name: str, shared: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LIFTWATCH_DATABASE_URL=url,
        LIFTWATCH_BROKER_URL=_consumer_url(port),
        LIFTWATCH_INGEST_CLIENT_ID=f"bench-{name}",
        LIFTWATCH_INGEST_SESSION_EXPIRY="0",
        LIFTWATCH_INGEST_METRICS_PORT=str(free_port()),
        LIFTWATCH_LOG_LEVEL="WARNING",
    )
    if shared:
        env["LIFTWATCH_INGEST_SHARED_GROUP"] = "bench"
    return env


def stored(ports: list[int]) -> float:
    total = 0.0
    for port in ports:
        with contextlib.suppress(OSError):
            metrics = scrape(f"http://127.0.0.1:{port}/metrics")
            total += metrics.get("liftwatch_ingest_stored_total{kind=status}", 0)
    return total


def watch(ports: list[int], expected: int, log: Path) -> list[tuple[float, float]]:
    """(time, rows stored) every SAMPLE_EVERY seconds from the first stored row until ``expected`` are stored."""
    samples: list[tuple[float, float]] = []
    last_change = time.perf_counter()
    while True:
        done = stored(ports)
        now = time.perf_counter()
        if samples and done != samples[-1][1]:
            last_change = now
        if done > 0 or samples:
            samples.append((now, done))
        if done >= expected:
            return samples
        if now - last_change > 60:
            print(
                f"  stalled at {done:,.0f} stored of {expected:,}; the workers' log:",
                file=sys.stderr,
            )
            print(log.read_text()[-4000:], file=sys.stderr)
            return samples
        time.sleep(SAMPLE_EVERY if samples else 0.05)


def liftwatch_e2e(
    url: str, port: int, total: int, procs: int, inflight: int, workers: int, seed: int
) -> Run:
    """The generator publishing while the workers store: first publish to the last committed row."""
    envs = [worker_env(url, port, f"e2e-{workers}-{n}", workers > 1) for n in range(workers)]
    command = [sys.executable, "-m", "liftwatch.cli", "ingest"]
    log_path = LOGS / f"e2e-{workers}.log"
    with log_path.open("ab") as log:
        running = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
            for env in envs
        ]
    ports = [int(e["LIFTWATCH_INGEST_METRICS_PORT"]) for e in envs]
    while not all(_metrics_up(p) for p in ports):
        time.sleep(0.2)
    time.sleep(1.0)
    start, pubs = run_publishers(port, total, procs, inflight, seed, rate=RATE)
    samples = watch(ports, (total // procs) * procs, log_path)
    for p in pubs:
        p.join()
    for w in running:
        w.terminate()
        w.wait(timeout=60)
    return Run.of(samples, start)


def liftwatch_drain(
    url: str,
    port: int,
    total: int,
    procs: int,
    inflight: int,
    workers: int,
    profile: Path | None,
) -> Run:
    """The consumer alone: a backlog queued in the broker for the workers' sessions, then drained.

    With two workers the sessions share a subscription, so the broker splits the backlog between
    them. The stored count is sampled to show whether the rate holds.
    """
    envs = [worker_env(url, port, f"drain-{workers}-{n}", workers > 1) for n in range(workers)]
    for env in envs:
        env["LIFTWATCH_INGEST_SESSION_EXPIRY"] = "7200"
    ports = [int(env["LIFTWATCH_INGEST_METRICS_PORT"]) for env in envs]
    command = [sys.executable, "-m", "liftwatch.cli", "ingest"]

    def start_workers() -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
            for env in envs
        ]

    log = (LOGS / f"drain-{workers}.log").open("ab")

    # Create the sessions and their subscriptions, then leave: the backlog queues for them.
    first = start_workers()
    while not all(_metrics_up(p) for p in ports):
        time.sleep(0.2)
    time.sleep(1.0)
    for w in first:
        w.terminate()
        w.wait(timeout=60)
    queued_at = time.perf_counter()
    _, pubs = run_publishers(port, total, procs, inflight, seed=4 + workers)
    for p in pubs:
        p.join()
    print(f"  backlog of {total:,} queued in {time.perf_counter() - queued_at:.0f} s", flush=True)
    running = start_workers()
    spy = None
    if profile is not None:
        spy = subprocess.Popen(["py-spy", "record", "--pid", str(running[0].pid), "-o", str(profile), "-f", "raw",
                                "--threads", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log.flush()
    samples = watch(ports, (total // procs) * procs, LOGS / f"drain-{workers}.log")
    for w in running:
        w.terminate()
        w.wait(timeout=120)
    if spy is not None:
        spy.wait(timeout=120)
    for env in envs:
        forget_session(port, env["LIFTWATCH_INGEST_CLIENT_ID"])
    log.close()
    return Run.of(samples)


@dataclass
class Run:
    """A run's overall rate and how steady it was, from (time, stored) samples SAMPLE_EVERY apart."""

    rate: float
    seconds: float
    stored: float
    slowest_10s: float
    median_10s: float

    @classmethod
    def of(cls, samples: list[tuple[float, float]], start: float | None = None) -> Run:
        """From the first sample, or from ``start`` (the first publish) with nothing stored then."""
        if len(samples) < 2:
            return cls(0.0, 0.0, samples[-1][1] if samples else 0.0, 0.0, 0.0)
        (t0, n0), (t1, n1) = samples[0], samples[-1]
        if start is not None:
            t0, n0 = start, 0.0
        w = round(10 / SAMPLE_EVERY)
        windows = sorted(
            (samples[i + w][1] - samples[i][1]) / (samples[i + w][0] - samples[i][0])
            for i in range(0, len(samples) - w, w)
        ) or [(n1 - n0) / (t1 - t0)]
        seconds = t1 - t0
        return cls((n1 - n0) / seconds, seconds, n1, windows[0], windows[len(windows) // 2])

    def __str__(self) -> str:
        return (
            f"{self.rate:9,.0f} events/s for {self.seconds:.0f} s ({self.stored:,.0f} stored; "
            f"10-s windows: slowest {self.slowest_10s:,.0f}/s, median {self.median_10s:,.0f}/s)"
        )


def _metrics_up(port: int) -> bool:
    try:
        scrape(f"http://127.0.0.1:{port}/metrics")
        return True
    except OSError:
        return False


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    mosq = subprocess.run(
        [shutil.which("mosquitto") or "mosquitto", "-h"], capture_output=True, text=True
    ).stdout
    return (f"{platform.platform()}; {os.cpu_count()} CPUs; {mem:.1f} GiB RAM; Python {platform.python_version()}; "
            f"paho-mqtt {version('paho-mqtt')}; psycopg {psycopg.__version__}; {mosq.splitlines()[0]}")  # fmt: skip


PHASES = ("copy", "broker", "one", "two", "rawdrain", "drain", "drain2")


def setup_register(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO district VALUES ('D1', 'd'); INSERT INTO street_office VALUES ('S1', 'D1', 's');"
            "INSERT INTO community VALUES ('M1', 'S1', 'm'); INSERT INTO contractor VALUES ('C1', 'c');"
            "INSERT INTO building (building_id, community_id, name, floors, households) "
            "VALUES ('B1', 'M1', 'b', 18, 100)"
        )
        conn.execute(
            "INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on, "
            "contractor_id) SELECT format('U%%s', lpad(n::text, 5, '0')), format('R%%s', n), 'B1', 'm', "
            "'2006-01-01', 'C1' FROM generate_series(0, %s) n",
            (UNITS - 1,),
        )
        conn.execute("INSERT INTO unit_contract SELECT unit_id, 'C1', '2000-01-01' FROM unit")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--messages", type=int, default=600_000, help="messages per phase (default 600,000)"
    )
    parser.add_argument("--publishers", type=int, default=3, help="publisher processes (default 3)")
    parser.add_argument(
        "--inflight", type=int, default=1000, help="QoS 1 messages in flight per publisher"
    )
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "LIFTWATCH_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="server to create a throw-away database on",
    )
    parser.add_argument(
        "--phases",
        default="copy,broker,one,two",
        help=f"comma-separated phases to run, of {','.join(PHASES)} (default copy,broker,one,two)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered load of the broker and end-to-end phases in messages a second (default: "
        "as fast as the generator goes); with --messages 6000000 --rate 20000 each lasts 5 minutes",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        help="messages queued for the drain and drain2 phases (default --messages; 5,000,000 "
        "makes a drain of about five minutes)",
    )
    parser.add_argument(
        "--profile", type=Path, help="record the one-worker drain with py-spy (raw stacks)"
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="an anonymous broker instead of deploy/mosquitto.conf's users and ACLs",
    )
    args = parser.parse_args()
    if args.inflight < CHUNK:
        parser.error(
            f"--inflight must be at least {CHUNK} (the generator writes {CHUNK} at a time)"
        )
    phases = args.phases.split(",")
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    name = f"lw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        server = conn.execute("SHOW server_version").fetchone()
    url = psycopg.conninfo.make_conninfo(args.database, dbname=name)
    workdir = Path(tempfile.mkdtemp(prefix="lw-bench-"))
    global LOGS, RATE
    LOGS, RATE = workdir, args.rate
    n, procs, inflight = args.messages, args.publishers, args.inflight
    backlog = args.backlog or n
    # Queued messages beyond the shipped limit would be dropped by the broker, not by liftwatch.
    broker, port = start_broker(workdir, max(backlog, n), auth=not args.no_auth)
    rates: dict[str, float] = {}
    try:
        migrate.upgrade(url)
        setup_register(url)
        print(f"machine: {machine()}; PostgreSQL {server[0] if server else '?'}")
        pace = f"offered at {RATE:,.0f}/s" if RATE else "as fast as the generator goes"
        print(
            f"load: {n:,} status messages per phase ({pace}), {procs} publisher processes, "
            f"{inflight} in flight each, QoS 1; broker "
            + ("with users and ACLs (dynamic security)" if PRODUCER else "anonymous")
        )
        if any(p.startswith("drain") for p in phases):
            print(f"backlog for the liftwatch drain phases: {backlog:,} messages")
        for phase, seed in zip(PHASES, range(1, 8), strict=True):
            if phase not in phases:
                continue
            if phase == "copy":
                rates[phase] = raw_copy(url, min(n, 1_000_000))
                print(f"raw COPY into status_sample:                  {rates[phase]:9,.0f} rows/s")
            elif phase == "broker":
                rates[phase] = raw_broker(port, n, procs, inflight)
                print(f"raw broker (generator → paho subscriber):     {rates[phase]:9,.0f} msg/s")
            elif phase in ("one", "two"):
                workers = 1 if phase == "one" else 2
                run = liftwatch_e2e(url, port, n, procs, inflight, workers, seed)
                rates[phase] = run.rate
                print(f"liftwatch end to end, {workers} worker(s):              {run}")
            elif phase == "rawdrain":
                rates[phase] = raw_drain(port, backlog, procs, inflight)
                print(
                    f"raw drain of a queued backlog (paho subscriber): {rates[phase]:6,.0f} msg/s"
                )
            else:
                workers = 1 if phase == "drain" else 2
                profile = args.profile if workers == 1 else None
                run = liftwatch_drain(url, port, backlog, procs, inflight, workers, profile)
                rates[phase] = run.rate
                print(f"liftwatch draining a queued backlog, {workers} worker(s): {run}")
        raw = [rates[k] for k in ("copy", "broker") if k in rates]
        if raw:
            slower = min(raw)
            for k in ("one", "two"):
                if k in rates:
                    print(
                        f"ratio {k} worker(s) / slower raw path ({slower:,.0f}/s): {rates[k] / slower:.0%}"
                    )
        if "rawdrain" in rates and "copy" in rates:
            slower = min(rates["rawdrain"], rates["copy"])
            for k in ("drain", "drain2"):
                if k in rates:
                    print(
                        f"ratio {k} / slower raw drain path ({slower:,.0f}/s): {rates[k] / slower:.0%}"
                    )
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM status_sample"
            ).fetchone()
            dead = conn.execute("SELECT count(*) FROM dead_letter").fetchone()
        e2e_phases = sum(p in phases for p in ("one", "two"))
        drain_phases = sum(p in phases for p in ("drain", "drain2"))
        expected = e2e_phases * (n // procs) * procs + drain_phases * (backlog // procs) * procs
        print(f"stored rows {row[0] if row else 0} (distinct {row[1] if row else 0}), expected {expected}; "
              f"dead letters {dead[0] if dead else 0}")  # fmt: skip
    finally:
        broker.terminate()
        broker.wait()
        with psycopg.connect(args.database, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
