"""Each unit's factors in words a street office can read, in Chinese and English.

A factor is stored as ``{"factor", "value", "modifier", "contribution", "zh", "en"}``: what was
measured, how much it multiplied health by, how many health points it added, and the sentence
that says so. Factors come most important first; the flag's rule closes the list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import orjson

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


def _age_text(renewed: bool, years: int, since: str, life: float) -> tuple[str, str]:
    if renewed:
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
    return zh, en


def _age(
    i: int, cols: dict[str, np.ndarray], other: dict[str, list[Any]], hs: HealthScores
) -> dict[str, Any]:
    zh, en = _age_text(
        bool(other["renewed"][i]),
        _n(cols["age_years"][i]),
        _day(other["age_from"][i]),
        float(hs.expected_life[i]),
    )
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


def _failed_inspection_note(day: str) -> dict[str, Any]:
    return _entry(
        "failed_inspection",
        day,
        None,
        None,
        f"{day}定期检验不合格，尚未复检合格",
        f"failed periodic inspection on {day}",
    )


def _excluded_note(excluded: int, trapped: int) -> dict[str, Any]:
    return _entry(
        "excluded_causes",
        excluded,
        None,
        0.0,
        f"停电、使用不当等外部原因故障{excluded}次（含困人{trapped}次）未计入设备状况",
        f"{_count(excluded, 'fault')} from power cuts or misuse "
        f"({_count(trapped, 'entrapment')}) "
        "not counted against the equipment",
    )


def _certificate_note(day: str) -> dict[str, Any]:
    return _entry(
        "certificate_expired",
        day,
        None,
        None,
        f"检验合格证已于{day}到期",
        f"inspection certificate expired on {day}",
    )


def _downtime_note(downtime: float) -> dict[str, Any]:
    return _entry(
        "downtime",
        round(downtime, 1),
        None,
        None,
        f"365天内因设备故障停运{downtime:.0f}小时",
        f"{_count(round(downtime), 'hour')} out of service from equipment faults in 365 days",
    )


# The data gaps a contractor can leave: the column saying so, and what is missing in words.
_DATA_GAPS = (
    ("inspection_data_gap", "检验", "inspection"),
    ("maintenance_data_gap", "维保", "maintenance"),
)


def _data_gap_note(contractor: Any, zh_what: str, en_what: str) -> dict[str, Any]:
    return _entry(
        "data_gap",
        contractor,
        None,
        None,
        f"维保单位{contractor}未上报（或极少上报）{zh_what}记录：数据缺口，不计入状况",
        f"contractor {contractor} sends no (or hardly any) {en_what} records: "
        "a data gap, not counted as condition",
    )


def _no_status_note() -> dict[str, Any]:
    return _entry(
        "data_freshness",
        None,
        None,
        None,
        "90天内无状态数据上报",
        "no status data in 90 days",
    )


def _silent_note(days: int, usual: float) -> dict[str, Any]:
    return _entry(
        "data_freshness",
        days,
        None,
        None,
        f"已{days}天无数据上报（通常每{_interval_zh(usual)}上报一次）",
        f"no data for {_count(days, 'day')} (usually reports every {_interval_en(usual)})",
    )


def _notes(
    i: int, cols: dict[str, np.ndarray], other: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """Facts reported but not counted against the equipment, and facts about the data."""
    out = []
    if cols["failed_inspection_open"][i] > 0:
        out.append(_failed_inspection_note(_day(other["last_inspection_at"][i])))
    excluded = _n(cols["excluded_365d"][i])
    if excluded:
        out.append(_excluded_note(excluded, _n(cols["excluded_entrapments_365d"][i])))
    expiry = cols["days_to_certificate_expiry"][i]
    if not math.isnan(expiry) and expiry < 0:
        out.append(_certificate_note(_day(other["certificate_expiry"][i])))
    downtime = float(cols["downtime_hours_365d"][i])
    if downtime >= 1:
        out.append(_downtime_note(downtime))
    contractor = other["contractor_id"][i]
    for column, zh_what, en_what in _DATA_GAPS:
        if cols[column][i] > 0:
            out.append(_data_gap_note(contractor, zh_what, en_what))
    silent = cols["days_silent"][i]
    if math.isnan(silent):
        out.append(_no_status_note())
    elif cols["silent"][i] > 0:
        out.append(_silent_note(_n(silent), float(cols["report_interval_days"][i])))
    return out


def _interval_zh(days: float) -> str:
    if math.isnan(days):
        return "若干天"
    return f"{days:.0f}天" if days >= 1 else f"{days * 24:.0f}小时"


def _interval_en(days: float) -> str:
    if math.isnan(days):
        return "few days"
    return _count(round(days), "day") if days >= 1 else _count(round(days * 24), "hour")


def _consequence_text(
    units: int, households: int, floors: int, share: float, assumed: float, others: int
) -> tuple[str, str]:
    if math.isnan(share):
        # The consequence counts an assumed share; say so rather than print it as 0%.
        elderly_zh = f"老年人占比未知（按{assumed:.0%}计）"
        elderly_en = f"elderly share unknown (counted as {assumed:.0%})"
    else:
        elderly_zh, elderly_en = f"老年人占比{share:.0%}", f"elderly share {share:.0%}"
    if others == 0:
        red_zh, red_en = "本楼无其他电梯在用", "no other elevator of the building in service"
    else:
        red_zh, red_en = (
            f"本楼另有{others}部电梯在用",
            f"{_count(others, 'other elevator')} of the building in service",
        )
    return (
        f"本楼{households}户、{floors}层、{units}部电梯，{elderly_zh}，{red_zh}",
        f"building of {_count(households, 'household')}, {_count(floors, 'floor')}, "
        f"{_count(units, 'elevator')}, {elderly_en}, {red_en}",
    )


def _consequence(i: int, cols: dict[str, np.ndarray], hs: HealthScores) -> dict[str, Any]:
    zh, en = _consequence_text(
        max(_n(cols["units_in_building"][i]), 1),
        _n(_num(cols["households"][i])),
        _n(_num(cols["floors"][i])),
        cols["elderly_share"][i],
        float(hs.extra["elderly_assumed"][i]),
        _n(cols["other_units_in_service"][i]),
    )
    return _entry(
        "consequence",
        {k: _r(v[i]) for k, v in hs.consequence.items()},
        hs.cof[i],
        None,
        zh,
        en,
    )


def _model_text(p: float) -> tuple[str, str]:
    return (
        f"学习模型估计：12个月内发生严重故障或检验不合格的概率为{p:.0%}",
        f"learned model: {p:.0%} chance of a serious failure or failed inspection within 12 months",
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
        out.append(_entry("model", _r(p), None, None, *_model_text(p)))
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


# Rendering a whole run at once. Most of what the sentences say takes few distinct values (years,
# counts, days, a contractor), so each sentence is rendered once per distinct input and reused;
# the per-unit numbers (modifier, contribution) are formatted a column at a time. The result is
# the JSON text of ``explain_unit`` and ``summary`` for every unit, the same lists once parsed.

# What each modifier's sentence reads: ("col", name) from the feature columns, ("faults", field)
# and ("serious", field) from the shrunk rates, ("extra", name) from the health index's extras.
# The modifier itself is read only to test whether it is 1 (and a modifier of 1 is not rendered).
_MODIFIER_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "fault_rate": (
        ("col", "trend_faults"),
        ("col", "trend_window_days"),
        ("col", "faults_90d"),
        ("col", "faults_365d"),
        ("faults", "rate"),
        ("faults", "low"),
        ("faults", "high"),
        ("extra", "fleet_fault_rate"),
    ),
    "fault_rate_1y": (("col", "faults_365d"),),
    "fault_rate_90d": (("col", "faults_90d"),),
    "fault_rate_history": (("col", "history_faults"), ("col", "history_years")),
    "fault_rate_decayed": (("col", "faults_decayed"),),
    "serious_rate": (
        ("col", "trend_serious"),
        ("col", "trend_window_days"),
        ("serious", "rate"),
    ),
    "usage": (("col", "trips_per_day"),),
    "entrapments": (("col", "entrapments_365d"), ("col", "entrapments_90d")),
    "trend": (("col", "trend_beta"),),
    "rectification": (("col", "open_rectification"),),
    "inspection_result": (("col", "last_periodic_result"),),
    "inspection_findings": (("col", "last_defects"), ("col", "last_serious_defects")),
    "repeated_findings": (("col", "defect_inspections_3y"),),
    "findings_load": (("col", "findings_decayed"), ("col", "serious_findings_decayed")),
    "batch_failures": (("col", "batch_failed_peers"), ("col", "batch_peers")),
    "recent_failed_inspection": (),
    "inspection_overdue": (("col", "inspection_overdue"), ("col", "days_since_inspection")),
    "missed_maintenance": (("col", "missed_maintenance"),),
}


class _One:
    """Stands in for the scores of one unit, holding only the inputs a sentence may read."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    """``[round(x, digits) for x in values]``, a column at a time.

    Python rounds the exact binary value to the nearest decimal of ``digits`` places and returns
    the float nearest that decimal; ``rint(x * 10**digits) / 10**digits`` gives the same float
    (the division is correctly rounded) unless the scaled value lies within rounding error of a
    half, where the product may have rounded across it: those few are rounded by Python."""
    values = np.asarray(values, dtype=float)
    scale = 10.0**digits
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * scale
        out = np.rint(scaled) / scale
        slack = np.maximum(np.abs(scaled) * 1e-15, 1e-9)
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= slack
        doubtful = near_half | ~np.isfinite(scaled) | (np.abs(scaled) > 2.0**52)
    result = out.tolist()
    for i in np.flatnonzero(doubtful).tolist():
        result[i] = round(float(values[i]), digits)
    return result


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _numbers(values: list[Any]) -> list[str]:
    """Each value as JSON text (None and NaN as null), formatted by one serialization."""
    if not values:
        return []
    return orjson.dumps(values).decode()[1:-1].split(",")


def _parts(entry: dict[str, Any]) -> tuple[str, str]:
    """An entry's JSON text up to its modifier's value, and from its sentences on."""
    return (
        f'{{"factor":{_dumps(entry["factor"])},"value":{_dumps(entry["value"])},"modifier":',
        f',"zh":{_dumps(entry["zh"])},"en":{_dumps(entry["en"])}}}',
    )


def _reason(entry: dict[str, Any]) -> str:
    return _dumps({"factor": entry["factor"], "zh": entry["zh"], "en": entry["en"]})


def _fixed(entry: dict[str, Any]) -> tuple[str, str]:
    """A whole entry that depends on its rendered inputs only: its JSON and its reason's."""
    return _dumps(entry), _reason(entry)


