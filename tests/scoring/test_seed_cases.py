"""The Daoxiangyuan West case on the simulated seed-cases scenario, scored as of 2023-05-01."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import pytest

from core.scope import ADMIN, Scope
from queries import ranking as ranking_q
from queries import units as units_q
from scoring.policy import load_policy
from scoring.run import run
from tests.support.seed_cases import load_seed_cases

AS_OF = date(2023, 5, 1)
DXYX = [f"DXYX-0{b}-{n}" for b in (2, 4, 5, 7) for n in (1, 2)]
FAILED = {"DXYX-02-1", "DXYX-05-1", "DXYX-07-2"}


@pytest.fixture
def seed_run(conn: psycopg.Connection[Any]) -> int:
    """The seed-cases scenario loaded through the register importer and ingestion, then scored."""
    result = load_seed_cases(conn)
    assert result.stored > 1000
    assert not result.rejected
    return run(conn, as_of=AS_OF, policy=load_policy(), expected_life_years=18.0)


def test_daoxiangyuan_west_is_flagged_failed_units_first_and_scoped(
    conn: psycopg.Connection[Any], seed_run: int
) -> None:
    page = ranking_q.ranking(conn=conn, scope=ADMIN, run_id=seed_run, community_id="DXYX", limit=20)
    ranked = [item["unit_id"] for item in page.items]
    assert sorted(ranked) == sorted(DXYX)
    assert set(ranked[:3]) == FAILED
    # The other five are flagged for what their inspections found, not for their age alone.
    for item in page.items[3:]:
        assert item["flag"] in ("replace_or_overhaul", "safety_assessment")
        assert "repeated_defects" in item["flag_rule"] or "rectification" in item["flag_rule"]
    whole = ranking_q.ranking(conn=conn, scope=ADMIN, run_id=seed_run, limit=3)
    assert {i["unit_id"] for i in whole.items} == FAILED
    for unit_id in FAILED:
        found = units_q.explanation(conn=conn, scope=ADMIN, unit_id=unit_id)
        assert found is not None
        assert found["flag"] == "stopped"
        en = " | ".join(f["en"] for f in found["factors"])
        zh = " | ".join(f["zh"] for f in found["factors"])
        assert "17 years since last renewal" in en
        assert "距上次大修改造已17年" in zh
        assert "failed periodic inspection on 2023-04-12" in en
        assert "2023-04-12定期检验不合格" in zh
    # The same run, seen from two district bureaus.
    haidian = Scope("bureau", "110108")
    changping = Scope("bureau", "110114")
    assert units_q.explanation(conn=conn, scope=haidian, unit_id="DXYX-02-1") is not None
    assert units_q.explanation(conn=conn, scope=changping, unit_id="DXYX-02-1") is None
    assert units_q.score_history(conn=conn, scope=changping, unit_id="DXYX-02-1") == []
    page = ranking_q.ranking(conn=conn, scope=changping, run_id=seed_run, limit=100)
    assert page.items
    assert all(i["district_id"] == "110114" for i in page.items)


def test_daoxiangyuan_west_hazard_units_rank_among_the_worst_by_likelihood(
    conn: psycopg.Connection[Any], seed_run: int
) -> None:
    """The five units that passed in 2023 only with hazards are worn like the three that failed
    (the same renewal of 2006, years of inspections passed only after rectification, three of
    their batch failed): by likelihood they rank among the worst of the fleet (they ranked 19th
    to 26th of 37 when their batch's failures were not read), though their own faults are no more
    frequent than those of the busier Runfeng Xinshang units."""
    page = ranking_q.ranking(conn=conn, scope=ADMIN, run_id=seed_run, sort="pof", limit=100)
    order = [item["unit_id"] for item in page.items]
    assert len(order) == 37
    assert set(order[:3]) == FAILED
    positions = {u: order.index(u) + 1 for u in DXYX if u not in FAILED}
    assert max(positions.values()) <= round(0.4 * len(order)), positions
    assert sum(positions.values()) / len(positions) <= 10, positions
