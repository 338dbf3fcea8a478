"""`liftwatch demo`: everything on embedded defaults, through the real paths, in one command.

It starts (or reuses) the embedded PostgreSQL and a local broker, migrates, imports the seed cases
and a simulated city, starts ingest workers on a shared subscription, publishes years of simulated
history over MQTT, waits until the database holds every event published (stored now or by an
earlier, interrupted run) or its dead letter, scores the fleet as of two dates, and serves the API
and dashboards. The demo's tokens are made once per data directory and offered on the sign-in page
as one-click buttons. Once ready, the ingest workers, a live simulator (status samples and the odd
entrapment, stamped with the current time) and the alert loop keep running, so pages change and
alerts appear. A second run finds the data loaded and only serves. Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
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
TOKENS_FILE = "demo-tokens.json"
PR_SET_PDEATHSIG = 1
STALL_SECONDS = 120


@dataclass(frozen=True)
class DemoPlan:
    """What the demo loads: the seed cases and a city, simulated up to the scoring date."""

    city_units: int = 1500
    seed: int = 7
    start: date = date(2019, 1, 1)
    as_of: date = date(2023, 5, 1)
    workers: int = 2
    status_every: timedelta = timedelta(days=30)
    live_status_every: float = 300.0
    live_fault_every: float = 60.0


@dataclass(frozen=True)
class DemoAccount:
    """A demo user: a role, the register id it is bound to and its names, and its token."""

    role: str
    bound_to: str | None
    name: str
    name_en: str | None
    token: str

    @property
    def label(self) -> str:
        """Role and name, as the token table prints them."""
        return f"{self.role} {self.name}".strip()


class Clock:
    """Progress lines with the time since the demo started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", flush=True)