class _Memo:
    """Renders ``make(*key)`` once per distinct key."""

    def __init__(self, make: Any) -> None:
        self.make = make
        self.done: dict[Any, Any] = {}

    def __call__(self, key: Any) -> Any:
        try:
            return self.done[key]
        except KeyError:
            out = self.done[key] = self.make(*key)
            return out


def _modifier_renderer(name: str) -> _Memo:
    inputs = _MODIFIER_INPUTS[name]

    def make(*key: Any) -> tuple[str, str, str]:
        cols: dict[str, list[Any]] = {}
        rates: dict[str, dict[str, list[Any]]] = {"faults": {}, "serious": {}}
        extra: dict[str, list[Any]] = {}
        for (kind, field), value in zip(inputs, key, strict=True):
            if kind == "col":
                cols[field] = [value]
            elif kind == "extra":
                extra[field] = [value]
            else:
                rates[kind][field] = [value]
        # The modifier is read only to test whether it is 1; these units' modifiers are not.
        hs = _One(modifiers={name: [math.nan]}, extra=extra)
        text = _modifier_text(
            name,
            0,
            cast(Any, cols),
            cast(Any, _One(**rates["faults"])),
            cast(Any, _One(**rates["serious"])),
            cast(Any, hs),
        )
        value, zh, en = text if text is not None else (None, name, name)
        entry = _entry(name, value, None, None, zh, en)
        head, tail = _parts(entry)
        return head, tail, _reason(entry)

    return _Memo(make)


