"""Fixtures of the TimescaleDB suite: skipped, with the reason, on a server without TimescaleDB."""

from __future__ import annotations

import psycopg
import pytest

from core import migrate
from core.settings import Settings


def timescale_or_skip(url: str) -> None:
    """Skip the test unless TimescaleDB can be created in the database at ``url``."""
    with psycopg.connect(url) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
    if not available:
        pytest.skip(
            "the server has no timescaledb extension: point LIFTWATCH_TEST_DATABASE_URL at a "
            "TimescaleDB 2.x server to run this suite"
        )
    refusal = migrate.timescale_refusal(url)
    if refusal is not None:
        pytest.skip(f"timescaledb is installed but cannot be created here: {refusal}")


@pytest.fixture
def ts_url(empty_db_url: str) -> str:
    """A database of this test's own, migrated in TimescaleDB mode."""
    timescale_or_skip(empty_db_url)
    migrate.upgrade(empty_db_url, Settings(timescale="on"))
    return empty_db_url
