"""One unit's hidden history: effective age, condition, stops, inspections, faults and visits.

Time is counted in days from the simulation's start (day 0 = start, midnight +08:00). The unit's
path runs a year past the end so the ground truth can look 12 months ahead of any date; events are
kept only before the end. Three independent random streams per unit (and one per building) keep
what must not depend on condition (power cuts, misuse) apart from what does.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from core.faultcodes import FAULT_CODES
from simulators import params
from simulators.external import external_events
from simulators.scenario import ScriptedInspection, UnitSpec, stable_int
from simulators.worlds import ALL_FEEDS, DEFAULT_WORLD, World

DEFECT_ITEMS = (
    "2.8 制动器 brake",
    "3.11 曳引钢丝绳 traction ropes",
    "6.4 层门门锁 landing door lock",
    "4.9 限速器 overspeed governor",
    "5.3 轿厢照明 car lighting",
    "6.2 门系统 door system",
    "3.2 曳引机 traction machine",
    "8.1 控制柜 controller",
    "4.3 缓冲器 buffer",
    "5.6 紧急报警装置 emergency alarm",
)
RENEWAL_PARTS = {
    "renewal": ("traction machine", "controller", "car", "doors", "ropes", "safety gear"),
    "overhaul": ("controller", "door operator", "ropes", "brake"),
}
DAY = 86400
SOURCES = ("control", "visit", "equipment", "external", "misuse")
FRESH_DAYS = 180  # no periodic inspection this soon after acceptance


@dataclass
class UnitHistory:
    """What the simulation produced for one unit."""

    index: int
    unit: UnitSpec
    active_from: int
    records: list[tuple[Any, ...]]  # (second, seq, kind, fields) sorted
    stops: list[tuple[int, int]]  # [from_day, to_day) out of service
    effective_age: np.ndarray  # per day, years, over the extended horizon
    multiplier: float
    usage: float
    serious_days: list[int] = field(default_factory=list)
    inspections: list[tuple[int, bool]] = field(default_factory=list)  # (day, failed)
    renewal_days: list[tuple[int, Any]] = field(default_factory=list)
    annual: list[int] = field(default_factory=list)  # days periodic inspections are due
    aging_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    proneness: float = 1.0  # persistent multiplier on every equipment fault rate (world-given)
    seqs: Counter[str] = field(default_factory=Counter)

    def next_seq(self, source: str) -> int:
        """A record number unique in the unit and stable within its source, so that an event's id
        does not change when another source (e.g. condition-driven faults) draws differently."""
        self.seqs[source] += 1
        return SOURCES.index(source) * 10**7 + self.seqs[source]

    def condition(self, days: np.ndarray | slice) -> np.ndarray:
        """Hidden condition on the given days."""
        a = self.effective_age[days]
        return np.exp(-self.multiplier * (np.maximum(a, 0.0) / params.ETA_YEARS) ** params.BETA)


def simulate_unit(
    index: int,
    unit: UnitSpec,
    scripted: list[ScriptedInspection],
    *,
    start: date,
    n_days: int,
    seed: int,
    world: World = DEFAULT_WORLD,
) -> UnitHistory:
    """Draw one unit's history over [start, start + n_days) and its path a year beyond."""
    hidden = unit.hidden
    horizon = n_days + 366
    rng = np.random.default_rng([seed, stable_int("unit", unit.unit_id)])
    usage = params.usage_factor(hidden.trips_per_day)
    multiplier = hidden.manufacturer_factor * usage**params.USAGE_EXPONENT * hidden.frailty
    active_from = max(0, (unit.installed_on - start).days)

    visits = _visits(rng, hidden.miss_rate, active_from, horizon)
    rate = _aging_rate(visits, active_from, horizon) * world.age_weight
    shocks_before = _shocks(rate, world, seed, unit.unit_id, active_from, horizon)
    cum = np.concatenate([[0.0], np.cumsum(rate)]) / params.DAYS_PER_YEAR
    renewals = [
        ((r.on - start).days, r.kind) for r in unit.renewals if 0 <= (r.on - start).days < horizon
    ]
    h = UnitHistory(
        index=index,
        unit=unit,
        active_from=active_from,
        records=[],
        stops=[],
        effective_age=np.zeros(horizon),
        multiplier=multiplier,
        usage=usage,
        renewal_days=renewals,
        aging_rate=rate,
        proneness=_proneness(world, seed, unit.unit_id),
    )
    age0 = _age_at_start(unit, start) * world.age_weight + shocks_before
    control = _Control(h, rng, scripted, start, horizon, n_days, cum, age0)
    control.rectify_residual = world.rectify_residual
    control.run()
    for day in visits:
        if day < n_days and not _under_renewal(day, renewals):
            _routine_visit(h, rng, day)
    _equipment_faults(h, rng, n_days)
    external_events(h, seed, n_days)
    _as_reported(h, world, start)
    h.records.sort(key=lambda r: (r[0], r[1]))
    return h


