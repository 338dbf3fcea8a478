"""TimescaleDB mode on a real TimescaleDB 2.x server: hypertables, compression, retention, the
fault_daily continuous aggregate, and agreement with plain PostgreSQL mode.

Every test is skipped, with the reason, when the server cannot create the timescaledb extension.
Names of views and columns are those of TimescaleDB 2.x's timescaledb_information schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from core import migrate
from core.db import connect
from core.settings import Settings
from ingest.pipeline import ingest_messages
from tests.ingest.factories import add_register, message, payload
from tests.timescale.conftest import timescale_or_skip

pytestmark = pytest.mark.timescale

EVENT_TABLES = ("fault_event", "inspection_event", "maintenance_event", "status_sample")
SPARSE_ORDER = [("unit_id", True), ("occurred_at", False), ("event_id", True)]
FAULT_DAILY_COLUMNS = "day, unit_id, cause, faults, entrapments, critical, downtime_hours"


def _faults(now: datetime) -> list[tuple[Any, ...]]:
    """Faults from 2012 to two days ago, every 37 days, on three units; two of them on one
    Beijing day that straddles a UTC midnight."""
    rows: list[tuple[Any, ...]] = []
    at = datetime(2012, 1, 1, 3, 0, tzinfo=UTC)
    n = 0
    while at < now - timedelta(days=2):
        ended = at + timedelta(hours=n % 7) if n % 4 else None
        rows.append(
            (
                uuid.UUID(int=n + 1),
                f"U{n % 3 + 1}",
                at,
                ("equipment", "external", "misuse", "unknown")[n % 4],
                ("minor", "major", "critical")[n % 3],
                n % 5 == 0,
                ended,
            )
        )
        at += timedelta(days=37, hours=5)
        n += 1
    late_evening = datetime(2019, 6, 30, 20, 0, tzinfo=UTC)  # 04:00 on 1 July in Beijing
    for i, when in enumerate((late_evening, late_evening + timedelta(hours=8))):
        rows.append((uuid.uuid4(), "U1", when, "equipment", "critical", i == 0, when))
    return rows


def _insert_faults(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    # One transaction: a refresh running meanwhile sees all of these rows or none of them.
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
            " severity, entrapment, ended_at) VALUES (%s, %s, 'C1', %s, '01', %s, %s, %s, %s)",
            rows,
        )


def _fault_daily(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return conn.execute(
        f"SELECT {FAULT_DAILY_COLUMNS} FROM fault_daily ORDER BY day, unit_id, cause"
    ).fetchall()


def _refresh_job(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The refresh policy of fault_daily, as timescaledb_information.jobs shows it."""
    rows = conn.execute(
        "SELECT j.job_id, j.schedule_interval, j.config ->> 'start_offset' AS start_offset,"
        " (j.config ->> 'end_offset')::interval AS end_offset"
        " FROM timescaledb_information.jobs j"
        " JOIN timescaledb_information.continuous_aggregates c"
        "   ON (j.hypertable_schema, j.hypertable_name)"
        "    = (c.materialization_hypertable_schema, c.materialization_hypertable_name)"
        " WHERE c.view_name = 'fault_daily'"
        "   AND j.proc_name = 'policy_refresh_continuous_aggregate'"
    ).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def _pause_refresh_policy(conn: psycopg.Connection[Any]) -> None:
    """Keep the scheduler from refreshing fault_daily: the test runs the policy when it says so."""
    conn.execute("SELECT alter_job(%s, scheduled => false)", (_refresh_job(conn)["job_id"],))