def _column(source: Mapping[str, Any], kind: str, field: str) -> np.ndarray:
    arrays = source[kind]
    got = arrays.get(field) if isinstance(arrays, dict) else getattr(arrays, field)
    return np.asarray(got)


def explain_all(
    cols: Mapping[str, np.ndarray],
    other: Mapping[str, list[Any]],
    hs: HealthScores,
    faults: ShrunkRates,
    serious: ShrunkRates,
    model_probability: np.ndarray | None,
    rules: list[Any],
) -> tuple[list[str], list[str]]:
    """The JSON text of every unit's factor list (``explain_unit``) and of its first reasons
    (``summary``), in unit order."""
    count = len(hs.health)
    # Per unit: (sort key, position, entry JSON, reason JSON) of the age and each modifier.
    ranked: list[list[tuple[float, int, str, str]]] = [[] for _ in range(count)]
    # Units whose order cannot be reproduced by a key (a NaN contribution) are explained one by
    # one with explain_unit.
    odd = np.zeros(count, dtype=bool)

    initial = np.asarray(hs.initial, dtype=float)
    odd |= np.isnan(initial)
    contribution = _rounded(initial, 4)
    value = _rounded(np.asarray(cols["age_years"], dtype=float), 2)
    years = [round(x) if x == x else 0 for x in np.asarray(cols["age_years"]).tolist()]

    def age_sentences(renewed: bool, years: int, since: Any, life: float) -> str:
        zh, en = _age_text(renewed, years, _day(since), life)
        return f'"zh":{_dumps(zh)},"en":{_dumps(en)}'

    age = _Memo(age_sentences)
    for i, (v, c, c_text, renewed, y, since, life) in enumerate(
        zip(
            _numbers(value),
            contribution,
            _numbers(contribution),
            other["renewed"],
            years,
            other["age_from"],
            np.asarray(hs.expected_life, dtype=float).tolist(),
            strict=True,
        )
    ):
        zh_en = age((bool(renewed), y, since, life))
        ranked[i].append(
            (
                -(c or 0.0),
                0,
                f'{{"factor":"age","value":{v},"modifier":null,"contribution":{c_text},{zh_en}}}',
                f'{{"factor":"age",{zh_en}}}',
            )
        )

    sources = {"col": cols, "faults": faults, "serious": serious, "extra": hs.extra}
    for position, name in enumerate(MODIFIERS, start=1):
        if name == "failed_inspection":
            continue  # said once, by its note (first), which carries its share
        modifier = np.asarray(hs.modifiers[name], dtype=float)
        where = np.flatnonzero(modifier != 1.0)
        if not len(where):
            continue
        added = np.asarray(hs.contributions[name], dtype=float)[where]
        odd[where[np.isnan(added)]] = True
        mods = _rounded(modifier[where], 4)
        contribution = _rounded(added, 4)
        keys = (
            zip(
                *(
                    _column(sources, kind, field)[where].tolist()
                    for kind, field in _MODIFIER_INPUTS[name]
                ),
                strict=True,
            )
            if _MODIFIER_INPUTS[name]
            else ((),) * len(where)
        )
        render = _modifier_renderer(name)
        for i, key, m_text, c, c_text in zip(
            where.tolist(), keys, _numbers(mods), contribution, _numbers(contribution), strict=True
        ):
            head, tail, reason = render(key)
            ranked[i].append(
                (-(c or 0.0), position, f'{head}{m_text},"contribution":{c_text}{tail}', reason)
            )

    notes = _notes_all(cols, other, count)
    consequence = _consequence_all(cols, hs, count)
    model = _model_all(model_probability, count)
    rule_text: dict[int, str] = {}
    factors_out: list[str] = []
    reasons_out: list[str] = []
    # The open failed inspection's note carries its modifier and its share of the index (with the
    # policy's collar, if it sets one).
    failed_modifier = _numbers(_rounded(np.asarray(hs.modifiers["failed_inspection"], float), 4))
    failed_share = np.asarray(hs.contributions["failed_inspection"], dtype=float) + np.asarray(
        hs.collar, dtype=float
    )
    odd[np.isnan(failed_share) & (np.asarray(cols["failed_inspection_open"]) > 0)] = True
    failed_text = _numbers(_rounded(failed_share, 4))
    for i in range(count):
        if odd[i]:
            factors = explain_unit(
                i,
                cast(Any, cols),
                cast(Any, other),
                hs,
                faults,
                serious,
                None if model_probability is None else model_probability[i],
                rules[i],
            )
            factors_out.append(_dumps(factors))
            reasons_out.append(_dumps(summary(factors)))
            continue
        entries = sorted(ranked[i])
        first, rest = notes[i]
        if first is not None:
            day_head, day_tail, day_reason = first
            first = (
                f'{day_head}{failed_modifier[i]},"contribution":{failed_text[i]}{day_tail}',
                "",
                day_reason,
            )
        shown = ([first[0]] if first is not None else []) + [e[2] for e in entries]
        shown += [n[0] for n in rest]
        reasons = ([first[2]] if first is not None else []) + [e[3] for e in entries[:3]]
        reasons += [n[1] for n in rest[:3]]
        shown.append(consequence[i])
        if model is not None:
            shown.append(model[i])
        rule = rules[i]
        if rule is not None:
            text = rule_text.get(id(rule))
            if text is None:
                text = rule_text[id(rule)] = _dumps(
                    _entry("flag_rule", rule.qualified_name, None, None, rule.zh, rule.en)
                )
            shown.append(text)
        factors_out.append("[" + ",".join(shown) + "]")
        reasons_out.append("[" + ",".join(reasons[:SUMMARY_FACTORS]) + "]")
    return factors_out, reasons_out


