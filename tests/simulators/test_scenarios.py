"""Scenarios: the seed cases carry the published facts, the city has the shape asked of it, and
every register row imports."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.errors import Invalid, NotFound
from core.register import import_rows, parse_rows, read_file
from core.register_format import COLUMNS
from simulators.scenario import load_scenario


def _community(rows: list[dict[str, Any]], community_id: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["community_id"] == community_id]


def _households(rows: list[dict[str, Any]]) -> int:
    return sum({r["building_id"]: r["households"] for r in rows}.values())


def test_daoxiangyuan_west_has_its_published_facts() -> None:
    rows = _community(load_scenario("seed-cases").register_rows(), "DXYX")
    per_building = Counter(r["building"] for r in rows)
    assert per_building == {"2号楼": 2, "4号楼": 2, "5号楼": 2, "7号楼": 2}
    assert _households(rows) == 692
    assert {r["year_built"] for r in rows} == {1992}
    assert {r["installed_on"].year for r in rows} == {1992}
    assert {r["renewed_on"].year for r in rows} == {2006}
    owners = {o for r in rows for o in str(r["property_unit"]).split("、")}
    assert len(owners) == 5
    assert len({r["fund_status"] for r in rows}) == 3
    assert sum(r["residents"] for r in {r["building_id"]: r for r in rows}.values()) >= 2300
    # After the 2023-04-12 inspection three units are stopped, one per building at most.
    stopped = [r for r in rows if r["service_status"] == "stopped"]
    assert len(stopped) == 3
    assert len({r["building_id"] for r in stopped}) == 3


def test_the_other_cases_have_their_published_facts() -> None:
    rows = load_scenario("seed-cases").register_rows(as_of=date(2023, 8, 1))
    runfeng = _community(rows, "RFXS")
    assert len({r["building_id"] for r in runfeng}) == 6 and len(runfeng) == 18
    assert Counter(r["building_id"] for r in runfeng).most_common(1)[0][1] == 3
    assert _households(runfeng) == 1080
    assert {r["year_built"] for r in runfeng} == {2011}
    assert {r["fund_status"] for r in runfeng} == {"none"}
    assert all(r["renewed_on"] and r["renewed_on"] <= date(2023, 7, 15) for r in runfeng)
    hetou = _community(rows, "HTRD")
    assert len({r["building_id"] for r in hetou}) == 4
    assert {r["floors"] for r in hetou} == {7}
    assert _households(hetou) == 96
    zhengzhou = _community(rows, "ZZEQ")
    assert len(zhengzhou) == 1 and zhengzhou[0]["floors"] == 7
    assert zhengzhou[0]["year_built"] == 2000 and zhengzhou[0]["installed_on"].year == 2020
    ningkang = _community(rows, "NKY")
    assert all((date(2026, 1, 1) - r["installed_on"]).days > 15 * 365 for r in ningkang)


def test_register_rows_hold_only_register_columns() -> None:
    keys = [c.key for c in COLUMNS]
    for name, overrides in (("seed-cases", {}), ("city", {"units": 50})):
        for row in load_scenario(name, **overrides).register_rows():
            assert list(row) == keys


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_written_registers_parse_without_problems(tmp_path: Path, lang: str) -> None:
    for name, overrides in (("seed-cases", {}), ("city", {"units": 400, "seed": 7})):
        scenario = load_scenario(name, **overrides)
        path = tmp_path / f"{name}.csv"
        written = scenario.write_register(path, lang=lang)
        good, problems = parse_rows(read_file(path))
        assert problems == []
        assert len(good) == written == len(scenario.register_rows())


def test_seed_cases_import_into_the_register(conn: psycopg.Connection[dict[str, Any]]) -> None:
    rows = load_scenario("seed-cases").register_rows()
    report = import_rows(conn, rows, source="simulator")
    assert report.created == len(rows) == 37
    counted = conn.execute(
        "SELECT count(*) AS n FROM unit WHERE building_id LIKE 'DXYX-%'"
    ).fetchone()
    assert counted is not None and counted["n"] == 8
    again = import_rows(conn, rows, source="simulator")
    assert again.unchanged == len(rows)


def test_city_has_the_shape_of_an_old_district() -> None:
    scenario = load_scenario("city", units=3000, seed=5)
    rows = scenario.register_rows()
    assert len(rows) == 3000
    day = scenario.register_date
    ages = [(day - (r["renewed_on"] or r["installed_on"])).days / 365.25 for r in rows]
    assert sum(a > 15 for a in ages) / len(ages) > 0.3
    assert len({r["manufacturer"] for r in rows}) >= 5
    assert len({r["contractor_id"] for r in rows}) >= 4
    assert len({r["street_office_id"] for r in rows}) >= 1
    per_building: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        per_building[r["building_id"]].append(r)
    high = [b for b in per_building.values() if b[0]["floors"] >= 12]
    walkups = [b for b in per_building.values() if b[0]["floors"] <= 7]
    assert high and walkups
    assert {len(b) for b in high[:-1]} <= {2, 3}
    assert {len(b) for b in walkups} == {1}
    assert all(b[0]["installed_on"].year >= 2012 for b in walkups)  # retrofitted
    shares = [float(r["elderly_share"]) for r in rows]
    assert 0.05 < sum(shares) / len(shares) < 0.6
    assert {r["fund_status"] for r in rows} == {"funded", "insufficient", "none"}


def test_city_is_the_same_for_the_same_seed() -> None:
    a = load_scenario("city", units=200, seed=3).register_rows()
    b = load_scenario("city", units=200, seed=3).register_rows()
    c = load_scenario("city", units=200, seed=4).register_rows()
    assert a == b
    assert a != c


def test_bad_scenario_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_scenario(str(tmp_path / "missing.yaml"))
    with pytest.raises(Invalid):
        load_scenario("seed-cases", units=10)
    with pytest.raises(Invalid):
        load_scenario("city", colour="blue")