def _run_refresh_policy(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CALL run_job(%s)", (_refresh_job(conn)["job_id"],))


def _fault_chunks(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """(compressed, all) chunks of fault_event."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE is_compressed) AS compressed, count(*) AS chunks"
        " FROM timescaledb_information.chunks WHERE hypertable_name = 'fault_event'"
    ).fetchone()
    assert row is not None
    return int(row["compressed"]), int(row["chunks"])


def _compress_fault_chunks(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('fault_event') c"
    )
    compressed, chunks = _fault_chunks(conn)
    assert compressed == chunks > 0


def _compression_settings(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Per hypertable: its segmentby columns and its orderby columns with their direction."""
    found: dict[str, Any] = {t: {"segmentby": [], "orderby": []} for t in EVENT_TABLES}
    for r in conn.execute(
        "SELECT hypertable_name, attname, segmentby_column_index, orderby_column_index,"
        " orderby_asc FROM timescaledb_information.compression_settings"
        " WHERE hypertable_name = ANY(%s)"
        " ORDER BY hypertable_name, segmentby_column_index, orderby_column_index",
        (list(EVENT_TABLES),),
    ):
        table = found[r["hypertable_name"]]
        if r["segmentby_column_index"] is not None:
            table["segmentby"].append(r["attname"])
        if r["orderby_column_index"] is not None:
            table["orderby"].append((r["attname"], r["orderby_asc"]))
    return found


@pytest.fixture
def postgres_twin(pg_server_url: str) -> Iterator[str]:
    """A second database on the same server, migrated in plain PostgreSQL mode."""
    name = f"lw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(pg_server_url, dbname=name)
    migrate.upgrade(url, Settings(timescale="off"))
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def test_event_tables_are_hypertables_with_their_chunk_intervals(ts_url: str) -> None:
    with connect(ts_url) as conn:
        assert migrate.info(conn)["mode"] == "timescale"
        dims = {
            r["hypertable_name"]: (r["column_name"], r["time_interval"])
            for r in conn.execute(
                "SELECT hypertable_name, column_name, time_interval"
                " FROM timescaledb_information.dimensions"
            )
        }
        compression = {
            r["hypertable_name"]: r["compression_enabled"]
            for r in conn.execute(
                "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
            )
        }
    assert {k: v for k, v in dims.items() if k in EVENT_TABLES} == {
        "fault_event": ("occurred_at", timedelta(days=180)),
        "inspection_event": ("occurred_at", timedelta(days=365)),
        "maintenance_event": ("occurred_at", timedelta(days=180)),
        "status_sample": ("occurred_at", timedelta(days=7)),
    }
    assert {t: compression[t] for t in EVENT_TABLES} == dict.fromkeys(EVENT_TABLES, True)


def test_compression_segments_only_the_dense_table(ts_url: str) -> None:
    with connect(ts_url) as conn:
        settings = _compression_settings(conn)
    assert settings == {
        "status_sample": {"segmentby": ["unit_id"], "orderby": [("occurred_at", False)]},
        "fault_event": {"segmentby": [], "orderby": SPARSE_ORDER},
        "maintenance_event": {"segmentby": [], "orderby": SPARSE_ORDER},
        "inspection_event": {"segmentby": [], "orderby": SPARSE_ORDER},
    }


def test_compression_and_retention_policies(ts_url: str) -> None:
    settings = Settings()
    with connect(ts_url) as conn:
        jobs = conn.execute(
            "SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs"
            " WHERE hypertable_name = ANY(%s) ORDER BY 1, 2",
            (list(EVENT_TABLES),),
        ).fetchall()
        compress_after = {
            j["hypertable_name"]: conn.execute(
                "SELECT %s::interval = make_interval(days => %s) AS ok",
                (j["config"]["compress_after"], settings.compress_after_days),
            ).fetchone()
            for j in jobs
            if j["proc_name"] == "policy_compression"
        }
        drop_after = [
            conn.execute(
                "SELECT %s::interval = make_interval(days => %s) AS ok",
                (j["config"]["drop_after"], settings.status_retention_days),
            ).fetchone()
            for j in jobs
            if j["proc_name"] == "policy_retention"
        ]
    assert [(j["proc_name"], j["hypertable_name"]) for j in jobs] == [
        ("policy_compression", "fault_event"),
        ("policy_compression", "inspection_event"),
        ("policy_compression", "maintenance_event"),
        ("policy_compression", "status_sample"),
        # Faults, inspections and maintenance are the evidence behind scores: never dropped.
        ("policy_retention", "status_sample"),
    ]
    assert compress_after == {table: {"ok": True} for table in EVENT_TABLES}
    assert drop_after == [{"ok": True}]


def test_fault_daily_is_real_time_and_refreshed_from_the_beginning(ts_url: str) -> None:
    with connect(ts_url) as conn:
        cagg = conn.execute(
            "SELECT materialized_only FROM timescaledb_information.continuous_aggregates"
            " WHERE view_name = 'fault_daily'"
        ).fetchone()
        job = _refresh_job(conn)
    assert cagg == {"materialized_only": False}
    assert job["schedule_interval"] == timedelta(hours=1)
    # No start offset: history of any age is materialized, not dropped out of the window.
    assert job["start_offset"] is None
    assert job["end_offset"] == timedelta(hours=1)


def test_a_duplicate_redelivered_into_a_compressed_chunk_is_stored_once_and_counted(
    ts_url: str,
) -> None:
    old = datetime(2020, 6, 1, 8, 0, tzinfo=UTC)
    fault = payload("fault", at=old)
    with connect(ts_url, autocommit=True) as conn:
        add_register(conn, {"U1": [("C1", datetime(2010, 1, 1, tzinfo=UTC), None)]})
        first = ingest_messages(conn, [message("C1", "U1", "fault", fault)], source="mqtt")
        assert (first.stored, first.duplicates) == (1, 0)
        _compress_fault_chunks(conn)
        again = ingest_messages(
            conn,
            [
                message("C1", "U1", "fault", fault),
                message("C1", "U1", "fault", payload("fault", at=old + timedelta(days=1))),
            ],
            source="mqtt",
        )
        stored = conn.execute(
            "SELECT count(*) AS n FROM fault_event WHERE event_id = %s", (fault["event_id"],)
        ).fetchone()
        total = conn.execute("SELECT count(*) AS n FROM fault_event").fetchone()
        dead = conn.execute("SELECT count(*) AS n FROM dead_letter").fetchone()
    assert (again.stored, again.duplicates, dict(again.rejected)) == (1, 1, {})
    assert stored == {"n": 1}
    assert total == {"n": 2}
    assert dead == {"n": 0}


def test_fault_daily_equals_plain_postgres_for_history_older_than_the_refresh_window(
    ts_url: str, postgres_twin: str
) -> None:
    faults = _faults(datetime.now(UTC))
    assert faults[0][2].year == 2012  # older than the 3 years the first policy kept
    with connect(postgres_twin, autocommit=True) as plain, connect(ts_url, autocommit=True) as ts:
        _pause_refresh_policy(ts)
        _insert_faults(plain, faults)
        _insert_faults(ts, faults)
        expected = _fault_daily(plain)
        assert len(expected) > 100
        assert _fault_daily(ts) == expected  # before any refresh: all of it from raw rows
        _run_refresh_policy(ts)
        assert _fault_daily(ts) == expected  # after it: nothing fell out of the window
        # And the materialized part alone holds the old history.
        ts.execute("ALTER MATERIALIZED VIEW fault_daily SET (timescaledb.materialized_only = true)")
        assert _fault_daily(ts) == expected
        # A historical import after the refresh reaches the aggregate at the next refresh.
        imported = [
            (uuid.uuid4(), "U9", datetime(2013, 2, 3, 4, 0, tzinfo=UTC), "equipment", "major",
             False, None),
        ]  # fmt: skip
        _insert_faults(plain, imported)
        _insert_faults(ts, imported)
        _run_refresh_policy(ts)
        assert _fault_daily(ts) == _fault_daily(plain)


def test_upgrading_a_database_with_compressed_faults_applies_the_new_settings(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment migrated before 0012, with faults already compressed and older than the old
    three-year refresh window, ends with every day of them in fault_daily."""
    timescale_or_skip(empty_db_url)
    every = migrate.migrations()
    monkeypatch.setattr(migrate, "migrations", lambda: [m for m in every if m.version < 12])
    migrate.upgrade(empty_db_url, Settings(timescale="on"))
    faults = _faults(datetime.now(UTC))
    with connect(empty_db_url, autocommit=True) as conn:
        _pause_refresh_policy(conn)
        _insert_faults(conn, faults)
        expected = _fault_daily(conn)
        _run_refresh_policy(conn)
        assert _fault_daily(conn) != expected  # the old window hid the oldest years
        _compress_fault_chunks(conn)
    monkeypatch.setattr(migrate, "migrations", lambda: every)
    assert 12 in [m.version for m in migrate.upgrade(empty_db_url, Settings(timescale="on"))]
    with connect(empty_db_url, autocommit=True) as conn:
        _pause_refresh_policy(conn)
        assert _fault_chunks(conn)[0] == 0  # decompressed, for the policy to redo
        assert _compression_settings(conn)["fault_event"] == {
            "segmentby": [],
            "orderby": SPARSE_ORDER,
        }
        _compress_fault_chunks(conn)  # recompressed with the new settings
        _run_refresh_policy(conn)
        assert _fault_daily(conn) == expected
        count = conn.execute("SELECT count(*) AS n FROM fault_event").fetchone()
    assert count == {"n": len(faults)}