def _proneness(world: World, seed: int, unit_id: str) -> float:
    """The unit's persistent fault proneness: lognormal with mean 1, from a stream of its own."""
    if world.proneness_sigma <= 0:
        return 1.0
    rng = np.random.default_rng([seed, stable_int("proneness", unit_id)])
    sigma = world.proneness_sigma
    return float(rng.lognormal(-sigma * sigma / 2, sigma))


def _shocks(
    rate: np.ndarray, world: World, seed: int, unit_id: str, first: int, horizon: int
) -> float:
    """Add the world's random defects to the ageing rate (each adds shock_years at once); return
    the defect load the unit already carries at the start (from up to three years before it)."""
    if world.shocks_per_year <= 0 or first >= horizon:
        return 0.0
    rng = np.random.default_rng([seed, stable_int("shocks", unit_id)])
    years = (horizon - first) / params.DAYS_PER_YEAR
    days = rng.integers(first, horizon, size=int(rng.poisson(world.shocks_per_year * years)))
    np.add.at(rate, days, world.shock_years * params.DAYS_PER_YEAR)
    carried = 0 if first > 0 else int(rng.poisson(world.shocks_per_year * 3.0))
    return carried * world.shock_years


def _as_reported(h: UnitHistory, world: World, start: date) -> None:
    """Keep only the kinds the world's feed carries; date faults to their month if it says so."""
    if world.feeds != ALL_FEEDS:
        h.records = [r for r in h.records if r[2] in world.feeds]
    if world.monthly_faults:
        h.records = [
            (_month_start(r[0], start, h.active_from), *r[1:]) if r[2] == "fault" else r
            for r in h.records
        ]


