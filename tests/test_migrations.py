"""Schema migrations: from empty, twice, concurrently, and the plain-PostgreSQL mode end to end."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest

from core import migrate
from core.db import connect


def test_upgrade_from_empty_creates_every_table(empty_db_url: str) -> None:
    applied = migrate.upgrade(empty_db_url)
    assert [m.version for m in applied] == [m.version for m in migrate.migrations()]
    with connect(empty_db_url) as conn:
        facts = migrate.info(conn)
        tables = {
            r["relname"]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p', 'v', 'm')"
            )
        }
    assert facts["mode"] == "postgres"
    assert facts["migrations_pending"] == []
    for table in (
        "district",
        "street_office",
        "community",
        "building",
        "unit",
        "contractor",
        "unit_renewal",
        "unit_contract",
        "unit_change",
        "fault_event",
        "inspection_event",
        "maintenance_event",
        "status_sample",
        "dead_letter",
        "fault_daily",
        "schema_migrations",
    ):
        assert table in tables


def test_upgrade_twice_changes_nothing(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    assert migrate.upgrade(empty_db_url) == []
    with connect(empty_db_url) as conn:
        rows = conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()
    assert rows is not None and rows["n"] == len(migrate.migrations())


def test_concurrent_upgrades_apply_each_migration_once(empty_db_url: str) -> None:
    results: list[list[migrate.Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate.upgrade(empty_db_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 0, len(migrate.migrations())]


def test_timescale_on_without_the_extension_is_a_clear_error(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.errors import ConfigError
    from core.settings import Settings

    with connect(empty_db_url) as conn:
        if migrate.info(conn)["timescaledb_available"]:
            pytest.skip("this server has timescaledb")
    with pytest.raises(ConfigError, match="timescaledb"):
        migrate.upgrade(empty_db_url, Settings(timescale="on"))


def test_plain_postgres_mode_end_to_end(db_url: str) -> None:
    """Events of any date land in a partition, duplicates are stored once, fault_daily counts."""
    with connect(db_url, autocommit=True) as conn:
        assert migrate.info(conn)["mode"] == "postgres"
        event = uuid.uuid4()
        when = [
            datetime(1985, 3, 1, tzinfo=UTC),
            datetime(2023, 4, 11, 20, 0, tzinfo=UTC),  # 04:00 on 2023-04-12 in Beijing
            datetime(2023, 4, 12, 3, 0, tzinfo=UTC),
            datetime(2099, 1, 1, tzinfo=UTC),
        ]
        for i, ts in enumerate(when):
            for _ in range(2):  # every event delivered twice
                conn.execute(
                    "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code,"
                    " cause, severity, entrapment, ended_at) VALUES (%s, 'U1', 'C1', %s, '01',"
                    " %s, 'major', %s, %s + interval '2 hours') ON CONFLICT DO NOTHING",
                    (
                        uuid.UUID(int=event.int + i),
                        ts,
                        "equipment" if i else "external",
                        i == 2,
                        ts,
                    ),
                )
        assert conn.execute("SELECT count(*) AS n FROM fault_event").fetchone()["n"] == 4  # type: ignore[index]
        partitions = {
            r["tableoid"]
            for r in conn.execute("SELECT tableoid::regclass::text AS tableoid FROM fault_event")
        }
        assert partitions == {"fault_event_default", "fault_event_2023"}
        daily = conn.execute(
            "SELECT day, unit_id, cause, faults, entrapments, downtime_hours FROM fault_daily "
            "WHERE day >= '2023-01-01' AND day < '2024-01-01'"
        ).fetchall()
    assert len(daily) == 1
    row = daily[0]
    assert (row["unit_id"], row["cause"], row["faults"], row["entrapments"]) == (
        "U1",
        "equipment",
        2,
        1,
    )
    assert float(row["downtime_hours"]) == pytest.approx(4.0)
    # Days are Beijing days: 2023-04-11T20:00Z and 2023-04-12T03:00Z fall on the same one, which
    # a UTC day would have split into two rows.
    assert row["day"] == datetime(2023, 4, 12, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_score_place_migration_fills_the_scores_already_stored(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0007 gives every stored score its unit's place and first reasons."""
    every = migrate.migrations()
    monkeypatch.setattr(migrate, "migrations", lambda: [m for m in every if m.version < 7])
    migrate.upgrade(empty_db_url)
    factors = [
        {"factor": "consequence", "zh": "后果", "en": "consequence"},
        {"factor": "age", "zh": "老", "en": "old"},
        {"factor": "fault_rate", "zh": "多", "en": "faults"},
        {"factor": "flag_rule", "zh": "规则", "en": "rule"},
        {"factor": "downtime", "zh": "停", "en": "down"},
        {"factor": "data_freshness", "zh": "新", "en": "fresh"},
    ]
    with connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO district VALUES ('D1', '区'); INSERT INTO street_office VALUES ('S1', 'D1', '街');"
            " INSERT INTO community VALUES ('C1', 'S1', '社'); INSERT INTO contractor VALUES ('K1', '维');"
            " INSERT INTO building (building_id, community_id, name, floors, households)"
            " VALUES ('B1', 'C1', '楼', 6, 24);"
            " INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on,"
            " contractor_id) VALUES ('U1', 'R1', 'B1', 'M', '2000-01-01', 'K1');"
            " INSERT INTO score_run (as_of, policy_version, policy_hash) VALUES ('2023-05-01', 'p', 'h')"
        )
        for rank, unit_id in enumerate(("U1", "GONE"), 1):  # and a unit no longer registered
            conn.execute(
                "INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag,"
                " flag_rule, factors) VALUES (1, %s, %s, 5, 0.1, 1, 0.1, 'ok', 'r', %s)",
                (unit_id, rank, psycopg.types.json.Jsonb(factors)),
            )
    monkeypatch.setattr(migrate, "migrations", lambda: every)
    applied = [m.version for m in migrate.upgrade(empty_db_url)]
    assert applied == [m.version for m in every if m.version >= 7]
    with connect(empty_db_url) as conn:
        rows = conn.execute(
            "SELECT unit_id, district_id, street_office_id, contractor_id, reasons"
            " FROM unit_score ORDER BY unit_id"
        ).fetchall()
    reasons = [
        {"factor": f["factor"], "zh": f["zh"], "en": f["en"]} for f in factors[1:3] + factors[4:5]
    ]
    assert rows == [
        {
            "unit_id": "GONE",
            "district_id": None,
            "street_office_id": None,
            "contractor_id": None,
            "reasons": reasons,
        },
        {
            "unit_id": "U1",
            "district_id": "D1",
            "street_office_id": "S1",
            "contractor_id": "K1",
            "reasons": reasons,
        },
    ]