def _int(value: float) -> int:
    return _n(value) if value == value else 0


def _notes_all(
    cols: Mapping[str, np.ndarray], other: Mapping[str, list[Any]], count: int
) -> list[tuple[tuple[str, str, str] | None, list[tuple[str, str]]]]:
    """Per unit: the failed inspection's note split around its modifier and contribution (or None), and the
    other notes' entry and reason JSON, in ``_notes``'s order."""
    first: list[tuple[str, str, str] | None] = [None] * count
    rest: list[list[tuple[str, str]]] = [[] for _ in range(count)]

    def failed(day: str) -> tuple[str, str, str]:
        entry = _failed_inspection_note(day)
        text = _dumps(entry)
        head, tail = text.split('"modifier":null,"contribution":null', 1)
        return f'{head}"modifier":', tail, _reason(entry)

    failed_memo = _Memo(failed)
    for i in np.flatnonzero(np.asarray(cols["failed_inspection_open"]) > 0).tolist():
        first[i] = failed_memo((_day(other["last_inspection_at"][i]),))

    def add(where: np.ndarray, keys: Any, make: Any) -> None:
        memo = _Memo(lambda *key: _fixed(make(*key)))
        for i, key in zip(where.tolist(), keys, strict=True):
            rest[i].append(memo(key))

    excluded = np.asarray(cols["excluded_365d"], dtype=float)
    where = np.flatnonzero(np.rint(np.nan_to_num(excluded)) != 0)
    trapped = np.asarray(cols["excluded_entrapments_365d"], dtype=float)[where]
    add(
        where,
        zip(
            [_n(x) for x in excluded[where].tolist()],
            [_n(x) for x in trapped.tolist()],
            strict=True,
        ),
        _excluded_note,
    )
    expiry = np.asarray(cols["days_to_certificate_expiry"], dtype=float)
    where = np.flatnonzero(expiry < 0)
    add(where, ((_day(other["certificate_expiry"][i]),) for i in where.tolist()), _certificate_note)
    downtime = np.asarray(cols["downtime_hours_365d"], dtype=float)
    where = np.flatnonzero(downtime >= 1)
    add(where, ((x,) for x in downtime[where].tolist()), _downtime_note)
    contractors = other["contractor_id"]
    for column, zh_what, en_what in _DATA_GAPS:
        where = np.flatnonzero(np.asarray(cols[column]) > 0)
        add(
            where,
            ((contractors[i], zh_what, en_what) for i in where.tolist()),
            _data_gap_note,
        )
    silent = np.asarray(cols["days_silent"], dtype=float)
    nothing = np.isnan(silent)
    add(np.flatnonzero(nothing), ((),) * int(nothing.sum()), _no_status_note)
    where = np.flatnonzero(~nothing & (np.asarray(cols["silent"]) > 0))
    usual = np.asarray(cols["report_interval_days"], dtype=float)[where].tolist()
    add(
        where,
        zip([_n(x) for x in silent[where].tolist()], [_key(x) for x in usual], strict=True),
        lambda days, usual: _silent_note(days, math.nan if usual is None else usual),
    )
    return list(zip(first, rest, strict=True))


