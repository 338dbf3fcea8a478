"""Simulator speed, against raw baselines measured in the same run on this machine.

  1. register: generate the `city` scenario of N units (default 200,000; target under 60 s) and
     write its CSV, against the raw baseline of writing the same rows with the csv module alone;
  2. events: draw a city's history and build its event stream (events/s), against the raw
     baseline of encoding the same payloads with orjson alone;
  3. publish: the publisher (QoS 1, bounded window, 1 and 2 processes) to a private Mosquitto,
     against plain paho publishing the same messages at QoS 1 in batches of 1,000.
Prints figures, ratios and the machine. Usage: python benchmarks/simulate.py [--units N].
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulators.model import simulate  # noqa: E402
from simulators.publish import publish  # noqa: E402
from simulators.scenario import KEYS, load_scenario  # noqa: E402
from tests.support.servers import Mosquitto  # noqa: E402


def machine() -> str:
    """One line about the machine the figures come from."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return (
        f"{platform.node()}: {os.cpu_count()} CPU ({model}), Python {platform.python_version()}, "
        f"load average {load[0]:.1f}"
    )


def bench_register(units: int, tmp: Path) -> None:
    started = time.perf_counter()
    scenario = load_scenario("city", units=units, seed=1)
    generated = time.perf_counter() - started
    scenario.write_register(tmp / "city.csv")
    total = time.perf_counter() - started
    rows = scenario.register_rows()
    base_start = time.perf_counter()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KEYS)
    for row in rows:
        writer.writerow([row[k] for k in KEYS])
    (tmp / "raw.csv").write_text(out.getvalue(), encoding="utf-8")
    baseline = time.perf_counter() - base_start
    verdict = "under" if total < 60 else "OVER"
    print(
        f"register: {units:,} units generated in {generated:.1f} s, written in {total:.1f} s total "
        f"({verdict} the 60 s target); raw CSV write of the same rows {baseline:.2f} s "
        f"(ratio {total / baseline:.1f}x)"
    )


def bench_events(units: int) -> list[tuple[str, bytes]]:
    scenario = load_scenario("city", units=units, seed=1)
    started = time.perf_counter()
    sim = simulate(
        scenario,
        start=date(2021, 1, 1),
        end=date(2023, 1, 1),
        seed=1,
        status_every=timedelta(days=1),
    )
    sim.histories()
    drawn = time.perf_counter() - started
    events = list(sim.events())
    built = time.perf_counter() - started
    encoded = [(e.topic, e.encode()) for e in events]
    payloads = [e.payload for e in events]
    base_start = time.perf_counter()
    for p in payloads:
        orjson.dumps(p)
    baseline = time.perf_counter() - base_start
    truth_start = time.perf_counter()
    rows = len(sim.ground_truth())
    truth = time.perf_counter() - truth_start
    print(
        f"events: {units:,} units x 2 years, daily status: {len(events):,} events in {built:.1f} s "
        f"({len(events) / built:,.0f}/s; histories {drawn:.1f} s); raw orjson encoding "
        f"{len(events) / baseline:,.0f}/s (ratio {built / baseline:.1f}x); ground truth "
        f"{rows:,} rows in {truth:.1f} s"
    )
    return encoded


def raw_paho(messages: list[tuple[str, bytes]], port: int) -> float:
    """Plain paho at QoS 1: publish 1,000 messages, wait for their acknowledgements, repeat."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for lo in range(0, len(messages), 1000):
        infos = [client.publish(t, p, qos=1) for t, p in messages[lo : lo + 1000]]
        for info in infos:
            info.wait_for_publish(60)
    seconds = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return seconds


def bench_publish(messages: list[tuple[str, bytes]], tmp: Path) -> None:
    from simulators.model import SimEvent

    events = [SimEvent(*t.split("/")[2:5], orjson.loads(p)) for t, p in messages]  # type: ignore[arg-type]
    broker = Mosquitto(tmp / "mq").start()
    try:
        raw = raw_paho(messages, broker.port)
        print(f"publish: raw paho QoS 1, batches of 1,000: {len(messages) / raw:,.0f} msg/s")
        for processes in (1, 2):
            report = publish(events, broker.url, processes=processes, max_inflight=1000)
            assert report.sent == len(messages)
            print(
                f"publish: liftwatch publisher, {processes} process(es): "
                f"{report.sent / report.seconds:,.0f} msg/s ({report.seconds / raw:.2f}x the raw time), "
                f"queue-full retries {report.queue_full_retries}"
            )
    finally:
        broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--units", type=int, default=200_000, help="units of the register benchmark"
    )
    parser.add_argument(
        "--event-units", type=int, default=1000, help="units of the event benchmark"
    )
    parser.add_argument("--messages", type=int, default=100_000, help="messages to publish")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="liftwatch-bench-sim-") as name:
        tmp = Path(name)
        bench_register(args.units, tmp)
        messages = bench_events(args.event_units)[: args.messages]
        bench_publish(messages, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