def test_migration_blocks_select_mode() -> None:
    m = migrate.Migration(
        9, "x", "A;\n-- @if timescale\nB;\n-- @endif\n-- @if postgres\nC;\n-- @endif\n"
    )
    from core.settings import Settings

    assert m.sql_for("postgres", Settings()).split() == ["A;", "C;"]
    assert m.sql_for("timescale", Settings()).split() == ["A;", "B;"]


@pytest.mark.timescale
def test_timescale_mode_end_to_end(empty_db_url: str) -> None:
    with connect(empty_db_url) as conn:
        if not migrate.info(conn)["timescaledb_available"]:
            pytest.skip(
                "the server has no timescaledb extension: set LIFTWATCH_TEST_DATABASE_URL "
                "to a TimescaleDB 2.x server to run this test"
            )
    migrate.upgrade(empty_db_url)
    with connect(empty_db_url, autocommit=True) as conn:
        facts = migrate.info(conn)
        assert facts["mode"] == "timescale"
        hypertables = {
            r["hypertable_name"]
            for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
        assert hypertables == {
            "fault_event",
            "inspection_event",
            "maintenance_event",
            "status_sample",
        }
        jobs = {
            (r["proc_name"], r["hypertable_name"])
            for r in conn.execute(
                "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs"
            )
        }
        assert ("policy_retention", "status_sample") in jobs
        assert ("policy_compression", "fault_event") in jobs
        event = uuid.uuid4()
        for _ in range(2):
            conn.execute(
                "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
                " severity) VALUES (%s, 'U1', 'C1', '2023-04-12T09:00+08', '01', 'equipment', 'major')"
                " ON CONFLICT DO NOTHING",
                (event,),
            )
        conn.execute("CALL refresh_continuous_aggregate('fault_daily', NULL, NULL)")
        row = conn.execute("SELECT faults FROM fault_daily WHERE unit_id = 'U1'").fetchone()
        assert row is not None and row["faults"] == 1
    with pytest.raises(psycopg.errors.UniqueViolation), connect(empty_db_url) as conn:
        conn.execute(
            "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
            " severity) VALUES (%s, 'U1', 'C1', '2023-04-12T09:00+08', '01', 'equipment', 'major')",
            (event,),
        )
