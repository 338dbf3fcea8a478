"""`liftwatch demo`: everything on embedded defaults, through the real paths, in one command.

It starts (or reuses) the embedded PostgreSQL and a local broker, migrates, imports the seed cases
and a simulated city, starts ingest workers on a shared subscription, publishes years of simulated
history over MQTT, waits until every valid event is committed, scores the fleet as of two dates,
creates tokens and serves the API and dashboards. A second run finds the data loaded and only
serves. Ctrl-C stops the server, the broker and the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
import uvicorn

from core import migrate
from core.broker import broker_url, stop_local_broker
from core.db import connect, database_url
from core.embedded import stop_embedded
from core.settings import get_settings

DEMO_KEY = "demo_loaded"
SHARED_GROUP = "demo"


@dataclass(frozen=True)
class DemoPlan:
    """What the demo loads: the seed cases and a city, simulated up to the scoring date."""

    city_units: int = 1500
    seed: int = 7
    start: date = date(2019, 1, 1)
    as_of: date = date(2023, 5, 1)
    workers: int = 2
    status_every: timedelta = timedelta(days=30)


class Clock:
    """Progress lines with the time since the demo started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", flush=True)


def _loaded(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT value FROM liftwatch_meta WHERE key = %s", (DEMO_KEY,)).fetchone()
    return row["value"] if row else None


def _accounted(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """Events stored so far, and messages dead-lettered so far."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM fault_event) + (SELECT count(*) FROM inspection_event)"
        " + (SELECT count(*) FROM maintenance_event) + (SELECT count(*) FROM status_sample) AS n,"
        " (SELECT count(*) FROM dead_letter) AS d"
    ).fetchone()
    return (int(row["n"]), int(row["d"])) if row else (0, 0)


def _worker_ids(n: int) -> list[str]:
    return [f"liftwatch-demo-{i}" for i in range(n)]


def _open_sessions(n: int, mqtt: str) -> None:
    """Create the workers' persistent sessions and subscriptions before anything is published,
    so the broker keeps every message for them even while a worker is still starting."""
    import threading

    import paho.mqtt.client as paho
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from ingest.worker import broker_address, subscription

    settings = get_settings().model_copy(update={"ingest_shared_group": SHARED_GROUP})
    host, port = broker_address(mqtt)
    for client_id in _worker_ids(n):
        subscribed = threading.Event()
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        client.on_subscribe = lambda *_args, done=subscribed: done.set()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.ingest_session_expiry
        client.connect(host, port, clean_start=False, properties=props)
        client.loop_start()
        client.subscribe(subscription(settings), qos=1)
        if not subscribed.wait(10):
            raise RuntimeError(f"the broker at {mqtt} did not confirm the subscription")
        client.disconnect()
        client.loop_stop()


def _start_workers(n: int, db: str, mqtt: str) -> list[subprocess.Popen[bytes]]:
    _open_sessions(n, mqtt)
    env = os.environ | {
        "LIFTWATCH_DATABASE_URL": db,
        "LIFTWATCH_BROKER_URL": mqtt,
        "LIFTWATCH_INGEST_SHARED_GROUP": SHARED_GROUP,
        "LIFTWATCH_INGEST_METRICS_PORT": "0",
        "LIFTWATCH_LOG_LEVEL": "WARNING",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "liftwatch.cli", "ingest", "run"],
            env=env | {"LIFTWATCH_INGEST_CLIENT_ID": client_id},
        )
        for client_id in _worker_ids(n)
    ]


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def load(plan: DemoPlan, *, db: str, mqtt: str, say: Callable[[str], None]) -> None:
    """Import the register, publish the simulated history over MQTT and wait for it to be stored."""
    from core.register import import_rows
    from simulators.model import simulate
    from simulators.publish import publish
    from simulators.scenario import load_scenario

    scenarios = [load_scenario("seed-cases"), load_scenario("city", units=plan.city_units)]
    with connect(db) as conn:
        # The register as the bureau held it when the history starts, then as it is now: the
        # contractor changes and renewals in between are recorded with their dates, so events
        # are authorized against the contractor of their time.
        for day in (plan.start, plan.as_of):
            for scenario in scenarios:
                imported = import_rows(conn, scenario.register_rows(day), source=f"demo {day}")
                conn.commit()
                say(f"register as of {day}: {imported.summary()}")
        stored_before, dead_before = _accounted(conn)
    workers = _start_workers(plan.workers, db, mqtt)
    try:
        expected = 0
        for scenario in scenarios:
            sim = simulate(
                scenario,
                start=plan.start,
                end=plan.as_of,
                seed=plan.seed,
                status_every=plan.status_every,
            )
            say(
                f"publishing {len(scenario.units)} units' history {plan.start} .. {plan.as_of} over MQTT"
            )
            last = [0.0]

            def progress(sent: int, acked: int, last: list[float] = last) -> None:
                if time.perf_counter() - last[0] > 5:
                    last[0] = time.perf_counter()
                    say(f"  {acked:,} messages acknowledged by the broker")

            report = publish(sim.events(), mqtt, processes=1, max_inflight=2000, progress=progress)
            expected += report.valid_distinct
            say(f"  published {report.sent:,} messages ({report.sent / report.seconds:,.0f}/s)")
        deadline = time.monotonic() + 600
        with connect(db, autocommit=True) as conn:
            while True:
                now_stored, now_dead = _accounted(conn)
                stored, dead = now_stored - stored_before, now_dead - dead_before
                if stored + dead >= expected:
                    break
                if time.monotonic() > deadline or all(w.poll() is not None for w in workers):
                    raise RuntimeError(
                        f"ingestion stalled at {stored + dead:,} of {expected:,} events"
                    )
                say(f"  {stored:,} of {expected:,} events committed")
                time.sleep(2)
        say(f"{stored:,} events stored through the MQTT ingestion path")
        if dead:
            say(f"{dead:,} rejected: see `liftwatch ingest stats` and the dead letters")
    finally:
        _stop_workers(workers)


def score(plan: DemoPlan, *, db: str, say: Callable[[str], None]) -> None:
    """Two score runs, a year apart, so rankings can be compared over time."""
    from scoring.policy import load_policy
    from scoring.run import run

    settings = get_settings()
    policy = load_policy(settings.scoring_policy)
    life = float(settings.scoring_expected_life or policy.section("health")["expected_life_years"])
    with connect(db) as conn:
        for as_of in (date(plan.as_of.year - 1, plan.as_of.month, plan.as_of.day), plan.as_of):
            run(
                conn,
                as_of=as_of,
                policy=policy,
                expected_life_years=life,
                progress=say,
                note="demo",
            )
            conn.commit()


def tokens(db: str) -> dict[str, str]:
    """Fresh tokens for the demo's users (tokens are shown once, so each run makes new ones): an
    admin, a bureau per district, and the street office and contractor of Daoxiangyuan West."""
    from api.tokens import create_token

    wanted: list[tuple[str, str, str | None]] = [("admin", "admin", None)]
    with connect(db) as conn:
        for d in conn.execute("SELECT district_id, name FROM district ORDER BY district_id"):
            wanted.append((f"bureau {d['name']}", "bureau", d["district_id"]))
        place = conn.execute(
            "SELECT p.street_office_id, p.contractor_id FROM unit_place p "
            "JOIN community c USING (community_id) WHERE c.name LIKE %s LIMIT 1",
            ("%稻香园%",),
        ).fetchone()
        if place:
            wanted.append(("street_office 稻香园西", "street_office", place["street_office_id"]))
            wanted.append(("contractor 稻香园西", "contractor", place["contractor_id"]))
        out = {}
        for label, role, bound in wanted:
            token, _ = create_token(conn, role=role, bound_to=bound, name=f"demo {label}")
            out[label] = token
        conn.commit()
    return out


def run_demo(plan: DemoPlan, *, host: str, port: int, reload_data: bool) -> int:
    """The whole demo; returns when the server is stopped."""
    from api.app import create_app
    from api.server import GracefulServer

    say = Clock()
    say("starting the database (embedded PostgreSQL unless LIFTWATCH_DATABASE_URL is set)")
    db = database_url()
    migrate.upgrade(db)
    mqtt = broker_url()
    say(f"broker at {mqtt}")
    try:
        with connect(db) as conn:
            loaded = _loaded(conn)
        if loaded and not reload_data:
            say(f"reusing the data loaded on {loaded} (--reload to load it again)")
        else:
            load(plan, db=db, mqtt=mqtt, say=say)
            score(plan, db=db, say=say)
            with connect(db) as conn:
                conn.execute(
                    "INSERT INTO liftwatch_meta VALUES (%s, now()::text) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (DEMO_KEY,),
                )
                conn.commit()
        issued = tokens(db)
        base = f"http://{host}:{port}"
        say("ready")
        print(f"\n  liftwatch is serving on {base}")
        print(f"  dashboards: {base}/dashboards/  (sign in with a token below)")
        print(f"  API:        {base}/v1/...  (OpenAPI document: {base}/openapi.json)\n")
        for role, token in issued.items():
            print(f"  {role:<28} {token}")
        print("\n  Ctrl-C stops the server, the broker and the database.\n", flush=True)
        os.environ["LIFTWATCH_DATABASE_URL"] = db
        get_settings.cache_clear()
        GracefulServer(
            uvicorn.Config(create_app(), host=host, port=port, log_level="warning")
        ).run()
        say("stopping: server stopped; stopping the broker and the database")
    finally:
        stop_local_broker()
        stop_embedded()
    return 0
