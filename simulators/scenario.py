"""Scenarios: a fleet (the register a housing bureau keeps) plus what the simulator alone knows about
each unit (its hidden traits, planned renewals, scripted inspection outcomes).

Scenarios are YAML files. `seed-cases` lists its compounds explicitly; `city` names a generator
(simulators/city.py) and its parameters. `load_scenario` accepts a built-in name or a path.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from core.errors import Invalid, NotFound
from core.register_format import COLUMNS

SCENARIO_DIR = Path(__file__).parent / "scenarios"
BUILTIN = ("seed-cases", "city")

BUILDING_KEYS = (
    "floors",
    "households",
    "residents",
    "elderly_share",
    "year_built",
    "property_unit",
    "fund_status",
    "fund_balance",
)
UNIT_KEYS = (
    "manufacturer",
    "model",
    "installed_on",
    "rated_load_kg",
    "rated_speed_mps",
    "stops",
    "drive_type",
    "contractor_id",
    "contractor_since",
)


def building_point(where: Sequence[float], index: int) -> dict[str, float]:
    """Where a compound's building number ``index`` stands: in rows of four, about 60 m apart."""
    row, column = divmod(index, 4)
    return {
        "lat": round(float(where[0]) - 0.00055 * row, 6),
        "lon": round(float(where[1]) + 0.0007 * column, 6),
    }


HIDDEN_KEYS = ("frailty", "trips_per_day", "inspection_day", "renewals")
TRIPS_PER_HOUSEHOLD_DAY = 4.0


@dataclass(frozen=True)
class Renewal:
    """A major renewal (replacement, reset to new) or overhaul (most wear removed) completed on a
    date; the unit is out of service for the downtime before it."""

    on: date
    kind: Literal["renewal", "overhaul"] = "renewal"


@dataclass(frozen=True)
class ScriptedInspection:
    """A periodic inspection whose outcome is a published fact, not drawn by the model."""

    unit_id: str
    on: date
    result: Literal["pass", "pass_after_rectification", "fail"]
    defects: tuple[Mapping[str, Any], ...] = ()
    report_no: str | None = None


@dataclass(frozen=True)
class Hidden:
    """What only the simulator knows about a unit."""

    frailty: float
    trips_per_day: float
    manufacturer_factor: float
    miss_rate: float
    inspection_day: tuple[int, int]  # (month, day) of the annual periodic inspection


@dataclass(frozen=True)
class UnitSpec:
    """One unit: its register facts (keys of core.register_format.COLUMNS, renewed_on excluded),
    its renewals and its hidden traits."""

    facts: Mapping[str, Any]
    renewals: tuple[Renewal, ...]
    hidden: Hidden
    inspection_body: str

    @property
    def unit_id(self) -> str:
        return str(self.facts["unit_id"])

    @property
    def building_id(self) -> str:
        return str(self.facts["building_id"])

    @property
    def contractor_id(self) -> str:
        return str(self.facts["contractor_id"])

    @property
    def installed_on(self) -> date:
        return _as_date(self.facts["installed_on"])


@dataclass
class Scenario:
    """A fleet and its simulation plan."""

    name: str
    units: list[UnitSpec]
    register_date: date
    inspection_body: str
    inspections: list[ScriptedInspection] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def register_rows(self, as_of: date | None = None) -> list[dict[str, Any]]:
        """The register as the bureau holds it on `as_of` (default: the scenario's register date):
        one dict per unit installed by then, keyed by the COLUMNS keys."""
        day = as_of or self.register_date
        rows = []
        for unit in self.units:
            if unit.installed_on > day:
                continue
            row = dict.fromkeys(KEYS)
            row.update(unit.facts)
            done = [r.on for r in unit.renewals if r.on <= day]
            row["renewed_on"] = max(done) if done else None
            row["service_status"] = _status_on(self, unit, day)
            rows.append(row)
        return rows

    def write_register(
        self, path: Path | str, *, lang: str = "en", as_of: date | None = None
    ) -> int:
        """Write the register as CSV (UTF-8, English or zh-CN headers); return the number of rows."""
        rows = self.register_rows(as_of)
        headers = [c.zh if lang == "zh-CN" else c.key for c in COLUMNS]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else str(v) for v in row.values()])
        Path(path).write_text(out.getvalue(), encoding="utf-8")
        return len(rows)

    def unit(self, unit_id: str) -> UnitSpec:
        """One unit by id."""
        for unit in self.units:
            if unit.unit_id == unit_id:
                return unit
        raise NotFound(f"no unit {unit_id!r} in scenario {self.name!r}")

    def subset(self, unit_ids: set[str]) -> Scenario:
        """The same scenario restricted to some units (for small tests)."""
        return replace(
            self,
            units=[u for u in self.units if u.unit_id in unit_ids],
            inspections=[i for i in self.inspections if i.unit_id in unit_ids],
        )


KEYS = [c.key for c in COLUMNS]


def _status_on(scenario: Scenario, unit: UnitSpec, day: date) -> str:
    from simulators.params import RENEWAL_DOWNTIME_DAYS

    for renewal in unit.renewals:
        downtime = RENEWAL_DOWNTIME_DAYS[renewal.kind]
        if 0 < (renewal.on - day).days <= downtime:
            return "under_renewal"
    fails = [i.on for i in scenario.inspections if i.unit_id == unit.unit_id and i.result == "fail"]
    last_fail = max((d for d in fails if d <= day), default=None)
    if last_fail and not any(last_fail < r.on <= day for r in unit.renewals):
        return "stopped"
    return "in_service"


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts, the same on every machine and run."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def scenario_path(name_or_path: str) -> Path:
    """The YAML file of a built-in scenario name, or the given path."""
    if name_or_path in BUILTIN:
        return SCENARIO_DIR / f"{name_or_path}.yaml"
    path = Path(name_or_path)
    if not path.is_file():
        raise NotFound(
            f"no scenario {name_or_path!r}: use one of {', '.join(BUILTIN)} or a YAML file path"
        )
    return path