def _key(value: float) -> float | None:
    """A float as a dict key: NaN (which equals nothing, itself included) as None."""
    return None if value != value else value


def _consequence_all(cols: Mapping[str, np.ndarray], hs: HealthScores, count: int) -> list[str]:
    def sentences(
        units: int, households: int, floors: int, share: float | None, assumed: float, others: int
    ) -> str:
        zh, en = _consequence_text(
            units, households, floors, math.nan if share is None else share, assumed, others
        )
        return f'"zh":{_dumps(zh)},"en":{_dumps(en)}'

    memo = _Memo(sentences)
    values = [
        [f"{_dumps(k)}:{x}" for x in _numbers(_rounded(np.asarray(a, dtype=float), 4))]
        for k, a in hs.consequence.items()
    ]
    value_text = ["{" + ",".join(parts) + "}" for parts in zip(*values, strict=True)]
    if not values:
        value_text = ["{}"] * count
    cof = _numbers(_rounded(np.asarray(hs.cof, dtype=float), 4))
    keys = zip(
        [max(_n(x), 1) for x in np.asarray(cols["units_in_building"], dtype=float).tolist()],
        [_n(_num(x)) for x in np.asarray(cols["households"], dtype=float).tolist()],
        [_n(_num(x)) for x in np.asarray(cols["floors"], dtype=float).tolist()],
        [_key(x) for x in np.asarray(cols["elderly_share"], dtype=float).tolist()],
        np.asarray(hs.extra["elderly_assumed"], dtype=float).tolist(),
        [_n(x) for x in np.asarray(cols["other_units_in_service"], dtype=float).tolist()],
        strict=True,
    )
    return [
        f'{{"factor":"consequence","value":{v},"modifier":{m},"contribution":null,{memo(key)}}}'
        for v, m, key in zip(value_text, cof, keys, strict=True)
    ]


def _model_all(model_probability: np.ndarray | None, count: int) -> list[str] | None:
    if model_probability is None:
        return None
    p = np.asarray(model_probability, dtype=float).tolist()
    memo = _Memo(lambda p: _dumps(_entry("model", _r(p), None, None, *_model_text(p))))
    return [memo((x,)) for x in p]
