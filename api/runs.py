"""Starting a score run from the API with the configured policy, expected life and model."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import psycopg

from core.settings import Settings
from queries.runs import resolve_run
from scoring.model import load_model
from scoring.policy import load_policy
from scoring.run import run

log = logging.getLogger(__name__)


def start_run(
    conn: psycopg.Connection[Any], *, settings: Settings, as_of: date | None, note: str | None
) -> dict[str, Any]:
    """Score every unit as of a date (default today) in this transaction; return the stored run."""
    policy = load_policy(settings.scoring_policy)
    life = settings.scoring_expected_life or policy.section("health")["expected_life_years"]
    artifact = None
    if settings.scoring_use_model and settings.scoring_model_path.exists():
        artifact = load_model(settings.scoring_model_path)
    run_id = run(
        conn,
        as_of=as_of or date.today(),
        policy=policy,
        expected_life_years=float(life),
        model_artifact=artifact,
        progress=log.info,
        note=note,
    )
    stored = resolve_run(conn=conn, run_id=run_id)
    assert stored is not None
    return stored