def _loaded(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT value FROM liftwatch_meta WHERE key = %s", (DEMO_KEY,)).fetchone()
    return row["value"] if row else None


def _held(conn: psycopg.Connection[Any], plan: DemoPlan) -> int:
    """Events of the simulated history the database holds, whichever run stored them.

    The simulator's event ids are fixed by its seed, so a history published again (``--reload``,
    or after an interrupted first load) is absorbed as duplicates: counting what the database
    holds, not what this run newly committed, is what makes those loads finish.
    """
    row = conn.execute(
        "SELECT (SELECT count(*) FROM fault_event WHERE occurred_at >= %(a)s AND occurred_at < %(b)s)"
        " + (SELECT count(*) FROM inspection_event WHERE occurred_at >= %(a)s AND occurred_at < %(b)s)"
        " + (SELECT count(*) FROM maintenance_event WHERE occurred_at >= %(a)s AND occurred_at < %(b)s)"
        " + (SELECT count(*) FROM status_sample WHERE occurred_at >= %(a)s AND occurred_at < %(b)s)"
        " AS n",
        # A day's margin each side: the history's first and last events carry a +08:00 offset.
        {"a": plan.start - timedelta(days=1), "b": plan.as_of + timedelta(days=1)},
    ).fetchone()
    return int(row["n"]) if row else 0


def _dead_letters(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM dead_letter").fetchone()
    return int(row["n"]) if row else 0


def _die_with_parent() -> None:
    """In a child process: ask Linux to stop it when the demo dies, even by SIGKILL, so an
    interrupted demo leaves no worker holding the broker sessions the next run needs."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


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
            preexec_fn=_die_with_parent,
        )
        for client_id in _worker_ids(n)
    ]


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def _wait_held(
    plan: DemoPlan,
    *,
    db: str,
    expected: int,
    dead_before: int,
    workers: list[subprocess.Popen[bytes]],
    say: Callable[[str], None],
) -> tuple[int, int]:
    """Wait until the database holds every event published or its dead letter; returns both."""
    moved_at, before = time.monotonic(), -1
    shown, last_line = -1, 0.0
    with connect(db, autocommit=True) as conn:
        while True:
            held, dead = _held(conn, plan), _dead_letters(conn) - dead_before
            if held + dead >= expected:
                return held, dead
            if held + dead != before:
                moved_at, before = time.monotonic(), held + dead
            if time.monotonic() - moved_at > STALL_SECONDS or all(
                w.poll() is not None for w in workers
            ):
                raise RuntimeError(
                    f"ingestion stalled at {held + dead:,} of {expected:,} events "
                    f"(nothing new for {STALL_SECONDS} s); see `liftwatch ingest stats`"
                )
            if held != shown and time.monotonic() - last_line >= 5:
                say(f"  {held:,} of {expected:,} events stored")
                shown, last_line = held, time.monotonic()
            time.sleep(1)


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
        dead_before = _dead_letters(conn)
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
            last = [time.perf_counter()]

            def progress(sent: int, acked: int, last: list[float] = last) -> None:
                if time.perf_counter() - last[0] > 5:
                    last[0] = time.perf_counter()
                    say(f"  {acked:,} messages acknowledged by the broker")

            report = publish(sim.events(), mqtt, processes=1, max_inflight=2000, progress=progress)
            expected += report.valid_distinct
            say(f"  published {report.sent:,} messages ({report.sent / report.seconds:,.0f}/s)")
        held, dead = _wait_held(
            plan, db=db, expected=expected, dead_before=dead_before, workers=workers, say=say
        )
        say(f"{held:,} events stored through the MQTT ingestion path")
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


def _wanted(conn: psycopg.Connection[Any]) -> list[tuple[str, str | None, str, str | None]]:
    """The demo's users: the bureau, street office and contractor of Daoxiangyuan West first, then
    an admin and a bureau for every other district."""
    place = conn.execute(
        "SELECT s.district_id, d.name AS d_name, d.name_en AS d_en,"
        " s.street_office_id, s.name AS s_name, s.name_en AS s_en,"
        " k.contractor_id, k.name AS k_name, k.name_en AS k_en"
        " FROM unit_place p JOIN community c USING (community_id)"
        " JOIN street_office s ON s.street_office_id = p.street_office_id"
        " JOIN district d ON d.district_id = p.district_id"
        " JOIN contractor k ON k.contractor_id = p.contractor_id"
        " WHERE c.name LIKE %s ORDER BY p.unit_id LIMIT 1",
        ("%稻香园%",),
    ).fetchone()
    wanted: list[tuple[str, str | None, str, str | None]] = []
    if place:
        wanted += [
            ("bureau", place["district_id"], place["d_name"], place["d_en"]),
            ("street_office", place["street_office_id"], place["s_name"], place["s_en"]),
            ("contractor", place["contractor_id"], place["k_name"], place["k_en"]),
        ]
    wanted.append(("admin", None, "", None))
    for d in conn.execute("SELECT district_id, name, name_en FROM district ORDER BY district_id"):
        if not place or d["district_id"] != place["district_id"]:
            wanted.append(("bureau", d["district_id"], d["name"], d["name_en"]))
    return wanted


def tokens(db: str, data_dir: Path) -> list[DemoAccount]:
    """The demo's accounts, made once per data directory and kept in it (tokens are shown once,
    so the file is how later runs offer them again); a token that no longer works is replaced."""
    from api.tokens import authenticate, create_token

    path = data_dir / TOKENS_FILE
    kept: dict[tuple[str, str | None], DemoAccount] = {}
    if path.exists():
        for item in json.loads(path.read_text(encoding="utf-8")):
            saved = DemoAccount(**item)
            kept[(saved.role, saved.bound_to)] = saved
    accounts = []
    with connect(db) as conn:
        for role, bound, name, name_en in _wanted(conn):
            account = kept.get((role, bound))
            if account is None or authenticate(conn, token=account.token) is None:
                label = f"demo {role} {name}".strip()
                token, _ = create_token(conn, role=role, bound_to=bound, name=label)
                account = DemoAccount(role, bound, name, name_en, token)
            accounts.append(account)
        conn.commit()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(a) for a in accounts], ensure_ascii=False, indent=1))
    path.chmod(0o600)
    return accounts


def display_width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def token_table(accounts: list[DemoAccount]) -> str:
    """The accounts and their tokens, the tokens aligned whatever the names' scripts."""
    width = max((display_width(a.label) for a in accounts), default=0) + 2
    return "\n".join(
        f"  {a.label}{' ' * (width - display_width(a.label))}{a.token}" for a in accounts
    )


def _live_units(db: str) -> list[Any]:
    from liftwatch.live import LiveUnit

    with connect(db) as conn:
        rows = conn.execute(
            "SELECT unit_id, contractor_id FROM unit WHERE service_status = 'in_service'"
            " ORDER BY unit_id"
        ).fetchall()
    return [LiveUnit(r["unit_id"], r["contractor_id"]) for r in rows]


class Live:
    """What keeps the demo alive once it is ready: the ingest workers, the live fleet and the
    alert loop."""

    def __init__(self, plan: DemoPlan, *, db: str, mqtt: str) -> None:
        from liftwatch.live import LiveFleet

        # Every session of the shared group: the broker hands messages round-robin to all of
        # them, connected or not, so a session left without its worker would sit on its share.
        self.workers = _start_workers(plan.workers, db, mqtt)
        self.fleet = LiveFleet(
            _live_units(db),
            mqtt,
            status_every=plan.live_status_every,
            fault_every=plan.live_fault_every,
            seed=plan.seed,
        ).start()
        self.stopping = threading.Event()
        self.alerts = threading.Thread(target=self._alerts, args=(db,), daemon=True)
        self.alerts.start()

    def _alerts(self, db: str) -> None:
        from liftwatch.alerting import loop

        loop(db, settings=get_settings(), stop=self.stopping)

    def stop(self) -> None:
        """Stop publishing, the alert loop and the worker (which stores what it holds first)."""
        self.fleet.stop()
        self.stopping.set()
        self.alerts.join(timeout=30)
        _stop_workers(self.workers)


def run_demo(plan: DemoPlan, *, host: str, port: int, reload_data: bool) -> int:
    """The whole demo; returns when the server is stopped."""
    from api.app import create_app
    from api.server import EVENT_LOOP, GracefulServer

    # The demo prints one line per step itself; the libraries' INFO logs would repeat them.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    say = Clock()
    say("starting the database (embedded PostgreSQL unless LIFTWATCH_DATABASE_URL is set)")
    db = database_url()
    migrate.upgrade(db)
    mqtt = broker_url()
    say(f"broker at {mqtt}")
    live: Live | None = None
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
        accounts = tokens(db, get_settings().data_dir)
        live = Live(plan, db=db, mqtt=mqtt)
        base = f"http://{host}:{port}"
        say("ready")
        print(f"\n  liftwatch is serving on {base}")
        print(f"  dashboards: {base}/dashboards/  (the sign-in page offers the demo accounts)")
        print(f"  API:        {base}/v1/...  (OpenAPI document: {base}/openapi.json)")
        print(
            f"  live:       {len(live.fleet.units):,} units report every "
            f"{plan.live_status_every:.0f} s; alerts at {base}/dashboards/alerts\n"
        )
        print(token_table(accounts))
        print("\n  Ctrl-C stops the server, the broker and the database.\n", flush=True)
        os.environ["LIFTWATCH_DATABASE_URL"] = db
        get_settings.cache_clear()
        app = create_app()
        app.state.demo_accounts = [asdict(a) for a in accounts]
        GracefulServer(
            uvicorn.Config(app, host=host, port=port, log_level="warning", loop=EVENT_LOOP)
        ).run()
        say("stopping: server stopped; stopping the broker and the database")
    finally:
        if live is not None:
            live.stop()
        stop_local_broker()
        stop_embedded()
    return 0
