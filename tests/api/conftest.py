"""A small two-district fleet, a token for every role, and a client of the app on the test database.

district D1 ── street office S1 ── community C1 ── building B1: units U1, U2 (contractor K1)
            │                                   └─ building B4: no unit
            └─ street office S2 ── community C2 ── building B2: unit U3 (contractor K2)
district D2 ── street office S3 ── community C3 ── building B3: unit U4 (contractor K1)
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.exceptions import StarletteDeprecationWarning

from api.app import create_app
from api.runs import start_run
from api.tokens import create_token
from core.db import connect
from core.register import import_rows
from core.settings import Settings, get_settings
from tests.core.factories import unit_row

# Starlette prefers the httpx2 fork, which this environment does not ship; httpx works the same.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

UNITS = {
    "U1": ("D1", "S1", "C1", "B1", "K1"),
    "U2": ("D1", "S1", "C1", "B1", "K1"),
    "U3": ("D1", "S2", "C2", "B2", "K2"),
    "U4": ("D2", "S3", "C3", "B3", "K1"),
}
ROLES = {
    "admin": ("admin", None),
    "bureau": ("bureau", "D1"),
    "street_office": ("street_office", "S1"),
    "contractor": ("contractor", "K1"),
    "contractor2": ("contractor", "K2"),
}
# What each token sees: the scope matrix the tests check against.
VISIBLE_UNITS = {
    "admin": {"U1", "U2", "U3", "U4"},
    "bureau": {"U1", "U2", "U3"},
    "street_office": {"U1", "U2"},
    "contractor": {"U1", "U2", "U4"},
    "contractor2": {"U3"},
}
VISIBLE_BUILDINGS = {
    "admin": {"B1", "B2", "B3", "B4"},
    "bureau": {"B1", "B2", "B4"},
    "street_office": {"B1", "B4"},
    "contractor": {"B1", "B3"},
    "contractor2": {"B2"},
}
T0 = datetime(2023, 4, 1, tzinfo=UTC)
RUN_DATES = (date(2023, 3, 1), date(2023, 5, 1))


def fleet_rows() -> list[dict[str, Any]]:
    """Register rows of the fleet drawn above."""
    rows = []
    for n, (unit, (district, office, community, building, contractor)) in enumerate(UNITS.items()):
        rows.append(
            unit_row(
                n,
                district_id=district,
                district=f"区{district}",
                street_office_id=office,
                street_office=f"街道{office}",
                community_id=community,
                community=f"小区{community}",
                building_id=building,
                building=f"{building}号楼",
                unit_id=unit,
                contractor_id=contractor,
                contractor=f"维保{contractor}",
                contractor_since="2000-01-01",
            )
        )
    return rows


def _seed(conn: psycopg.Connection[Any]) -> None:
    import_rows(conn, fleet_rows(), source="test")
    conn.execute(
        "INSERT INTO building (building_id, community_id, name, floors, households)"
        " VALUES ('B4', 'C1', 'B4号楼', 6, 24)"
    )
    for i, unit in enumerate(UNITS):
        contractor = UNITS[unit][4]
        for day in range(3):
            conn.execute(
                "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
                " severity) VALUES (%s, %s, %s, %s, '01', %s, 'major')",
                (
                    uuid.uuid4(),
                    unit,
                    contractor,
                    T0 + timedelta(days=day, hours=i),
                    "external" if day == 2 else "equipment",
                ),
            )
        conn.execute(
            "INSERT INTO inspection_event (event_id, unit_id, contractor_id, occurred_at,"
            " inspection_body, result) VALUES (%s, %s, %s, %s, '特检院', 'fail')",
            (uuid.uuid4(), unit, contractor, T0),
        )
        conn.execute(
            "INSERT INTO maintenance_event (event_id, unit_id, contractor_id, occurred_at, visit_type)"
            " VALUES (%s, %s, %s, %s, 'routine')",
            (uuid.uuid4(), unit, contractor, T0),
        )
        conn.execute(
            "INSERT INTO status_sample (event_id, unit_id, contractor_id, occurred_at, online, trips)"
            " VALUES (%s, %s, %s, %s, true, 1000)",
            (uuid.uuid4(), unit, contractor, T0),
        )
    for contractor, unit in (("K1", "U1"), ("K2", "U3"), ("K1", None)):
        conn.execute(
            "INSERT INTO dead_letter (source, topic, contractor_id, unit_id, kind, reason, detail,"
            " payload) VALUES ('mqtt', %s, %s, %s, 'fault', 'invalid_payload', 'bad', %s)",
            (f"liftwatch/v1/{contractor}/{unit}/fault", contractor, unit, b'{"x": 1}'),
        )


@dataclass
class Api:
    """A client of the app and a bearer header for each role."""

    client: TestClient
    tokens: dict[str, str]

    def as_(self, role: str) -> dict[str, str]:
        """The Authorization header of a role's token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, role: str, path: str, **kw: Any) -> Any:
        """GET as a role."""
        return self.client.get(path, headers=self.as_(role), **kw)


def make_tokens(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """One token per entry of ROLES."""
    return {
        name: create_token(conn, role=role, bound_to=bound, name=name)[0]
        for name, (role, bound) in ROLES.items()
    }


@pytest.fixture
def seeded(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The fleet above in this test's database; returns the tokens."""
    _seed(conn)
    return make_tokens(conn)


@pytest.fixture
def api(db_url: str, seeded: dict[str, str]) -> Iterator[Api]:
    """The app serving this test's own seeded database (for tests that change data)."""
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield Api(client, seeded)


@contextmanager
def seeded_database(pg_server_url: str, template_db: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A database of its own holding the fleet, two score runs and the tokens; dropped afterwards."""
    name = f"lw_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    url = psycopg.conninfo.make_conninfo(pg_server_url, dbname=name)
    try:
        with connect(url, autocommit=True) as c:
            _seed(c)
            settings = Settings(database_url=url, scoring_use_model=False)
            for as_of in RUN_DATES:
                start_run(c, settings=settings, as_of=as_of, note="test")
            tokens = make_tokens(c)
        yield url, tokens
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def shared_db(pg_server_url: str, template_db: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The seeded database shared by the tests that only read."""
    with seeded_database(pg_server_url, template_db) as db:
        yield db


@pytest.fixture(scope="session")
def shared_api(shared_db: tuple[str, dict[str, str]]) -> Iterator[Api]:
    """The app serving the shared, read-only database."""
    url, tokens = shared_db
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield Api(client, tokens)
