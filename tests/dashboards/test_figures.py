"""Figure builders on plain rows: the right points, colours, labels and totals."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dashboards import figures
from dashboards.explain import contributions, top_reasons

FACTORS: list[dict[str, Any]] = [
    {
        "factor": "failed_inspection",
        "value": "2023-04-12",
        "modifier": None,
        "contribution": 1.2,
        "zh": "2023-04-12定期检验不合格",
        "en": "failed periodic inspection on 2023-04-12",
    },
    {
        "factor": "age",
        "value": 17.0,
        "modifier": None,
        "contribution": 3.1,
        "zh": "距上次大修改造已17年",
        "en": "17 years since last renewal",
    },
    {
        "factor": "fault_rate",
        "value": 9,
        "modifier": 1.5,
        "contribution": 2.0,
        "zh": "365天内设备故障9次",
        "en": "9 equipment faults in 365 days",
    },
    {
        "factor": "missed_maintenance",
        "value": 0,
        "modifier": 0.9,
        "contribution": -0.3,
        "zh": "维保按时",
        "en": "maintenance on time",
    },
    {
        "factor": "consequence",
        "value": {"households": 1.2},
        "modifier": 2.0,
        "contribution": None,
        "zh": "本楼173户",
        "en": "building of 173 households",
    },
    {
        "factor": "flag_rule",
        "value": "stopped.failed_inspection",
        "modifier": None,
        "contribution": None,
        "zh": "须停止使用",
        "en": "must not run",
    },
]


def _unit(
    uid: str, flag: str, pof: float, cof: float, office: str = "S1", community: str = "C1"
) -> dict[str, Any]:
    return {
        "unit_id": uid,
        "flag": flag,
        "pof": pof,
        "cof": cof,
        "risk": pof * cof,
        "building_name": "2号楼",
        "street_office_id": office,
        "street_office_name": "曙光街道",
        "street_office_name_en": "Shuguang",
        "community_id": community,
        "community_name": "稻香园西里",
        "community_name_en": None,
    }


def test_contributions_keep_only_factors_that_add_to_health() -> None:
    parts = contributions(FACTORS, "en")
    assert [p.name for p in parts] == [
        "failed_inspection",
        "age",
        "fault_rate",
        "missed_maintenance",
    ]
    assert sum(p.contribution for p in parts) == pytest.approx(6.0)
    assert parts[1].label == "Age (base deterioration)"


def test_top_reasons_start_with_the_flag_rule_then_the_biggest_factors() -> None:
    assert top_reasons(FACTORS, "en", n=3) == [
        "must not run",
        "17 years since last renewal",
        "9 equipment faults in 365 days",
    ]
    assert top_reasons(FACTORS, "zh-CN", n=2) == ["须停止使用", "距上次大修改造已17年"]
    assert top_reasons(None, "en") == []


def test_waterfall_adds_up_to_the_health_index() -> None:
    fig = figures.waterfall(FACTORS, "zh-CN", total_label="健康指数")
    trace = fig.data[0]
    assert list(trace.measure) == ["relative"] * 4 + ["total"]
    assert list(trace.x)[-1] == "健康指数"
    assert sum(trace.y[:-1]) == pytest.approx(6.0)
    assert "故障率" in trace.x


def test_breakdown_nests_communities_in_street_offices_with_flagged_share() -> None:
    units = [
        _unit("a", "stopped", 0.6, 2.0),
        _unit("b", "ok", 0.1, 1.0),
        _unit("c", "ok", 0.1, 1.0, office="S2", community="C2"),
    ]
    trace = figures.breakdown(units, "en").data[0]
    nodes = dict(
        zip(
            trace.ids,
            zip(trace.parents, trace.values, trace.marker.colors, strict=True),
            strict=True,
        )
    )
    assert nodes["all"] == ("", 3, pytest.approx(1 / 3))
    assert nodes["s/S1"] == ("all", 2, 0.5)
    assert nodes["c/S1/C1"] == ("s/S1", 2, 0.5)
    assert nodes["c/S2/C2"] == ("s/S2", 1, 0.0)
    assert "Shuguang" in trace.labels and "稻香园西里" in trace.labels


def test_timeline_colours_faults_by_cause_and_puts_each_kind_on_its_lane() -> None:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    events = [
        {
            "kind": "fault",
            "occurred_at": at,
            "detail": "01",
            "cause": "equipment",
            "severity": "major",
            "entrapment": True,
        },
        {
            "kind": "fault",
            "occurred_at": at,
            "detail": "41",
            "cause": "external",
            "severity": "minor",
            "entrapment": False,
        },
        {
            "kind": "inspection",
            "occurred_at": at,
            "detail": "fail",
            "cause": None,
            "severity": None,
            "entrapment": False,
        },
        {
            "kind": "maintenance",
            "occurred_at": at,
            "detail": "repair",
            "cause": None,
            "severity": None,
            "entrapment": False,
        },
    ]
    fig = figures.timeline(events, "zh-CN")
    by_name = {tr.name: tr for tr in fig.data}
    assert set(by_name) == {"设备原因", "外部原因", "困人", "不合格", "维修"}
    assert by_name["设备原因"].marker.color == figures.CAUSE_COLORS["equipment"]
    assert set(by_name["困人"].y) == {"困人"}
    assert set(by_name["不合格"].y) == {"检验"}


def test_age_failure_shades_the_zone_it_is_given_whatever_the_points() -> None:
    points = [
        {"unit_id": f"u{i}", "age": float(a), "failure_rate": float(r), "flag": f, "building": "b"}
        for i, (a, r, f) in enumerate([(5, 1, "ok"), (20, 9, "replace_or_overhaul"), (18, 2, None)])
    ]
    fig = figures.age_failure(points, "en", zone_age=15.0, zone_rate=2.25)
    zone = fig.layout.shapes[0]
    assert (zone.x0, zone.y0) == (15.0, pytest.approx(2.25))
    assert [tr.name for tr in fig.data] == ["Replace or overhaul", "OK", "—"]
    assert figures.age_failure([], "en", zone_age=15.0, zone_rate=2.25).layout.shapes[0].y0 == 2.25


def test_freshness_counts_every_state_even_when_zero() -> None:
    fig = figures.freshness(
        [SimpleNamespace(freshness=f) for f in ("online", "silent", "silent", "late")], "en"
    )
    assert list(fig.data[0].x) == ["Online", "Offline", "Going silent", "Silent", "Never reported"]
    assert list(fig.data[0].y) == [1, 0, 1, 2, 0]


def _building(building_id: str, community: str, name: str, risk: float, fund: str) -> Any:
    return SimpleNamespace(
        building_id=building_id,
        building_name=name,
        community=community,
        community_en=None,
        max_risk=risk,
        fund_status=fund,
    )


def test_building_need_keeps_each_compounds_building_apart_in_ranked_order() -> None:
    rows = [
        _building("dxy-7", "稻香园西里", "7号楼", 2.0, "none"),
        _building("ly-7", "六一小区", "7号楼", 1.5, "none"),
        _building("dxy-2", "稻香园西里", "2号楼", 1.0, "funded"),
    ]
    fig = figures.building_need(rows, "en")
    assert list(fig.layout.xaxis.categoryarray) == ["dxy-7", "ly-7", "dxy-2"]
    assert list(fig.layout.xaxis.ticktext) == [
        "稻香园西里 7号楼",
        "六一小区 7号楼",
        "稻香园西里 2号楼",
    ]
    none = next(tr for tr in fig.data if tr.name == "No fund")
    assert list(none.y) == [2.0, 1.5]
    assert {tr.name for tr in fig.data} == {"No fund", "Funded"}


def test_figures_serialise_to_json() -> None:
    units = [_unit("a", "stopped", 0.6, 2.0)]
    for fig in (
        figures.breakdown(units, "zh-CN"),
        figures.age_distribution([1.0, 16.0], "en"),
        figures.waterfall(FACTORS, "en"),
        figures.score_history([{"as_of": "2026-01-01", "risk": 1.0, "health": 5.0}], "en"),
        figures.rejection_reasons([SimpleNamespace(reason="unknown_unit", n=3)], "en"),
    ):
        assert fig.to_json()
