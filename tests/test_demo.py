"""The demo's loading path end to end: register, MQTT publish, ingest workers, scoring, tokens."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from core.contracts import topic_for
from core.db import connect
from ingest.worker import broker_address
from liftwatch.demo import DemoPlan, display_width, load, score, tokens
from tests.support.servers import Mosquitto


@pytest.mark.timeout(600)
def test_demo_loads_publishes_scores_and_flags_daoxiangyuan(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    plan = DemoPlan(city_units=40, start=date(2021, 1, 1), as_of=date(2023, 5, 1), workers=2)
    lines: list[str] = []
    load(plan, db=db_url, mqtt=mosquitto.url, say=lines.append)
    assert any("events stored through the MQTT ingestion path" in line for line in lines)
    assert not any("rejected: see" in line for line in lines), lines
    score(plan, db=db_url, say=lines.append)
    with connect(db_url) as conn:
        runs = conn.execute("SELECT run_id, as_of FROM score_run ORDER BY as_of").fetchall()
        assert [r["as_of"] for r in runs] == [date(2022, 5, 1), date(2023, 5, 1)]
        flagged: list[dict[str, Any]] = conn.execute(
            "SELECT s.unit_id, s.flag, s.rank FROM unit_score s "
            "JOIN unit_place p USING (unit_id) JOIN community c USING (community_id) "
            "WHERE s.run_id = %s AND c.name LIKE %s ORDER BY s.rank",
            (runs[-1]["run_id"], "%稻香园%"),
        ).fetchall()
    assert len(flagged) == 8
    # The failed three are stopped; the other five are flagged for what inspections found.
    assert {r["flag"] for r in flagged} <= {"stopped", "replace_or_overhaul", "safety_assessment"}
    assert [r["flag"] for r in flagged[:3]] == ["stopped"] * 3
    issued = tokens(db_url, tmp_path)
    assert {a.role for a in issued} == {"admin", "bureau", "street_office", "contractor"}
    assert issued[0].label == "bureau 海淀区"
    # Made once per data directory: asking again gives the same tokens and makes none.
    assert tokens(db_url, tmp_path) == issued
    with connect(db_url) as conn:
        row = conn.execute("SELECT count(*) AS n FROM api_token").fetchone()
    assert row is not None and row["n"] == len(issued)


# -- the demo as a person runs it: `liftwatch demo` in its own process ---------------------------

SMALL = ["--units", "12", "--since", "2021-01-01"]
LOAD_TIMEOUT = 240.0


def _free_demo_port() -> int:
    """A free port in the range kept for the demo tests (18620-18699), from a random start so
    demos of tests running side by side rarely try the same one."""
    start = random.randrange(80)
    for port in (18620 + (start + n) % 80 for n in range(80)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18620-18699")


class DemoRun:
    """`liftwatch demo` in a child process, its output in a file, stopped by its own pid."""

    def __init__(self, tmp: Path, db_url: str, broker_url: str, *args: str) -> None:
        self.port = _free_demo_port()
        self.log = tmp / f"demo-{time.monotonic_ns()}.log"
        env = os.environ | {
            "LIFTWATCH_DATABASE_URL": db_url,
            "LIFTWATCH_BROKER_URL": broker_url,
            "LIFTWATCH_DATA_DIR": str(tmp / "data"),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "liftwatch.cli",
                    "demo",
                    "--port",
                    str(self.port),
                    *SMALL,
                    *args,
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = LOAD_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo exited before {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output}")
            time.sleep(0.2)

    def wait_ready(self) -> dict[str, str]:
        """Wait until it serves; return its token table (label -> token)."""
        self.wait_for("Ctrl-C stops")
        table = re.findall(r"^  (\S.*?)\s+(lw_\w+_[\w-]+)$", self.output, re.M)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2):
                    return dict(table)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=60)


def _events(db_url: str) -> int:
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM fault_event) + (SELECT count(*) FROM inspection_event)"
            " + (SELECT count(*) FROM maintenance_event) + (SELECT count(*) FROM status_sample) AS n"
        ).fetchone()
    return int(row["n"]) if row else 0


def _publish_entrapment(db_url: str, broker_url: str, unit_id: str) -> str:
    """An entrapment happening now, published over MQTT as the unit's contractor would."""
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT contractor_id FROM unit WHERE unit_id = %s", (unit_id,)
        ).fetchone()
    assert row is not None
    event_id = str(uuid.uuid4())
    body = {
        "v": 1, "event_id": event_id, "occurred_at": datetime.now(UTC).isoformat(),
        "code": "93", "entrapment": True, "passengers_trapped": 2,
    }  # fmt: skip
    host, port = broker_address(broker_url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"test-{event_id[:8]}")
    client.connect(host, port)
    client.loop_start()
    client.publish(
        topic_for(row["contractor_id"], unit_id, "fault"), json.dumps(body), qos=1
    ).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    return event_id


