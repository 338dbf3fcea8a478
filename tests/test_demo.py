"""The demo's loading path end to end: register, MQTT publish, ingest workers, scoring, tokens."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.db import connect
from liftwatch.demo import DemoPlan, load, score, tokens
from tests.support.servers import Mosquitto


@pytest.mark.timeout(600)
def test_demo_loads_publishes_scores_and_flags_daoxiangyuan(
    db_url: str, mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = DemoPlan(city_units=40, start=date(2021, 1, 1), as_of=date(2023, 5, 1), workers=2)
    lines: list[str] = []
    load(plan, db=db_url, mqtt=mosquitto.url, say=lines.append)
    assert any("events stored through the MQTT ingestion path" in line for line in lines)
    assert not any("rejected: see" in line for line in lines), lines
    score(plan, db=db_url, say=lines.append)
    with connect(db_url) as conn:
        runs = conn.execute("SELECT run_id, as_of FROM score_run ORDER BY as_of").fetchall()
        assert [r["as_of"] for r in runs] == [date(2022, 5, 1), date(2023, 5, 1)]
        flagged: list[dict[str, Any]] = conn.execute(
            "SELECT s.unit_id, s.flag, s.rank FROM unit_score s "
            "JOIN unit_place p USING (unit_id) JOIN community c USING (community_id) "
            "WHERE s.run_id = %s AND c.name LIKE %s ORDER BY s.rank",
            (runs[-1]["run_id"], "%稻香园%"),
        ).fetchall()
    assert len(flagged) == 8
    # The failed three are stopped; the other five are flagged for what inspections found.
    assert {r["flag"] for r in flagged} <= {"stopped", "replace_or_overhaul", "safety_assessment"}
    assert [r["flag"] for r in flagged[:3]] == ["stopped"] * 3
    issued = tokens(db_url)
    roles = {label.split()[0] for label in issued}
    assert roles == {"admin", "bureau", "street_office", "contractor"}
    assert "bureau 海淀区" in issued
