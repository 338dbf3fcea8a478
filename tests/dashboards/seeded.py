"""The seed-cases scenario as liftwatch really gets it: register import, simulated history through the
ingestion pipeline (with a few bad messages, which become dead letters), then one scoring run."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from api.tokens import create_token
from ingest.pipeline import Message, ingest_messages
from scoring.policy import load_policy
from scoring.run import run
from tests.support.seed_cases import load_seed_cases

AS_OF = date(2023, 5, 1)
DISTRICT = "110108"
STREET_OFFICE = "110108-HD"
CONTRACTOR = "BJ-JX-WB"
COMPOUND = "DXYX"
BUILDING = "DXYX-B02"
DXYX = tuple(f"DXYX-0{b}-{n}" for b in (2, 4, 5, 7) for n in (1, 2))
DXYX_BUILDINGS = ("DXYX-B02", "DXYX-B04", "DXYX-B05", "DXYX-B07")
FAILED = ("DXYX-02-1", "DXYX-05-1", "DXYX-07-2")
ROLES = {
    "admin": None,
    "bureau": DISTRICT,
    "street_office": STREET_OFFICE,
    "contractor": CONTRACTOR,
}


def build(conn: psycopg.Connection[Any]) -> tuple[int, dict[str, str]]:
    """Load, ingest and score the seed cases; return the run id and a token per role."""
    assert not load_seed_cases(conn).rejected
    bad = [
        Message(f"liftwatch/v1/{CONTRACTOR}/DXYX-99-9/fault", None, None, None, b'{"code": "01"}'),
        Message(f"liftwatch/v1/{CONTRACTOR}/DXYX-02-1/fault", None, None, None, b"not json"),
    ]
    result = ingest_messages(conn, bad, source="file")
    assert sum(result.rejected.values()) == 2, "the bad messages must become dead letters"
    run_id = run(conn, as_of=AS_OF, policy=load_policy(), expected_life_years=18.0)
    tokens = {
        role: create_token(conn, role=role, bound_to=bound)[0] for role, bound in ROLES.items()
    }
    return run_id, tokens
