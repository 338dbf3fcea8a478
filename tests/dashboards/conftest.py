"""Fixtures of the dashboard tests: databases filled once per module, and an HTTP client of the app."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from core.db import connect
from core.settings import Settings
from tests.dashboards import factories

# Starlette prefers the httpx2 fork, which this environment does not ship; httpx works the same.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@contextmanager
def filled_database(
    pg_server_url: str, template_db: str, fill: Callable[[psycopg.Connection[Any]], Any]
) -> Iterator[tuple[str, Any]]:
    """A migrated database of its own, filled by ``fill``; yields its URL and what fill returned."""
    name = f"lw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = psycopg.conninfo.make_conninfo(pg_server_url, dbname=name)
    try:
        with connect(url, autocommit=True) as conn:
            yield url, fill(conn)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def small_district(pg_server_url: str, template_db: str) -> Iterator[tuple[str, factories.World]]:
    """The factory's small district, built once for the module (tests only read it)."""
    with filled_database(pg_server_url, template_db, factories.build) as built:
        yield built


@pytest.fixture(scope="module")
def client(small_district: tuple[str, factories.World]) -> Iterator[TestClient]:
    """A client of the app on the small district (follows no redirects)."""
    app = create_app(Settings(database_url=small_district[0]))
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def world(small_district: tuple[str, factories.World], client: TestClient) -> factories.World:
    """The small district's run and tokens; the client starts each test signed out."""
    client.cookies.clear()
    return small_district[1]