def _month_start(second: int, start: date, first: int) -> int:
    """9:00 on the 1st of the month the second falls in (not before the unit's first day)."""
    day = start + timedelta(days=second // DAY)
    index = max((day.replace(day=1) - start).days, first, 0)
    return index * DAY + 9 * 3600


def _age_at_start(unit: UnitSpec, start: date) -> float:
    """Effective age at the start (or at installation), from history before the simulation."""
    rate = 1.0 + params.HISTORY_MISS_AGING * unit.hidden.miss_rate
    age, since = 0.0, unit.installed_on
    if since >= start:
        return 0.0
    for renewal in unit.renewals:
        if renewal.on >= start:
            break
        age += (renewal.on - since).days / params.DAYS_PER_YEAR * rate
        age = 0.0 if renewal.kind == "renewal" else age * params.OVERHAUL_RESIDUAL
        since = renewal.on
    return age + (start - since).days / params.DAYS_PER_YEAR * rate


def _visits(rng: np.random.Generator, miss_rate: float, first: int, horizon: int) -> list[int]:
    nominal = np.arange(
        first + int(rng.integers(0, params.VISIT_INTERVAL_DAYS)),
        horizon,
        params.VISIT_INTERVAL_DAYS,
    )
    jitter = rng.integers(-2, 3, size=nominal.size)
    kept = rng.random(nominal.size) >= miss_rate
    return sorted(int(d) for d in np.clip(nominal + jitter, first, horizon - 1)[kept])


def _aging_rate(visits: list[int], first: int, horizon: int) -> np.ndarray:
    """Effective years per calendar year on each day: 1 when maintained, faster when overdue."""
    days = np.arange(horizon)
    marks = np.array([first, *visits])
    last = marks[np.maximum(np.searchsorted(marks, days, side="right") - 1, 0)]
    overdue = np.maximum(0, days - last - params.VISIT_INTERVAL_DAYS) / params.VISIT_INTERVAL_DAYS
    rate = 1.0 + params.OVERDUE_AGING * np.minimum(overdue, params.OVERDUE_CAP)
    rate[:first] = 0.0
    return rate


def _under_renewal(day: int, renewals: list[tuple[int, Any]]) -> bool:
    return any(d - params.RENEWAL_DOWNTIME_DAYS[k] <= day < d for d, k in renewals)


class _Control:
    """The sparse, path-changing events in time order: inspections, repairs, renewals."""

    def __init__(
        self,
        h: UnitHistory,
        rng: np.random.Generator,
        scripted: list[ScriptedInspection],
        start: date,
        horizon: int,
        n_days: int,
        cum: np.ndarray,
        age0: float,
    ) -> None:
        self.h, self.rng, self.start, self.horizon, self.n_days, self.cum = (
            h,
            rng,
            start,
            horizon,
            n_days,
            cum,
        )
        self.scripted = {(s.on - start).days: s for s in scripted}
        self.seg_start, self.seg_age = h.active_from, age0
        self.stopped_since: int | None = None
        self.rectify_residual = 1.0
        self.queue: list[tuple[int, int, str, Any]] = []

    def age(self, day: int) -> float:
        return self.seg_age + float(self.cum[day] - self.cum[self.seg_start])

    def cond(self, day: int) -> float:
        return params.condition(self.age(day), self.h.multiplier)

    def restart(self, day: int, age: float) -> None:
        self._fill(day)
        self.seg_start, self.seg_age = day, age

    def _fill(self, day: int) -> None:
        a, b = self.seg_start, min(day, self.horizon)
        if b > a:
            self.h.effective_age[a:b] = self.seg_age + self.cum[a:b] - self.cum[a]

    def push(self, day: int, order: int, what: str, data: Any = None) -> None:
        if day < self.horizon:
            heapq.heappush(self.queue, (day, order, what, data))

    def run(self) -> None:
        h, unit = self.h, self.h.unit
        if h.active_from > 0:
            self._inspection(h.active_from, acceptance=True)
        for day, kind in h.renewal_days:
            self.push(max(day - params.RENEWAL_DOWNTIME_DAYS[kind], 0), 0, "downtime", (day, kind))
            self.push(day, 1, "renewal", kind)
        month, dom = unit.hidden.inspection_day
        scripted_years = {d.year for d in (self.start + timedelta(days=k) for k in self.scripted)}
        for year in range(self.start.year, self.start.year + self.horizon // 365 + 2):
            day = (date(year, month, dom) - self.start).days
            if year not in scripted_years and h.active_from + FRESH_DAYS <= day:
                h.annual.append(day)
        h.annual = sorted(d for d in {*h.annual, *self.scripted} if 0 <= d < self.horizon)
        for day in h.annual:
            self.push(day, 2, "periodic")
        while self.queue:
            day, _, what, data = heapq.heappop(self.queue)
            getattr(self, f"_on_{what}")(day, data)
        self._fill(self.horizon)
        if self.stopped_since is not None:
            h.stops.append((self.stopped_since, self.horizon))

    def _on_downtime(self, day: int, data: tuple[int, str]) -> None:
        if self.stopped_since is None:
            self.stopped_since = day

    def _on_renewal(self, day: int, kind: str) -> None:
        age = 0.0 if kind == "renewal" else self.age(day) * params.OVERHAUL_RESIDUAL
        self.restart(day, age)
        self._end_stop(day)
        self._record(
            day,
            10 * 3600,
            "maintenance",
            ("part_replacement", RENEWAL_PARTS[kind], 480, f"{kind} completed"),
        )
        self._inspection(day, acceptance=True)

    def _on_periodic(self, day: int, data: Any) -> None:
        if self.stopped_since is not None or any(
            0 <= day - d < FRESH_DAYS for d, _ in self.h.renewal_days
        ):
            return
        self._inspection(day)

    def _on_repair(self, day: int, data: Any) -> None:
        self.restart(day, self.age(day) * params.REPAIR_RESIDUAL)
        self._record(
            day,
            9 * 3600,
            "maintenance",
            ("part_replacement", ("brake", "ropes"), 360, "repair after failed inspection"),
        )
        lo, hi = params.REINSPECTION_DELAY_DAYS
        self.push(day + int(self.rng.integers(lo, hi + 1)), 3, "reinspection")

    def _on_rectify(self, day: int, data: Any) -> None:
        self.restart(day, self.age(day) * self.rectify_residual)

    def _on_reinspection(self, day: int, data: Any) -> None:
        self._inspection(day, reinspection=True)

    def _inspection(
        self, day: int, *, acceptance: bool = False, reinspection: bool = False
    ) -> None:
        h, c = self.h, self.cond(day)
        script = self.scripted.get(day)
        if acceptance:
            result, defects = "pass", tuple[dict[str, Any], ...]()
        elif script is not None:
            result, defects = script.result, tuple(dict(d) for d in script.defects)
        else:
            score = c + self.rng.normal(0.0, params.INSPECTION_NOISE)
            result = (
                "fail"
                if score < params.FAIL_BELOW
                else "pass_after_rectification"
                if score < params.RECTIFY_BELOW
                else "pass"
            )
            defects = self._defects(result, c)
        failed = result == "fail"
        h.inspections.append((day, failed))
        expiry = None if failed else (self.start + timedelta(days=day + 365))
        report = (
            script.report_no
            if script and script.report_no
            else f"JY{(self.start + timedelta(days=day)).year}-{stable_int(h.unit.unit_id, day) % 10**6:06d}"
        )
        self._record(day, 10 * 3600, "inspection", (result, reinspection, defects, expiry, report))
        if failed:
            h.serious_days.append(day)
            if self.stopped_since is None:
                self.stopped_since = day
                self._record(
                    day,
                    12 * 3600,
                    "fault",
                    ("42", None, None, False, 0, None, None, "stopped after failed inspection"),
                )
            renewal_soon = any(0 < d - day <= params.RENEWAL_WAIT_DAYS for d, _ in h.renewal_days)
            if not renewal_soon:
                lo, hi = params.REPAIR_DELAY_DAYS
                self.push(day + int(self.rng.integers(lo, hi + 1)), 3, "repair")
        elif reinspection:
            self._end_stop(day)
        elif result == "pass_after_rectification":
            when = day + int(self.rng.integers(1, 11))
            self._record(
                when,
                14 * 3600,
                "maintenance",
                ("repair", (), 120, "rectification of inspection items"),
            )
            if self.rectify_residual < 1.0:
                self.push(when, 3, "rectify")

    def _end_stop(self, day: int) -> None:
        if self.stopped_since is not None:
            self.h.stops.append((self.stopped_since, day))
            self.stopped_since = None

    def _defects(self, result: str, c: float) -> tuple[dict[str, Any], ...]:
        if result == "pass":
            return ()
        n = 1 + int(self.rng.poisson(3 * (1 - c))) + (1 if result == "fail" else 0)
        items = self.rng.choice(len(DEFECT_ITEMS), size=min(n, len(DEFECT_ITEMS)), replace=False)
        out = []
        for k, i in enumerate(sorted(int(x) for x in items)):
            severity = (
                "critical"
                if result == "fail" and k == 0
                else ("major" if self.rng.random() < 1 - c else "minor")
            )
            out.append({"item": DEFECT_ITEMS[i], "severity": severity})
        return tuple(out)

    def _record(self, day: int, second: int, kind: str, fields: tuple[Any, ...]) -> None:
        if day < self.n_days:
            self.h.records.append((day * DAY + second, self.h.next_seq("control"), kind, fields))


def _routine_visit(h: UnitHistory, rng: np.random.Generator, day: int) -> None:
    second = int(rng.integers(9 * 3600, 16 * 3600))
    h.records.append(
        (
            day * DAY + second,
            h.next_seq("visit"),
            "maintenance",
            ("routine", (), int(rng.integers(30, 91)), None),
        )
    )


def _equipment_faults(h: UnitHistory, rng: np.random.Generator, n_days: int) -> None:
    first = h.active_from
    if first >= n_days:
        return
    running = np.ones(n_days - first, dtype=bool)
    for a, b in h.stops:
        running[max(a, first) - first : max(min(b, n_days), first) - first] = False
    wear = 1.0 - h.condition(slice(first, n_days))
    floors = int(h.unit.facts["floors"])
    for rate in params.EQUIPMENT_CODES:
        lam = (
            rate.base_per_year
            * h.usage
            * h.proneness
            * np.exp(rate.wear * wear)
            / params.DAYS_PER_YEAR
            * running
        )
        counts = rng.poisson(lam)
        severity = FAULT_CODES[rate.code].severity
        for offset in np.flatnonzero(counts):
            day = first + int(offset)
            for _ in range(int(counts[offset])):
                trapped = rate.code in params.ENTRAPMENT_CODES or bool(
                    rng.random() < rate.p_entrapment
                )
                lo, hi = params.FAULT_MINUTES[severity]
                second = int(rng.integers(6 * 3600, 23 * 3600))
                minutes = int(rng.integers(lo, hi + 1))
                people = int(rng.integers(1, 5)) if trapped else 0
                floor = int(rng.integers(1, floors + 1))
                h.records.append(
                    (
                        day * DAY + second,
                        h.next_seq("equipment"),
                        "fault",
                        (rate.code, "equipment", None, trapped, people, minutes, floor, None),
                    )
                )
                if trapped or severity == "critical":
                    h.serious_days.append(day)
                if severity != "minor":
                    visit = day * DAY + second + minutes * 60 + int(rng.integers(600, 6 * 3600))
                    h.records.append(
                        (
                            visit,
                            h.next_seq("equipment"),
                            "maintenance",
                            (
                                "repair",
                                (),
                                int(rng.integers(60, 241)),
                                f"repair after fault {rate.code}",
                            ),
                        )
                    )
    h.serious_days.sort()
