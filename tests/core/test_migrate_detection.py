"""Choosing the storage mode on a server where TimescaleDB is installed but not preloaded.

The server is a private copy of the system's PostgreSQL whose extension directory holds a
``timescaledb`` package that refuses to be created the way TimescaleDB does without
``shared_preload_libraries``: once with an ERROR, once by ending the session (TimescaleDB's own
refusal is FATAL). The system's PostgreSQL directories are never written to.
"""

from __future__ import annotations

import logging
import os
import pwd
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core import migrate
from core.errors import ConfigError
from core.settings import Settings, get_settings
from liftwatch.cli import main
from tests.support.servers import (
    PrivatePostgres,
    embedded_bindir,
    private_install,
    system_bindir,
)

CONTROL = (
    "comment = 'stand-in for TimescaleDB'\ndefault_version = '{version}'\nrelocatable = false\n"
)
REFUSALS = {
    # The message and hint TimescaleDB's loader gives when it is not in shared_preload_libraries.
    "2.28.1": """DO $$ BEGIN
    RAISE EXCEPTION 'extension "timescaledb" must be preloaded'
        USING HINT = 'Please preload the timescaledb library via shared_preload_libraries.';
END $$;
""",
    # TimescaleDB makes the refusal FATAL: the session that tried is gone.
    "2.28.3": """DO $$ BEGIN
    RAISE WARNING 'extension "timescaledb" must be preloaded';
    PERFORM pg_terminate_backend(pg_backend_pid());
END $$;
""",
}


def _extension_files(version: str) -> dict[str, str]:
    return {
        "timescaledb.control": CONTROL.format(version=version),
        f"timescaledb--{version}.sql": REFUSALS[version],
    }


def _install(root: Path, version: str) -> Path:
    """A private copy of the system's PostgreSQL, else of the embedded server's (the wheel ships
    its binaries), with the stand-in extension."""
    files = _extension_files(version)
    try:
        return private_install(root, files, system_bindir())
    except FileNotFoundError:
        embedded = embedded_bindir()
        return private_install(root, files, embedded, prefix=embedded.parents[2])


@pytest.fixture(scope="module", params=sorted(REFUSALS), ids=["error", "fatal"])
def unpreloaded_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Admin URL of a private server that lists timescaledb as available but cannot create it."""
    if os.geteuid() == 0 and not _has_user("postgres"):
        pytest.skip("as root, initdb needs a `postgres` user to run the private server as")
    with tempfile.TemporaryDirectory(prefix="liftwatch-pg-") as root:
        Path(root).chmod(0o755)
        bin_dir = _install(Path(root) / "install", request.param)
        pg = PrivatePostgres(Path(root) / "cluster", bin=bin_dir).start()
        try:
            yield pg.url
        finally:
            pg.stop()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def fresh_db(unpreloaded_server: str) -> str:
    """A new empty database on the private server."""
    name = f"lw_detect_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(unpreloaded_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(unpreloaded_server, dbname=name)


def test_the_stand_in_refuses_like_timescaledb(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        listed = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchall()
    assert listed == [(1,)]
    assert migrate.timescale_refusal(fresh_db) is not None


def test_auto_falls_back_to_postgres_with_one_warning(
    fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.migrate"):
        applied = migrate.upgrade(fresh_db, Settings(timescale="auto"))
    assert [m.version for m in applied] == [m.version for m in migrate.migrations()]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "shared_preload_libraries" in warnings[0]
    assert "must be preloaded" in warnings[0] or "terminating connection" in warnings[0]
    with psycopg.connect(fresh_db) as conn:
        facts = migrate.info(conn)
    assert facts["mode"] == "postgres"
    assert facts["timescaledb_version"] is None
    assert migrate.upgrade(fresh_db, Settings(timescale="auto")) == []


def test_on_fails_with_the_same_sentence_and_leaves_the_database_empty(fresh_db: str) -> None:
    with pytest.raises(ConfigError, match="shared_preload_libraries"):
        migrate.upgrade(fresh_db, Settings(timescale="on"))
    with psycopg.connect(fresh_db) as conn:
        assert migrate.info(conn)["mode"] == "uninitialized"


def test_off_never_tries_the_extension(fresh_db: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.migrate"):
        migrate.upgrade(fresh_db, Settings(timescale="off"))
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_db_info_says_why_the_installed_extension_is_not_used(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIFTWATCH_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    assert main(["db", "info"]) == 0
    out = capsys.readouterr().out
    assert "available on server: yes" in out
    assert "cannot be created here: " in out
    assert "must be preloaded" in out or "terminating connection" in out
