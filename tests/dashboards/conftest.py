"""Fixtures of the dashboard tests: the small district and an HTTP client of the app."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from core.settings import get_settings
from tests.dashboards import factories

# Starlette prefers the httpx2 fork, which this environment does not ship; httpx works the same.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture
def world(conn: psycopg.Connection[dict[str, Any]]) -> factories.World:
    """The small district in this test's database."""
    return factories.build(conn)


@pytest.fixture
def client(world: factories.World, db_url: str) -> Iterator[TestClient]:
    """A client of the app on this test's database (follows no redirects)."""
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c
