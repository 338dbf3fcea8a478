"""schemathesis with every check it has (``--checks all``) against the live API, once per role.

A uvicorn server of the app on a free port serves a seeded database of this module's own; the
schemathesis command line runs against its /openapi.json as admin, bureau, street office and
contractor, positive and negative data, a bounded number of examples per operation. Zero failures:
no 5xx, nothing outside the documented statuses, media types, headers and schemas, bad input
refused with 422, good input accepted, 405 with ``Allow``, no access that ignores the token.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import seeded_database

MAX_EXAMPLES = 3
ROLES = ("admin", "bureau", "street_office", "contractor")
# `make test` fuzzes as the widest role (admin: every operation) and the narrowest (contractor:
# its own units and pushes); the two in between run with `make test-slow`. Every role's access
# to every route is checked in `make test` by tests/api/test_access_matrix.py.
SLOW_ROLES = ("bureau", "street_office")
TEST_NAME = "test_every_check_passes_for_every_role"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(pg_server_url: str, template_db: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A uvicorn server of the app on a seeded database; its base URL and every role's token."""
    with seeded_database(pg_server_url, template_db) as (url, tokens):
        port = _free_port()
        config = uvicorn.Config(
            create_app(Settings(database_url=url, api_ingest_rate=1000, api_ingest_burst=1000)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", tokens
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def runs(
    server: tuple[str, dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """One schemathesis run per role this session tests, all started at once (the server serves
    them together)."""
    base_url, tokens = server
    selected = {
        item.callspec.params["role"]
        for item in request.session.items
        if getattr(item, "originalname", None) == TEST_NAME and hasattr(item, "callspec")
    }
    started = {}
    for role in [r for r in ROLES if r in selected]:
        command = [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base_url}/openapi.json",
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261201",
            "--workers",
            "1",
            "--header",
            f"Authorization: Bearer {tokens[role]}",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "60",
        ]
        started[role] = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path_factory.mktemp(role),
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
        )
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
        process.communicate()


# About 90 s for the four runs on a quiet 2-core machine; the bound leaves room for a busy one.
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "role", [pytest.param(r, marks=pytest.mark.slow) if r in SLOW_ROLES else r for r in ROLES]
)
def test_every_check_passes_for_every_role(
    runs: dict[str, subprocess.Popen[str]], role: str
) -> None:
    output, _ = runs[role].communicate(timeout=840)
    assert runs[role].returncode == 0, output[-20000:]
    # The counts of this run, for the record (pytest -s shows them).
    print(role, *[line.strip() for line in output.splitlines() if "passed" in line][-1:])
