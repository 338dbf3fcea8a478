"""Fixtures shared by every test: a real PostgreSQL (one fresh database per test) and brokers."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from core.settings import get_settings
from tests.support.servers import Mosquitto

SHARED_BROKER = os.environ.get("LIFTWATCH_TEST_BROKER_URL", "mqtt://127.0.0.1:1883")


def _server_url() -> Iterator[str]:
    url = os.environ.get("LIFTWATCH_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from core.embedded import embedded_url, stop_embedded

    with tempfile.TemporaryDirectory(prefix="liftwatch-test-pg-") as tmp:
        yield embedded_url(Path(tmp) / "pgdata")
        stop_embedded()


def _with_database(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """An admin URL of the PostgreSQL server the tests use."""
    yield from _server_url()


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    """A database migrated once per session, copied for each test."""
    from core import migrate

    name = f"lw_tpl_{os.getpid()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(_with_database(pg_server_url, name))
    # A database can be copied only while nobody is connected to it, and TimescaleDB's job
    # scheduler connects to every database it sees: close the template to new sessions and end
    # those already there.
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """URL of a new, empty database, dropped after the test."""
    name = f"lw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield _with_database(pg_server_url, name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def db_url(pg_server_url: str, template_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of a migrated database of this test's own; also set as LIFTWATCH_DATABASE_URL."""
    name = f"lw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = _with_database(pg_server_url, name)
    monkeypatch.setenv("LIFTWATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """An autocommit connection with dict rows to this test's database."""
    from core.db import connect

    with connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def shared_broker_url() -> str:
    """The machine's Mosquitto (127.0.0.1:1883 unless LIFTWATCH_TEST_BROKER_URL says otherwise)."""
    return SHARED_BROKER


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto broker of this test's own, on a free port, with the limits of
    deploy/mosquitto.conf; stopped afterwards."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own data directory and fresh settings."""
    monkeypatch.setenv("LIFTWATCH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
