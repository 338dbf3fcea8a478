"""The `city` scenario: a synthetic district of N units generated from the parameters in
scenarios/city.yaml, the same for the same seed."""

from __future__ import annotations

import bisect
import math
import random
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from simulators.scenario import Hidden, Renewal, Scenario, UnitSpec, _as_date, building_point

_SYLLABLES = "安和康宁华兴福顺丰泰祥瑞嘉景清明翠园春晖博雅新旭永德"
_COMMUNITY_SUFFIX = ("小区", "园", "里", "苑", "家园", "花园")
_WORK_UNITS = ("某机械厂", "某研究院", "某大学", "某医院", "某局", "某公司")


def generate_city(spec: dict[str, Any]) -> Scenario:
    """A district of spec['units'] units across street offices, compounds and buildings."""
    n_units = int(spec["units"])
    if n_units < 1:
        raise ValueError("a city needs at least one unit")
    rng = random.Random(int(spec["seed"]))
    register_date = _as_date(spec["register_date"])
    district = spec["district"]
    n_offices = max(1, round(n_units / float(spec["units_per_street_office"])))
    contractors = _contractors(spec, rng, n_units)
    makers = spec["manufacturers"]
    maker_p = [float(m["share"]) for m in makers]
    types = spec["compound_types"]
    type_names = list(types)
    type_p = [float(types[t]["share"]) for t in type_names]

    units: list[UnitSpec] = []
    n_community = 0
    n_building = 0
    while len(units) < n_units:
        n_community += 1
        kind = type_names[_pick(rng, type_p)]
        shape = types[kind]
        office_no = rng.randrange(1, n_offices + 1)
        community = {
            "district_id": str(district["id"]),
            "district": district["name"],
            "street_office_id": f"{district['id']}-S{office_no:03d}",
            "street_office": _name(office_no, 7) + "街道",
            "community_id": f"{district['id']}-C{n_community:05d}",
            "community": _name(n_community, 13)
            + _COMMUNITY_SUFFIX[n_community % len(_COMMUNITY_SUFFIX)],
        }
        where = _compound_point(spec, office_no, community["community_id"])
        year_built = _year(rng, shape["built"], spec["built_weights"])
        age = register_date.year - year_built
        contractor = contractors[rng.randrange(len(contractors))]
        fund_p = spec["fund_status"]["old" if age >= 15 else "young"]
        property_unit = (
            f"{community['community']}业主"
            if rng.random() < 0.6
            else _WORK_UNITS[rng.randrange(len(_WORK_UNITS))]
        )
        for b in range(rng.randrange(shape["buildings"][0], shape["buildings"][1] + 1)):
            if len(units) >= n_units:
                break
            n_building += 1
            floors = rng.randrange(shape["floors"][0], shape["floors"][1] + 1)
            per_floor = rng.randrange(shape["flats_per_floor"][0], shape["flats_per_floor"][1] + 1)
            households = floors * per_floor
            fund = list(fund_p)[_pick(rng, fund_p.values())]
            building = {
                **community,
                "building_id": f"{district['id']}-B{n_building:06d}",
                "building": f"{b + 1}号楼",
                "floors": floors,
                "households": households,
                "residents": int(households * rng.uniform(2.2, 3.0)),
                "elderly_share": round(min(0.9, max(0.03, rng.gauss(0.12 + 0.012 * age, 0.08))), 3),
                "year_built": year_built,
                "property_unit": property_unit,
                "fund_status": fund,
                "fund_balance": _balance(rng, fund, households),
                **building_point(where, b),
            }
            counts = shape["units_per_building"]
            n_here = int(list(counts)[_pick(rng, counts.values())])
            for _ in range(min(n_here, n_units - len(units))):
                units.append(
                    _unit(
                        spec,
                        rng,
                        building,
                        len(units) + 1,
                        n_here,
                        kind,
                        contractor,
                        makers,
                        maker_p,
                        register_date,
                    )
                )
    return Scenario(
        name="city",
        units=units,
        register_date=register_date,
        inspection_body=spec["inspection_body"],
        meta={"seed": int(spec["seed"]), "units": n_units, "contractors": contractors},
    )


