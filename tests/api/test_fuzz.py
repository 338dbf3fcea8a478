"""Property-based fuzzing of the API against its own OpenAPI document (schemathesis).

Every operation gets a bounded number of generated requests, sent over HTTP as an admin (who
reaches every code path) to a uvicorn server on a free port, serving a seeded database of this
module's own: no 5xx, and no response outside the documented statuses, media types and schemas.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.exports import MEDIA
from core.settings import Settings
from tests.api.conftest import seeded_database

MAX_EXAMPLES = 10

# The document only, from an app that is never started: no database is needed to describe it.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="postgresql:///unused")).openapi()
)


@schemathesis.serializer("application/x-ndjson", MEDIA["xlsx"])
def _raw(ctx: Any, value: Any) -> dict[str, Any]:
    """NDJSON and spreadsheet bodies are sent as generated."""
    return {"data": value if isinstance(value, bytes) else str(value).encode()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(pg_server_url: str, template_db: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A uvicorn server of the app on a seeded database; its base URL and the admin header."""
    with seeded_database(pg_server_url, template_db) as (url, tokens):
        port = _free_port()
        config = uvicorn.Config(
            create_app(Settings(database_url=url)), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {tokens['admin']}"}
        server.should_exit = True
        thread.join(timeout=15)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, server: tuple[str, dict[str, str]]) -> None:
    base_url, headers = server
    case.call_and_validate(
        base_url=base_url,
        headers=headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
