"""Each unit's factors in words a street office can read, in Chinese and English.

A factor is stored as ``{"factor", "value", "modifier", "contribution", "zh", "en"}``: what was
measured, how much it multiplied health by, how many health points it added, and the sentence
that says so. Factors come most important first; the flag's rule closes the list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from scoring.health import MODIFIERS, HealthScores
from scoring.shrinkage import ShrunkRates

CST = ZoneInfo("Asia/Shanghai")


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(CST).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Row:
    """One unit's view of column lists, read on demand."""

    def __init__(self, cols: Mapping[str, Any], i: int) -> None:
        self.cols, self.i = cols, i

    def __getitem__(self, name: str) -> Any:
        return self.cols[name][self.i]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def as_lists(obj: Any) -> Any:
    """A copy of a dataclass of arrays with Python lists instead: reading one unit at a time from
    lists is many times faster than from arrays."""
    if isinstance(obj, dict):
        return _plain(obj)
    return type(obj)(**{f: _plain(getattr(obj, f)) for f in obj.__dataclass_fields__})


def _num(value: float, default: float = 0.0) -> float:
    return default if math.isnan(value) else float(value)


def _n(value: float) -> int:
    return round(float(value))


def _count(n: int, word: str, plural: str | None = None) -> str:
    """``1 entrapment``, ``2 entrapments``: English counts in the right number."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _r(value: float) -> float:
    return round(float(value), 4)


def _entry(
    factor: str, value: Any, modifier: float | None, contribution: float | None, zh: str, en: str
) -> dict[str, Any]:
    return {
        "factor": factor,
        "value": value,
        "modifier": None if modifier is None else _r(modifier),
        "contribution": None if contribution is None else _r(contribution),
        "zh": zh,
        "en": en,
    }


def _age(
    i: int, cols: dict[str, np.ndarray], other: dict[str, list[Any]], hs: HealthScores
) -> dict[str, Any]:
    years = _n(cols["age_years"][i])
    since = _day(other["age_from"][i])
    life = float(hs.expected_life[i])
    if other["renewed"][i]:
        zh, en = (
            f"距上次大修改造已{years}年（{since}）",
            f"{_count(years, 'year')} since last renewal ({since})",
        )
    else:
        zh, en = (
            f"投入使用已{years}年（{since}）",
            f"{_count(years, 'year')} since installation ({since})",
        )
    zh += f"，预期寿命{life:.0f}年"
    en += f", expected life {_count(round(life), 'year')}"
    return _entry("age", round(float(cols["age_years"][i]), 2), None, hs.initial[i], zh, en)


def _modifier_text(
    name: str,
    i: int,
    cols: dict[str, np.ndarray],
    faults: ShrunkRates,
    serious: ShrunkRates,
    hs: HealthScores,
) -> tuple[Any, str, str] | None:
    """The value and sentences of one modifier, or None when it says nothing worth reading."""
    c = _Row(cols, i)
    if name == "fault_rate":
        n, years = _n(c["trend_faults"]), float(c["trend_window_days"]) / 365.0
        r, lo, hi = float(faults.rate[i]), float(faults.low[i]), float(faults.high[i])
        fleet = float(hs.extra["fleet_fault_rate"][i])
        n90, n365 = _n(c["faults_90d"]), _n(c["faults_365d"])
        return (
            n,
            f"近{years:.1f}年设备故障{n}次（90天内{n90}次，365天内{n365}次；按同类电梯修正后每年"
            f"{r:.1f}次，90%区间{lo:.1f}–{hi:.1f}；所评电梯平均{fleet:.1f}次）",
            f"{_count(n, 'equipment fault')} in {years:.1f} years ({n90} in 90 days, {n365} in "
            f"365 days; cohort-adjusted {r:.1f}/year, 90% interval {lo:.1f}-{hi:.1f}; "
            f"fleet average {fleet:.1f})",
        )
    if name in ("fault_rate_1y", "fault_rate_90d"):
        days, column = (365, "faults_365d") if name == "fault_rate_1y" else (90, "faults_90d")
        n = _n(c[column])
        return (
            n,
            f"{days}天内设备故障{n}次",
            f"{_count(n, 'equipment fault')} in {days} days",
        )
    if name == "fault_rate_history":
        n, years = _n(c["history_faults"]), float(c["history_years"])
        return (
            n,
            f"有记录的近{years:.1f}年设备故障{n}次",
            f"{_count(n, 'equipment fault')} in the {years:.1f} years on record",
        )
    if name == "fault_rate_decayed":
        weighed = round(float(c["faults_decayed"]), 1)
        return (
            weighed,
            f"有记录以来设备故障按时间折算（近期的权重更高）为{weighed}次",
            f"equipment faults on record weighed by recency (recent ones count most): {weighed}",
        )
    if name == "serious_rate":
        n, r = _n(c["trend_serious"]), float(serious.rate[i])
        years = float(c["trend_window_days"]) / 365.0
        return (
            n,
            f"近{years:.1f}年严重设备故障{n}次（修正后每年{r:.1f}次）",
            f"{_count(n, 'serious equipment fault')} (major or critical) in {years:.1f} years "
            f"(cohort-adjusted {r:.1f}/year)",
        )
    if name == "usage":
        trips = c["trips_per_day"]
        if math.isnan(trips):
            return None
        return (_n(trips), f"日均运行{_n(trips)}次", f"{_count(_n(trips), 'trip')} a day")
    if name == "entrapments":
        n, n90 = _n(c["entrapments_365d"]), _n(c["entrapments_90d"])
        if n == 0:
            return None
        return (
            n,
            f"90天内困人{n90}次，365天内{n}次",
            f"{_count(n90, 'entrapment')} in 90 days, {n} in 365 days",
        )
    if name == "trend":
        if hs.modifiers["trend"][i] == 1.0:
            return None
        b = float(c["trend_beta"])
        word_zh, word_en = ("上升", "rising") if b > 1 else ("下降", "falling")
        return (
            round(b, 2),
            f"故障率{word_zh}（Crow-AMSAA β={b:.2f}）",
            f"failure rate {word_en} (Crow-AMSAA beta={b:.2f})",
        )
    if name == "rectification":
        n = _n(c["open_rectification"])
        if n == 0:
            return None
        return (
            n,
            f"{n}项整改尚未复检合格",
            f"{_count(n, 'rectification item')} not yet re-inspected",
        )
    if name == "inspection_result":
        result = c["last_periodic_result"]
        if math.isnan(result) or result == 0:
            return None
        if result == 1:
            return (
                1,
                "上次定期检验整改后方合格（复检合格）",
                "last periodic inspection passed only after rectification",
            )
        return (2, "上次定期检验不合格", "last periodic inspection failed")
    if name == "inspection_findings":
        n, grave = _n(c["last_defects"]), _n(c["last_serious_defects"])
        if n == 0 and grave == 0:
            return None
        return (
            n,
            f"上次定期检验发现{n}项需整改问题（其中严重{grave}项）",
            f"last periodic inspection found {_count(n, 'item')} needing rectification "
            f"({grave} major or critical)",
        )
    if name == "repeated_findings":
        if hs.modifiers[name][i] == 1.0:
            return None
        n = _n(c["defect_inspections_3y"])
        return (
            n,
            f"近3年{n}次定期检验发现问题",
            f"defects found at {_count(n, 'periodic inspection')} in 3 years",
        )
    if name == "findings_load":
        if hs.modifiers[name][i] == 1.0:
            return None
        load = round(float(c["findings_decayed"]), 1)
        grave_load = round(float(c["serious_findings_decayed"]), 1)
        return (
            load,
            f"近3年定期检验发现问题按时间折算{load}项（其中严重{grave_load}项）",
            f"items found at periodic inspections in 3 years, weighed by recency: {load} "
            f"({grave_load} major or critical)",
        )
    if name == "batch_failures":
        if hs.modifiers[name][i] == 1.0:
            return None
        n, peers = _n(c["batch_failed_peers"]), _n(c["batch_peers"])
        return (
            n,
            f"同小区同厂家同期安装（改造）的其他{peers}部电梯中，{n}部近3年定期检验不合格",
            f"{n} of the {_count(peers, 'other unit')} of its compound from the same maker and "
            "the same installation or renewal failed a periodic inspection in 3 years",
        )
    if name == "recent_failed_inspection":
        if hs.modifiers[name][i] == 1.0:
            return None
        return (1, "近3年内曾定期检验不合格", "failed a periodic inspection in the last 3 years")
    if name == "inspection_overdue":
        if c["inspection_overdue"] < 1:
            return None
        days = c["days_since_inspection"]
        if math.isnan(days):
            return (None, "无定期检验记录", "no periodic inspection on record")
        return (
            _n(days),
            f"距上次检验{_n(days)}天（已超期）",
            f"last inspection {_count(_n(days), 'day')} ago (overdue)",
        )
    if name == "missed_maintenance":
        n = _n(c["missed_maintenance"])
        if n == 0:
            return None
        return (
            n,
            f"365天内漏保{n}次（应每15天维保一次）",
            f"{_count(n, 'half-monthly maintenance visit')} missed in 365 days",
        )
    raise KeyError(name)


def _notes(
    i: int, cols: dict[str, np.ndarray], other: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """Facts reported but not counted against the equipment, and facts about the data."""
    out = []
    if cols["failed_inspection_open"][i] > 0:
        day = _day(other["last_inspection_at"][i])
        out.append(
            _entry(
                "failed_inspection",
                day,
                None,
                None,
                f"{day}定期检验不合格，尚未复检合格",
                f"failed periodic inspection on {day}",
            )
        )
    excluded = _n(cols["excluded_365d"][i])
    if excluded:
        trapped = _n(cols["excluded_entrapments_365d"][i])
        out.append(
            _entry(
                "excluded_causes",
                excluded,
                None,
                0.0,
                f"停电、使用不当等外部原因故障{excluded}次（含困人{trapped}次）未计入设备状况",
                f"{_count(excluded, 'fault')} from power cuts or misuse "
                f"({_count(trapped, 'entrapment')}) "
                "not counted against the equipment",
            )
        )
    expiry = cols["days_to_certificate_expiry"][i]
    if not math.isnan(expiry) and expiry < 0:
        day = _day(other["certificate_expiry"][i])
        out.append(
            _entry(
                "certificate_expired",
                day,
                None,
                None,
                f"检验合格证已于{day}到期",
                f"inspection certificate expired on {day}",
            )
        )
    downtime = float(cols["downtime_hours_365d"][i])
    if downtime >= 1:
        out.append(
            _entry(
                "downtime",
                round(downtime, 1),
                None,
                None,
                f"365天内因设备故障停运{downtime:.0f}小时",
                f"{_count(round(downtime), 'hour')} out of service from equipment faults in 365 days",
            )
        )
    contractor = other["contractor_id"][i]
    for column, zh_what, en_what in (
        ("inspection_data_gap", "检验", "inspection"),
        ("maintenance_data_gap", "维保", "maintenance"),
    ):
        if cols[column][i] > 0:
            out.append(
                _entry(
                    "data_gap",
                    contractor,
                    None,
                    None,
                    f"维保单位{contractor}未上报（或极少上报）{zh_what}记录：数据缺口，不计入状况",
                    f"contractor {contractor} sends no (or hardly any) {en_what} records: "
                    "a data gap, not counted as condition",
                )
            )
    silent = cols["days_silent"][i]
    if math.isnan(silent):
        out.append(
            _entry(
                "data_freshness",
                None,
                None,
                None,
                "90天内无状态数据上报",
                "no status data in 90 days",
            )
        )
    elif cols["silent"][i] > 0:
        usual = float(cols["report_interval_days"][i])
        out.append(
            _entry(
                "data_freshness",
                _n(silent),
                None,
                None,
                f"已{_n(silent)}天无数据上报（通常每{_interval_zh(usual)}上报一次）",
                f"no data for {_count(_n(silent), 'day')} "
                f"(usually reports every {_interval_en(usual)})",
            )
        )
    return out


def _interval_zh(days: float) -> str:
    if math.isnan(days):
        return "若干天"
    return f"{days:.0f}天" if days >= 1 else f"{days * 24:.0f}小时"


def _interval_en(days: float) -> str:
    if math.isnan(days):
        return "few days"
    return _count(round(days), "day") if days >= 1 else _count(round(days * 24), "hour")


def _consequence(i: int, cols: dict[str, np.ndarray], hs: HealthScores) -> dict[str, Any]:
    units = max(_n(cols["units_in_building"][i]), 1)
    households = _n(_num(cols["households"][i]))
    floors = _n(_num(cols["floors"][i]))
    share = cols["elderly_share"][i]
    if math.isnan(share):
        # The consequence counts an assumed share; say so rather than print it as 0%.
        assumed = float(hs.extra["elderly_assumed"][i])
        elderly_zh = f"老年人占比未知（按{assumed:.0%}计）"
        elderly_en = f"elderly share unknown (counted as {assumed:.0%})"
    else:
        elderly_zh, elderly_en = f"老年人占比{share:.0%}", f"elderly share {share:.0%}"
    others = _n(cols["other_units_in_service"][i])
    if others == 0:
        red_zh, red_en = "本楼无其他电梯在用", "no other elevator of the building in service"
    else:
        red_zh, red_en = (
            f"本楼另有{others}部电梯在用",
            f"{_count(others, 'other elevator')} of the building in service",
        )
    return _entry(
        "consequence",
        {k: _r(v[i]) for k, v in hs.consequence.items()},
        hs.cof[i],
        None,
        f"本楼{households}户、{floors}层、{units}部电梯，{elderly_zh}，{red_zh}",
        f"building of {_count(households, 'household')}, {_count(floors, 'floor')}, "
        f"{_count(units, 'elevator')}, {elderly_en}, {red_en}",
    )


def explain_unit(
    i: int,
    cols: dict[str, np.ndarray],
    other: dict[str, list[Any]],
    hs: HealthScores,
    faults: ShrunkRates,
    serious: ShrunkRates,
    model_probability: float | None,
    rule: Any,
) -> list[dict[str, Any]]:
    """The factor list of unit ``i``, most important first, ending with the flag's rule."""
    ranked = [_age(i, cols, other, hs)]
    for name in MODIFIERS:
        modifier = float(hs.modifiers[name][i])
        # The open failed inspection is said once, by its note (first), which carries its share.
        if modifier == 1.0 or name == "failed_inspection":
            continue
        text = _modifier_text(name, i, cols, faults, serious, hs)
        value, zh, en = text if text is not None else (None, name, name)
        ranked.append(_entry(name, value, modifier, hs.contributions[name][i], zh, en))
    ranked.sort(key=lambda e: -(e["contribution"] or 0.0))
    notes = _notes(i, cols, other)
    first = [e for e in notes if e["factor"] == "failed_inspection"]
    if first:
        first[0]["modifier"] = _r(hs.modifiers["failed_inspection"][i])
        first[0]["contribution"] = _r(hs.contributions["failed_inspection"][i] + hs.collar[i])
    out = first + ranked + [e for e in notes if e["factor"] != "failed_inspection"]
    out.append(_consequence(i, cols, hs))
    if model_probability is not None:
        p = float(model_probability)
        out.append(
            _entry(
                "model",
                _r(p),
                None,
                None,
                f"学习模型估计：12个月内发生严重故障或检验不合格的概率为{p:.0%}",
                f"learned model: {p:.0%} chance of a serious failure or failed inspection "
                "within 12 months",
            )
        )
    if rule is not None:
        out.append(_entry("flag_rule", rule.qualified_name, None, None, rule.zh, rule.en))
    return out


# Factors an explanation shows on lines of their own, never among a list's first reasons.
_NOT_SUMMARIZED = ("consequence", "flag_rule", "model")
SUMMARY_FACTORS = 3


def summary(factors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first reasons a list shows next to a unit: the sentences of its first factors.

    Stored with each score (``unit_score.reasons``); the SQL function ``score_reasons`` of
    migration 0007 computes the same for rows written without it.
    """
    shown = [f for f in factors if f.get("factor") not in _NOT_SUMMARIZED]
    return [
        {"factor": f.get("factor"), "zh": f.get("zh"), "en": f.get("en")}
        for f in shown[:SUMMARY_FACTORS]
    ]
