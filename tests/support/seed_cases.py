"""The seed-cases scenario as liftwatch really gets it: the register through the importer, five
years of simulated history through the ingestion pipeline."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from core.register import import_rows
from ingest.pipeline import IngestResult
from liftwatch.history import ingest_events
from simulators.model import simulate
from simulators.scenario import load_scenario


def load_seed_cases(conn: psycopg.Connection[Any]) -> IngestResult:
    """Import the seed cases' register (as held on 2023-04-30) and their 2018-2023 history."""
    scenario = load_scenario("seed-cases")
    import_rows(conn, scenario.register_rows(date(2023, 4, 30)), source="seed-cases")
    sim = simulate(scenario, start=date(2018, 1, 1), end=date(2023, 5, 2), seed=1)
    return ingest_events(conn, sim.events())
