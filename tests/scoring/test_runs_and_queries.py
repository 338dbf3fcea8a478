"""Stored runs and the query functions the API calls: pagination, filters, scope, history, comparison."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg
import pytest

from core.errors import Invalid
from core.scope import ADMIN, Scope
from queries import ranking as ranking_q
from queries import runs as runs_q
from queries import units as units_q
from scoring.policy import load_policy
from scoring.run import run
from tests.scoring import factories as f

POLICY = load_policy()


def _two_districts(conn: psycopg.Connection[Any]) -> None:
    """Two districts of 15 units each, with faults rising with the unit number."""
    for d in ("D1", "D2"):
        f.place(conn, district=d, street=f"{d}-S", community=f"{d}-C", contractor=f"{d}-K")
        for b in range(5):
            building = f"{d}-B{b}"
            f.building(conn, building, community=f"{d}-C", floors=6 + 3 * b)
            for n in range(3):
                unit_id = f"{d}-U{b}{n}"
                f.unit(
                    conn,
                    unit_id,
                    building_id=building,
                    installed_on=f"{1995 + 4 * b}-01-01",
                    contractor=f"{d}-K",
                )
                for k in range(2 * n + b):
                    f.fault(
                        conn,
                        unit_id,
                        f.at("2023-01-03") + timedelta(days=9 * k),
                        contractor=f"{d}-K",
                    )
                f.inspection(conn, unit_id, f.at("2022-11-01"), contractor=f"{d}-K")


def _run(conn: psycopg.Connection[Any], day: date) -> int:
    return run(conn, as_of=day, policy=POLICY, expected_life_years=18.0)


def test_keyset_pages_walk_the_whole_ranking_once(conn: psycopg.Connection[Any]) -> None:
    _two_districts(conn)
    run_id = _run(conn, date(2023, 5, 1))
    for sort in ("risk", "health", "pof", "cof"):
        seen: list[str] = []
        cursor = None
        while True:
            page = ranking_q.ranking(
                conn=conn, scope=ADMIN, run_id=run_id, sort=sort, limit=7, cursor=cursor
            )
            seen += [i["unit_id"] for i in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == 30
        assert len(set(seen)) == 30
    ranks = [i["rank"] for i in ranking_q.ranking(conn=conn, scope=ADMIN, limit=30).items]
    assert ranks == list(range(1, 31))
    by_health = ranking_q.ranking(conn=conn, scope=ADMIN, sort="health", limit=30).items
    assert [i["health"] for i in by_health] == sorted(
        (i["health"] for i in by_health), reverse=True
    )
    item = by_health[0]
    assert {
        "unit_id",
        "rank",
        "health",
        "pof",
        "cof",
        "risk",
        "flag",
        "flag_rule",
        "reasons",
        "building_id",
        "district_id",
        "model_probability",
    } <= item.keys()
    assert item["reasons"][0]["zh"] and item["reasons"][0]["en"]


def test_filters_and_scope_are_applied_in_sql(conn: psycopg.Connection[Any]) -> None:
    _two_districts(conn)
    _run(conn, date(2023, 5, 1))
    d2 = Scope("bureau", "D2")
    page = ranking_q.ranking(conn=conn, scope=d2, limit=100)
    assert len(page.items) == 15
    assert {i["district_id"] for i in page.items} == {"D2"}
    assert ranking_q.ranking(conn=conn, scope=d2, district_id="D1", limit=100).items == []
    assert len(ranking_q.ranking(conn=conn, scope=ADMIN, building_id="D1-B2", limit=100).items) == 3
    contractor = Scope("contractor", "D1-K")
    assert {
        i["contractor_id"] for i in ranking_q.ranking(conn=conn, scope=contractor, limit=100).items
    } == {"D1-K"}
    flagged = ranking_q.ranking(conn=conn, scope=ADMIN, flag="ok", limit=100).items
    assert all(i["flag"] == "ok" for i in flagged)
    assert units_q.explanation(conn=conn, scope=d2, unit_id="D1-U00") is None
    assert units_q.explanation(conn=conn, scope=d2, unit_id="nope") is None
    with pytest.raises(Invalid):
        ranking_q.ranking(conn=conn, scope=ADMIN, sort="age")
    with pytest.raises(Invalid):
        ranking_q.ranking(conn=conn, scope=ADMIN, cursor="garbage")


def test_history_and_comparison_explain_what_moved(conn: psycopg.Connection[Any]) -> None:
    _two_districts(conn)
    first = _run(conn, date(2023, 5, 1))
    for k in range(12):
        f.fault(
            conn,
            "D1-U00",
            f.at("2023-06-01") + timedelta(days=3 * k),
            severity="critical",
            entrapment=True,
            contractor="D1-K",
        )
    second = _run(conn, date(2023, 7, 31))
    history = units_q.score_history(conn=conn, scope=ADMIN, unit_id="D1-U00")
    assert [h["run_id"] for h in history] == [first, second]
    assert history[1]["rank"] < history[0]["rank"]
    assert history[1]["health"] > history[0]["health"]
    diff = runs_q.compare_runs(conn=conn, scope=ADMIN, run_a=first, run_b=second)
    mover = diff["moved_up"][0]
    assert mover["unit_id"] == "D1-U00"
    factors = [w["factor"] for w in mover["why"]]
    assert factors[0] in {"fault_rate", "serious_rate", "entrapments", "trend"}
    assert diff["run_a"]["run_id"] == first
    outside = runs_q.compare_runs(conn=conn, scope=Scope("bureau", "D2"), run_a=first, run_b=second)
    assert all(m["unit_id"].startswith("D2") for m in outside["moved_up"] + outside["moved_down"])
    assert [r["run_id"] for r in runs_q.runs(conn=conn)] == [second, first]
    latest_before = ranking_q.ranking(conn=conn, scope=ADMIN, as_of=date(2023, 6, 1), limit=1)
    assert latest_before.run is not None
    assert latest_before.run["run_id"] == first
    found = units_q.explanation(conn=conn, scope=ADMIN, unit_id="D1-U00", run_id=first)
    assert found is not None
    assert found["run_id"] == first
    assert found["flag_reason"] is None or found["flag_reason"]["zh"]
    assert sum(
        x["contribution"] or 0 for x in found["factors"] if x["factor"] != "failed_inspection"
    ) == pytest.approx(found["health"], abs=0.01)


def test_run_records_policy_timings_and_every_unit(conn: psycopg.Connection[Any]) -> None:
    _two_districts(conn)
    run_id = _run(conn, date(2023, 5, 1))
    stored = conn.execute("SELECT * FROM score_run WHERE run_id = %s", (run_id,)).fetchone()
    assert stored is not None
    assert stored["unit_count"] == 30
    assert stored["policy_version"] == POLICY.version
    assert stored["policy_hash"] == POLICY.hash
    assert {"features_sql", "model", "write_run"} <= stored["timings"].keys()
    count = conn.execute(
        "SELECT count(*) AS n FROM unit_score WHERE run_id = %s", (run_id,)
    ).fetchone()
    assert count == {"n": 30}