def _unit(
    spec: dict[str, Any],
    rng: random.Random,
    building: dict[str, Any],
    number: int,
    in_building: int,
    kind: str,
    contractor: dict[str, Any],
    makers: list[dict[str, Any]],
    maker_p: list[float],
    register_date: date,
) -> UnitSpec:
    shape = spec["compound_types"][kind]
    if "retrofit" in shape:
        year = rng.randrange(shape["retrofit"][0], shape["retrofit"][1] + 1)
        installed = _day_in(rng, year)
        model, load, speed = "加装电梯-630kg", 630, 1.0
    else:
        installed = _day_in(rng, building["year_built"]) + timedelta(days=rng.randrange(0, 300))
        model, load, speed = (
            ("TKJ1000/1.75", 1000, 1.75) if building["floors"] > 11 else ("TKJ800/1.5", 800, 1.5)
        )
    installed = min(installed, register_date - timedelta(days=30))
    maker = makers[_pick(rng, maker_p)]
    renewals = _renewals(spec["renewal"], rng, installed, register_date)
    facts = {
        **building,
        "unit_id": f"{building['district_id']}-U{number:07d}",
        "registration_code": f"REG-{building['district_id']}-{number:07d}",
        "manufacturer": maker["name"],
        "model": model,
        "installed_on": installed,
        "rated_load_kg": load,
        "rated_speed_mps": speed,
        "stops": building["floors"],
        "drive_type": "traction",
        "contractor_id": contractor["id"],
        "contractor": contractor["name"],
        # One contractor for the unit's whole simulated life: it has maintained it since
        # installation, which is what an empty contractor_since means to the register.
        "contractor_since": None,
    }
    lo, hi = spec["trips_per_household_day"]
    hidden = Hidden(
        frailty=rng.lognormvariate(0.0, spec["frailty_sigma"]),
        trips_per_day=building["households"] * float(rng.uniform(lo, hi)) / in_building,
        manufacturer_factor=float(maker["factor"]),
        miss_rate=contractor["miss_rate"],
        inspection_day=(rng.randrange(1, 13), rng.randrange(1, 29)),
    )
    return UnitSpec(
        facts=facts, renewals=renewals, hidden=hidden, inspection_body=spec["inspection_body"]
    )


def _contractors(spec: dict[str, Any], rng: random.Random, n_units: int) -> list[dict[str, Any]]:
    params = spec["contractors"]
    count = max(int(params["min_count"]), round(n_units * params["count_per_10000_units"] / 10000))
    lo, hi = params["miss_rate"]
    district = spec["district"]["id"]
    return [
        {
            "id": f"{district}-WB{i + 1:03d}",
            "name": f"{_name(i + 3, 5)}电梯维保有限公司",
            "miss_rate": round(float(rng.uniform(lo, hi)), 3),
        }
        for i in range(count)
    ]


def _renewals(
    params: dict[str, Any], rng: random.Random, installed: date, register_date: date
) -> tuple[Renewal, ...]:
    age_years = (register_date - installed).days / 365.25
    if age_years < params["min_age"] or rng.random() >= params["probability"]:
        return ()
    at = float(rng.uniform(*params["at_age"]))
    on = installed + timedelta(days=int(min(at, age_years - 0.1) * 365.25))
    if rng.random() < params["overhaul_share"]:
        return (Renewal(on=on, kind="overhaul"),)
    return (Renewal(on=on, kind="renewal"),)


def _pick(rng: random.Random, weights: Any) -> int:
    """Index drawn with the given weights (much faster than Generator.choice for one draw)."""
    cum = list(accumulate(float(w) for w in weights))
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _year(rng: random.Random, span: list[int], weights: dict[int, float]) -> int:
    years = list(range(span[0], span[1] + 1))
    w = [weights.get(y // 10 * 10, 0.1) for y in years]
    return int(years[_pick(rng, w)])


def _day_in(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(0, 365))


def _balance(rng: random.Random, fund: str, households: int) -> float | None:
    if fund == "funded":
        return round(float(households * rng.uniform(2000, 6000)), 2)
    if fund == "insufficient":
        return round(float(households * rng.uniform(50, 800)), 2)
    return None


def _compound_point(spec: dict[str, Any], office_no: int, community_id: str) -> tuple[float, float]:
    """Where a compound stands: its street office's patch of the district, a few hundred metres
    off its centre. Drawn from the ids, not the generator's stream, so every other fact stays as
    the seed made it."""
    lat0, lon0 = (float(x) for x in spec["district"].get("centre", (39.93, 116.52)))
    # Street offices sit on a ring about 2.5 km from the district's centre.
    angle = 2.4 * office_no
    lat = lat0 + 0.022 * math.sin(angle)
    lon = lon0 + 0.029 * math.cos(angle)
    place = random.Random(f"{spec['seed']}:{community_id}")
    return lat + place.uniform(-0.012, 0.012), lon + place.uniform(-0.016, 0.016)


def _name(number: int, stride: int) -> str:
    n = len(_SYLLABLES)
    first = _SYLLABLES[(number * stride) % n]
    second = _SYLLABLES[(number * stride // n + number) % n]
    return first + second