def _wait_alert(base: str, token: str, unit_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(
            f"{base}/v1/alerts?kind=entrapment&unit_id={unit_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            items = json.loads(answer.read())["items"]
        if items:
            return dict(items[0])
        if time.monotonic() > deadline:
            raise AssertionError(f"no entrapment alert for {unit_id} within {timeout} s")
        time.sleep(0.5)


@pytest.mark.timeout(600)
def test_the_demo_stays_live_reloads_and_makes_its_tokens_once(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    first = DemoRun(tmp_path, db_url, mosquitto.url)
    try:
        issued = first.wait_ready()
        assert len(issued) >= 4 and "admin" in issued
        # One line per step: no progress line printed twice, no log line repeating one.
        steps = [
            line.split("] ", 1)[1] for line in first.output.splitlines() if line.startswith("[")
        ]
        assert all(a != b for a, b in itertools.pairwise(steps)), steps
        assert " INFO " not in first.output
        # Tokens line up in one column whatever the script of the names before them.
        columns = {
            display_width(line.split("lw_")[0])
            for line in first.output.splitlines()
            if " lw_" in line
        }
        assert len(columns) == 1, columns
        # The live worker stores what is published after ready, and the entrapment raises an alert.
        event_id = _publish_entrapment(db_url, mosquitto.url, "DXYX-04-1")
        alert = _wait_alert(first.base, issued["admin"], "DXYX-04-1")
        assert alert["detail"]["passengers_trapped"] == 2
        with connect(db_url) as conn:
            assert conn.execute(
                "SELECT 1 FROM fault_event WHERE event_id = %s", (event_id,)
            ).fetchone()
    finally:
        first.stop()
    with connect(db_url) as conn:
        tokens_before = conn.execute("SELECT count(*) AS n FROM api_token").fetchone()
    stored = _events(db_url)
    second = DemoRun(tmp_path, db_url, mosquitto.url, "--reload")
    try:
        # Everything published again is a duplicate; the load still finishes.
        assert second.wait_ready() == issued
        assert "events stored through the MQTT ingestion path" in second.output
    finally:
        second.stop()
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM api_token").fetchone() == tokens_before
    assert _events(db_url) >= stored


@pytest.mark.timeout(600)
def test_an_interrupted_first_load_recovers(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    first = DemoRun(tmp_path, db_url, mosquitto.url)
    try:
        first.wait_for("publishing")
        deadline = time.monotonic() + LOAD_TIMEOUT
        while _events(db_url) == 0:  # killed once the workers have begun storing
            assert time.monotonic() < deadline and first.proc.poll() is None, first.output
            time.sleep(0.1)
    finally:
        first.stop(signal.SIGKILL)  # as hard as it gets: no cleanup at all
    assert "ready" not in first.output
    partial = _events(db_url)
    second = DemoRun(tmp_path, db_url, mosquitto.url)
    try:
        second.wait_ready()
        loaded = re.search(r"([\d,]+) events stored through the MQTT", second.output)
        assert loaded, second.output
        assert _events(db_url) >= int(loaded[1].replace(",", "")) >= partial
    finally:
        second.stop()
