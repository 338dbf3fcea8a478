"""Simulate a scenario: every unit's events in time order, as payloads of the event contract, and the
ground truth behind them. The same scenario, period and seed give a byte-identical stream."""

from __future__ import annotations

import csv
import hashlib
import heapq
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from core.contracts import topic_for
from core.errors import Invalid
from simulators import params
from simulators.scenario import Scenario, stable_int
from simulators.truth import TRUTH_COLUMNS, unit_truth
from simulators.unitsim import DAY, UnitHistory, simulate_unit
from simulators.worlds import DEFAULT_WORLD, World

EVENT_NAMESPACE = uuid.UUID("6f1c2d3e-8b7a-4c5d-9e0f-1a2b3c4d5e6f")
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes
DEFAULT_STATUS_EVERY = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One event as a controller publishes it: the topic parts and the JSON payload."""

    contractor_id: str
    unit_id: str
    kind: str
    payload: dict[str, Any]

    @property
    def topic(self) -> str:
        """The MQTT topic of the event."""
        return topic_for(self.contractor_id, self.unit_id, self.kind)

    def encode(self) -> bytes:
        """The payload as JSON bytes (keys in a fixed order)."""
        return orjson.dumps(self.payload)


def simulate(
    scenario: Scenario,
    *,
    start: date,
    end: date,
    seed: int,
    status_every: timedelta | None = DEFAULT_STATUS_EVERY,
    world: World = DEFAULT_WORLD,
) -> Simulation:
    """A simulation of the scenario over [start, end) in a world (default: `age`); nothing is
    drawn until it is read."""
    if end <= start:
        raise Invalid(f"the end ({end}) must be after the start ({start})")
    if status_every is not None and status_every.total_seconds() < 1:
        raise Invalid("status samples need an interval of at least one second")
    if "status" not in world.feeds:
        status_every = None
    return Simulation(scenario, start, end, seed, status_every, world)


class Simulation:
    """The histories of every unit, drawn once on first use and kept."""

    def __init__(
        self,
        scenario: Scenario,
        start: date,
        end: date,
        seed: int,
        status_every: timedelta | None,
        world: World = DEFAULT_WORLD,
    ) -> None:
        self.scenario, self.start, self.end, self.seed = scenario, start, end, seed
        self.world = world
        self.status_every = status_every
        self.n_days = (end - start).days
        self._origin = datetime(start.year, start.month, start.day, tzinfo=params.TZ)
        self._histories: list[UnitHistory] | None = None
        self.counts: Counter[str] = Counter()

    def histories(self, progress: Any = None) -> list[UnitHistory]:
        """Every unit's hidden history (drawn on first call)."""
        if self._histories is None:
            scripted: dict[str, list[Any]] = {}
            for s in self.scenario.inspections:
                scripted.setdefault(s.unit_id, []).append(s)
            out = []
            for i, unit in enumerate(self.scenario.units):
                if (unit.installed_on - self.start).days >= self.n_days:
                    continue
                out.append(
                    simulate_unit(
                        i,
                        unit,
                        scripted.get(unit.unit_id, []),
                        start=self.start,
                        n_days=self.n_days,
                        seed=self.seed,
                        world=self.world,
                    )
                )
                if progress is not None:
                    progress(i + 1, len(self.scenario.units))
            self._histories = out
        return self._histories

    def events(self) -> Iterator[SimEvent]:
        """Every event of every unit, in occurred_at order (ties by unit, then by record)."""
        self.counts = Counter()
        streams = []
        for h in self.histories():
            streams.append(_records(h))
            if self.status_every is not None:
                streams.append(self._status_samples(h))
        by_index = {h.index: (h, h.unit.unit_id, h.unit.contractor_id) for h in self.histories()}
        builders = {
            kind: getattr(self, f"_{kind}")
            for kind in ("fault", "inspection", "maintenance", "status")
        }
        for second, index, seq, kind, fields in heapq.merge(*streams):
            h, unit_id, contractor_id = by_index[index]
            payload: dict[str, Any] = {
                "v": 1,
                "event_id": event_uuid(f"{self.seed}/{unit_id}/{kind}/{second}/{seq}"),
                "occurred_at": self._iso(second),
            }
            payload.update(builders[kind](h, second, fields))
            self.counts[kind] += 1
            yield SimEvent(contractor_id, unit_id, kind, payload)

    def count_events(self) -> int:
        """How many events events() yields, without building them."""
        total = 0
        for h in self.histories():
            total += len(h.records)
            if self.status_every is not None:
                every = int(self.status_every.total_seconds())
                first = (
                    h.active_from * DAY + stable_int(self.seed, "status", h.unit.unit_id) % every
                )
                total += max(0, -(-(self.n_days * DAY - first) // every))
        return total

    def ground_truth(self) -> list[dict[str, Any]]:
        """One row per unit and 1st of the month: unit_id, date, condition, p_serious_12m,
        serious_12m (None when the 12 months run past the end)."""
        rows = []
        for h in self.histories():
            rows += unit_truth(h, self.start, self.end)
        return rows

    def write_ground_truth(self, path: Path | str) -> int:
        """Write the ground truth as CSV; return the number of rows."""
        rows = self.ground_truth()
        with Path(path).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(TRUTH_COLUMNS)
            for r in rows:
                happened = "" if r["serious_12m"] is None else r["serious_12m"]
                writer.writerow(
                    [
                        r["unit_id"],
                        r["date"].isoformat(),
                        f"{r['condition']:.4f}",
                        f"{r['p_serious_12m']:.4f}",
                        happened,
                    ]
                )
        return len(rows)

    def _iso(self, second: int) -> str:
        return (self._origin + timedelta(seconds=second)).isoformat()

    def _status_samples(self, h: UnitHistory) -> Iterator[tuple[int, int, int, str, Any]]:
        assert self.status_every is not None
        every = int(self.status_every.total_seconds())
        rng_state = stable_int(self.seed, "status", h.unit.unit_id)
        t = h.active_from * DAY + rng_state % every
        trips = int(h.unit.hidden.trips_per_day * max(0, (self.start - h.unit.installed_on).days))
        last = t
        k = 0
        end = self.n_days * DAY
        rng = np.random.default_rng([self.seed, rng_state])
        per_second = h.unit.hidden.trips_per_day / DAY
        while t < end:
            running = (t - last) - _stopped_seconds(h.stops, last, t)
            trips += int(rng.poisson(per_second * running)) if running > 0 else 0
            in_service = not any(a * DAY <= t < b * DAY for a, b in h.stops)
            yield (t, h.index, 10**9 + k, "status", (trips, in_service))
            last = t
            t += every
            k += 1

    def _status(self, h: UnitHistory, second: int, f: tuple[Any, ...]) -> dict[str, Any]:
        trips, in_service = f
        return {
            "online": True,
            "trips": trips,
            "door_cycles": int(trips * params.DOOR_CYCLES_PER_TRIP),
            "running_hours": round(trips * params.SECONDS_PER_TRIP / 3600, 1),
            "in_service": in_service,
        }

    def _fault(self, h: UnitHistory, second: int, f: tuple[Any, ...]) -> dict[str, Any]:
        code, cause, severity, trapped, people, minutes, floor, description = f
        out: dict[str, Any] = {"code": code}
        if cause is not None:
            out["cause"] = cause
        if severity is not None:
            out["severity"] = severity
        out["entrapment"] = trapped
        out["passengers_trapped"] = people
        if minutes is not None:
            out["ended_at"] = self._iso(second + minutes * 60)
        if floor is not None:
            out["floor"] = floor
        if description is not None:
            out["description"] = description
        return out

    def _inspection(self, h: UnitHistory, second: int, f: tuple[Any, ...]) -> dict[str, Any]:
        result, reinspection, defects, expiry, report_no = f
        out: dict[str, Any] = {
            "inspection_body": h.unit.inspection_body,
            "result": result,
            "reinspection": reinspection,
            "defects": [dict(d) for d in defects],
            "report_no": report_no,
        }
        if expiry is not None:
            out["certificate_expiry"] = expiry.isoformat()
        return out

    def _maintenance(self, h: UnitHistory, second: int, f: tuple[Any, ...]) -> dict[str, Any]:
        visit_type, parts, minutes, notes = f
        out: dict[str, Any] = {
            "visit_type": visit_type,
            "parts": list(parts),
            "duration_minutes": minutes,
            "technician": f"{h.unit.contractor_id}-T{stable_int(h.unit.unit_id) % 20:02d}",
        }
        if notes is not None:
            out["notes"] = notes
        return out


def event_uuid(name: str) -> str:
    """uuid.uuid5(EVENT_NAMESPACE, name) as text, without the UUID object (a hot path)."""
    raw = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    x = raw.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _records(h: UnitHistory) -> Iterator[tuple[int, int, int, str, Any]]:
    for second, seq, kind, fields in h.records:
        yield second, h.index, seq, kind, fields


def _stopped_seconds(stops: list[tuple[int, int]], a: int, b: int) -> int:
    total = 0
    for lo, hi in stops:
        total += max(0, min(b, hi * DAY) - max(a, lo * DAY))
    return total
