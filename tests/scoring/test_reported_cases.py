"""Cases reported from use: each one failed before its fix."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import psycopg

from core.i18n import STRINGS, t
from scoring.policy import default_policy_path, load_policy
from scoring.run import Scored, factors_of, score
from scoring.training import usable_snapshot_dates
from tests.scoring import factories as f

AS_OF = date(2023, 5, 1)
POLICY = load_policy()


def _score(conn: psycopg.Connection[Any], as_of: date = AS_OF) -> Scored:
    return score(conn, as_of=as_of, policy=POLICY, expected_life_years=18.0)


def _col(scored: Scored, unit_id: str, name: str) -> float:
    return float(scored.columns[name][scored.features.unit_ids.index(unit_id)])


def _factor(scored: Scored, unit_id: str, name: str) -> dict[str, Any]:
    factors = factors_of(scored, scored.features.unit_ids.index(unit_id))
    return next(x for x in factors if x["factor"] == name)


def test_a_fault_with_no_end_on_record_is_not_down_until_the_score_date(
    conn: psycopg.Connection[Any],
) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "U1", building_id="B1")
    f.fault(conn, "U1", f.at("2023-03-01"), hours=3.0)
    for day in ("2022-07-01", "2022-09-01", "2022-11-01"):
        f.fault(conn, "U1", f.at(day), hours=None)
    assert _col(_score(conn), "U1", "downtime_hours_365d") == 3.0


def test_an_unknown_elderly_share_is_said_to_be_unknown_not_zero(
    conn: psycopg.Connection[Any],
) -> None:
    f.place(conn)
    f.building(conn, "B1", elderly_share=None)
    f.unit(conn, "U1", building_id="B1")
    consequence = _factor(_score(conn), "U1", "consequence")
    assert "elderly share unknown (counted as 20%)" in consequence["en"]
    assert "老年人占比未知（按20%计）" in consequence["zh"]
    assert "elderly share 0%" not in consequence["en"]


def test_a_unit_stopped_by_a_failed_inspection_is_not_in_service_for_its_neighbour(
    conn: psycopg.Connection[Any],
) -> None:
    f.place(conn)
    f.building(conn, "B2")
    f.unit(conn, "B2-1", building_id="B2")
    f.unit(conn, "B2-2", building_id="B2")
    f.inspection(conn, "B2-1", f.at("2023-04-12"), result="fail", items=3)
    f.inspection(conn, "B2-2", f.at("2023-04-12"))
    scored = _score(conn)
    assert _col(scored, "B2-2", "other_units_in_service") == 0
    assert (
        "no other elevator of the building in service"
        in _factor(scored, "B2-2", "consequence")["en"]
    )
    # The redundancy factor follows: the neighbour is alone in the building.
    i = scored.features.unit_ids.index("B2-2")
    assert (
        scored.health.consequence["redundancy"][i]
        == POLICY.section("consequence")["redundancy"]["none"]
    )


def test_training_leaves_out_and_reports_snapshots_before_the_first_event(
    conn: psycopg.Connection[Any],
) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "U1", building_id="B1", installed_on="2005-01-01")
    f.fault(conn, "U1", f.at("2022-06-15"))
    said: list[str] = []
    days = usable_snapshot_dates(
        conn, as_of=date(2024, 6, 1), years=3, step_days=91, progress=said.append
    )
    assert days and min(days) >= date(2022, 6, 15)
    assert len(said) == 1 and "before the history starts" in said[0] and "2022-06-15" in said[0]


def test_english_counts_take_the_right_number(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "U1", building_id="B1")
    f.unit(conn, "U2", building_id="B1")
    f.fault(conn, "U1", f.at("2023-04-01"), entrapment=True)
    scored = _score(conn)
    assert _factor(scored, "U1", "entrapments")["en"].startswith("1 entrapment in 90 days")
    assert "1 equipment fault in" in _factor(scored, "U1", "fault_rate")["en"]
    consequence = _factor(scored, "U1", "consequence")["en"]
    assert "1 other elevator of the building" in consequence
    assert "2 elevators," in consequence
    assert "(s)" not in consequence


def test_the_fault_rate_is_compared_with_the_fleet_scored_not_the_city(
    conn: psycopg.Connection[Any],
) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "U1", building_id="B1")
    f.unit(conn, "U2", building_id="B1")
    f.fault(conn, "U1", f.at("2023-04-01"))
    factor = _factor(_score(conn), "U1", "fault_rate")
    assert "全市" not in factor["zh"] and "所评电梯平均" in factor["zh"]
    assert "fleet average" in factor["en"]


def test_silent_means_several_missed_reports_at_the_units_own_interval(
    conn: psycopg.Connection[Any],
) -> None:
    f.place(conn)
    f.building(conn, "B1")
    # Reports weekly, last 10 days ago: one missed report, not silent.
    f.unit(conn, "WEEKLY", building_id="B1")
    f.status(conn, "WEEKLY", "2023-02-01", "2023-04-21", every_days=7)
    # Reports weekly, last 26 days ago: three missed reports.
    f.unit(conn, "WEEKLY_GONE", building_id="B1")
    f.status(conn, "WEEKLY_GONE", "2023-02-01", "2023-04-05", every_days=7)
    # Reports daily, last 4 days ago: silent although within a week.
    f.unit(conn, "DAILY_GONE", building_id="B1")
    f.status(conn, "DAILY_GONE", "2023-02-01", "2023-04-27")
    scored = _score(conn)
    assert _col(scored, "WEEKLY", "report_interval_days") == 7.0
    assert _col(scored, "WEEKLY", "silent") == 0
    assert _col(scored, "WEEKLY_GONE", "silent") == 1
    assert _col(scored, "DAILY_GONE", "silent") == 1
    note = _factor(scored, "DAILY_GONE", "data_freshness")
    assert note["en"] == "no data for 4 days (usually reports every 1 day)"


def test_the_index_is_named_for_its_direction_in_both_languages() -> None:
    assert t("zh-CN", "col.health") == "劣化指数"
    assert t("en", "col.health") == "Deterioration index"
    shipped = default_policy_path().read_text(encoding="utf-8")
    for text in [*STRINGS["zh-CN"].values(), shipped]:
        assert "健康指数" not in text
    for text in [*STRINGS["en"].values(), shipped]:
        assert "health index" not in text.lower()


def test_fixed_cases_leave_ordinary_units_alone(conn: psycopg.Connection[Any]) -> None:
    f.place(conn)
    f.building(conn, "B1")
    f.unit(conn, "U1", building_id="B1")
    f.unit(conn, "U2", building_id="B1")
    f.inspection(conn, "U1", f.at("2023-01-10"))
    f.status(conn, "U1", "2023-02-01", "2023-04-30")
    scored = _score(conn)
    assert _col(scored, "U1", "silent") == 0
    assert _col(scored, "U2", "other_units_in_service") == 1
    assert np.isfinite(_col(scored, "U1", "report_interval_days"))
