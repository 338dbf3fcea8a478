"""Connections to PostgreSQL: the URL to use, single connections and pools."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from core.embedded import embedded_url
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

APP_NAME = "liftwatch"


def database_url(settings: Settings | None = None) -> str:
    """The configured database URL, or the embedded server's when none is configured."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.embedded_pgdata, "liftwatch")


def connect(url: str | None = None, **kwargs: Any) -> psycopg.Connection[dict[str, Any]]:
    """One connection with dict rows."""
    return psycopg.connect(
        url or database_url(), row_factory=dict_row, application_name=APP_NAME, **kwargs
    )


@contextmanager
def transaction(url: str | None = None) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A connection whose work commits on success and rolls back on error."""
    with connect(url) as conn, conn.transaction():
        yield conn


def make_pool(
    url: str | None = None, *, min_size: int | None = None, max_size: int | None = None
) -> ConnectionPool[psycopg.Connection[dict[str, Any]]]:
    """A pool created closed (``open=False``): the caller opens it, e.g. in a lifespan."""
    settings = get_settings()
    return ConnectionPool(
        url or database_url(settings),
        min_size=settings.db_pool_min if min_size is None else min_size,
        max_size=settings.db_pool_max if max_size is None else max_size,
        kwargs={"row_factory": dict_row, "application_name": APP_NAME},
        open=False,
    )