def load_scenario(name_or_path: str, **overrides: Any) -> Scenario:
    """Load a built-in scenario (`seed-cases`, `city`) or a YAML file; overrides replace top-level
    parameters (for `city`: units, seed, register_date, ...)."""
    path = scenario_path(name_or_path)
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise Invalid(f"{path.name}: a scenario file must be a YAML mapping")
    unknown = set(overrides) - set(spec) - {"seed", "units", "register_date"}
    if unknown:
        raise Invalid(
            f"scenario {spec.get('name', path.stem)!r} has no parameter(s) {sorted(unknown)}"
        )
    if "units" in overrides and spec.get("generator") != "city":
        raise Invalid(
            f"scenario {spec.get('name', path.stem)!r} lists its units; --units applies to city"
        )
    spec.update({k: v for k, v in overrides.items() if v is not None})
    if spec.get("generator") == "city":
        from simulators.city import generate_city

        return generate_city(spec)
    return _explicit(spec)


def _explicit(spec: dict[str, Any]) -> Scenario:
    seed = int(spec.get("seed", 0))
    manufacturers = {m["name"]: float(m.get("factor", 1.0)) for m in spec.get("manufacturers", [])}
    contractors = {c["id"]: c for c in spec["contractors"]}
    planned: dict[str, list[dict[str, Any]]] = {}
    for *_, community, _building, raw in _walk(spec):
        for entry in community.get("planned_renewals", []):
            if raw["id"] in entry["units"]:
                planned.setdefault(str(raw["id"]), []).append(entry)
    units = []
    for district, office, community, building, raw in _walk(spec):
        facts = {
            "district_id": str(district["id"]),
            "district": district["name"],
            "street_office_id": str(office["id"]),
            "street_office": office["name"],
            "community_id": str(community["id"]),
            "community": community["name"],
            "building_id": str(building["id"]),
            "building": building["name"],
        }
        merged = {**community.get("defaults", {}), **building, **raw}
        for key in (*BUILDING_KEYS, *UNIT_KEYS):
            facts[key] = merged.get(key)
        facts["year_built"] = merged.get("year_built", community.get("year_built"))
        if "where" in community:
            facts.update(building_point(community["where"], community["buildings"].index(building)))
        facts["unit_id"] = str(raw["id"])
        facts["registration_code"] = str(raw.get("registration_code", f"REG-{raw['id']}"))
        contractor = contractors[merged["contractor_id"]]
        facts["contractor"] = contractor["name"]
        merged["renewals"] = [*merged.get("renewals", []), *planned.get(facts["unit_id"], [])]
        merged["inspection_body"] = district.get("inspection_body", spec["inspection_body"])
        units.append(_unit(seed, facts, merged, manufacturers, contractor, len(building["units"])))
    inspections = []
    for entry in spec.get("inspections", []):
        for unit_id in entry.get("units", [entry.get("unit")]):
            inspections.append(
                ScriptedInspection(
                    unit_id=str(unit_id),
                    on=_as_date(entry["date"]),
                    result=entry["result"],
                    defects=tuple(entry.get("defects", ())),
                    report_no=entry.get("report_no"),
                )
            )
    known = {u.unit_id for u in units}
    strays = sorted({i.unit_id for i in inspections} - known)
    if strays:
        raise Invalid(f"scripted inspections name unknown units: {strays}")
    return Scenario(
        name=spec["name"],
        units=units,
        register_date=_as_date(spec["register_date"]),
        inspection_body=spec["inspection_body"],
        inspections=inspections,
        meta={"seed": seed, "facts": spec.get("facts", {})},
    )


def _walk(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], ...]]:
    for district in spec["districts"]:
        for office in district["street_offices"]:
            for community in office["communities"]:
                for building in community["buildings"]:
                    for raw in building["units"]:
                        yield district, office, community, building, raw


def _unit(
    seed: int,
    facts: dict[str, Any],
    merged: dict[str, Any],
    manufacturers: dict[str, float],
    contractor: dict[str, Any],
    units_in_building: int,
) -> UnitSpec:
    rng = np.random.default_rng([seed, stable_int("hidden", facts["unit_id"])])
    frailty = merged.get("frailty", float(rng.lognormal(0.0, 0.35)))
    households = int(facts["households"] or 0)
    trips = merged.get(
        "trips_per_day", households * TRIPS_PER_HOUSEHOLD_DAY / max(1, units_in_building)
    )
    day = merged.get("inspection_day")
    if day:
        month, dom = (int(x) for x in str(day).split("-"))
    else:
        month, dom = int(rng.integers(1, 13)), int(rng.integers(1, 29))
    renewals = tuple(
        sorted(
            (
                Renewal(on=_as_date(r["date"]), kind=r.get("kind", "renewal"))
                for r in merged.get("renewals", [])
            ),
            key=lambda r: r.on,
        )
    )
    hidden = Hidden(
        frailty=float(frailty),
        trips_per_day=float(trips),
        manufacturer_factor=manufacturers.get(str(facts["manufacturer"]), 1.0),
        miss_rate=float(contractor.get("miss_rate", 0.05)),
        inspection_day=(month, dom),
    )
    return UnitSpec(
        facts=facts, renewals=renewals, hidden=hidden, inspection_body=merged["inspection_body"]
    )
