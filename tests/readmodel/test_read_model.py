"""The read model's answers on a small district: scope ranks across pages, buildings by need with
filters and pages, the 5×5 matrix, search, data health against the data's own time, and the
fleet-wide overhaul line."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.errors import Invalid
from core.scope import ADMIN, Scope
from queries import ages, buildings, health, matrix, places, ranking
from scoring.policy import load_policy
from tests.dashboards import factories

Conn = psycopg.Connection[Any]


@pytest.fixture
def world(conn: Conn) -> factories.World:
    """The small district of the dashboard tests, in this test's own database."""
    return factories.build(conn, with_tokens=False)


def test_scope_ranks_count_within_the_scope_and_continue_across_pages(
    conn: Conn, world: factories.World
) -> None:
    bureau = Scope("bureau", factories.DISTRICT)
    first = ranking.ranking(conn=conn, scope=bureau, run_id=world.run_id, limit=5)
    second = ranking.ranking(
        conn=conn, scope=bureau, run_id=world.run_id, limit=5, cursor=first.next_cursor
    )
    items = first.items + second.items
    assert [i["scope_rank"] for i in items] == list(range(1, len(items) + 1))
    office = Scope("street_office", factories.OTHER_STREET_OFFICE)
    (far,) = ranking.ranking(conn=conn, scope=office, run_id=world.run_id).items
    assert far["scope_rank"] == 1 and far["rank"] > 1  # first here, not first in the fleet
    assert far["district_name"] == "海淀区" and far["contractor_name_en"] == "Yongan Lift"
    assert far["households"] == 42 and far["installed_on"] == date(2010, 3, 1)


def test_buildings_by_need_filter_and_page_keeping_their_need_rank(
    conn: Conn, world: factories.World
) -> None:
    scope = Scope("street_office", factories.STREET_OFFICE)
    whole = buildings.building_need(conn=conn, scope=scope, run_id=world.run_id)
    assert whole.total == len(whole.buildings) == 6
    assert [b.need_rank for b in whole.buildings] == [1, 2, 3, 4, 5, 6]
    assert {b.building_id for b in whole.buildings[:3]} == {"dxy-2", "dxy-4", "dxy-5"}
    paged = buildings.building_need(conn=conn, scope=scope, run_id=world.run_id, limit=2, offset=2)
    assert paged.total == 6 and paged.buildings == whole.buildings[2:4]
    liuyin = buildings.building_need(
        conn=conn, scope=scope, run_id=world.run_id, community_id="liuyin"
    )
    assert {b.building_id for b in liuyin.buildings} == {"ly-1", "ly-3"}
    assert [b.need_rank for b in liuyin.buildings] == [5, 6]  # their places in the whole list
    stopped = buildings.building_need(conn=conn, scope=scope, run_id=world.run_id, flag="stopped")
    assert {b.building_id for b in stopped.buildings} == {"dxy-2", "dxy-4", "dxy-5"}
    assert all(b.stopped == 1 for b in stopped.buildings)
    with pytest.raises(Invalid):
        buildings.building_need(conn=conn, scope=scope, run_id=world.run_id, flag="bad")
    outside = Scope("street_office", factories.OTHER_STREET_OFFICE)
    assert (
        buildings.building_need(
            conn=conn, scope=outside, run_id=world.run_id, street_office_id=factories.STREET_OFFICE
        ).buildings
        == []
    )


def test_the_matrix_puts_every_unit_in_one_fixed_band_cell(
    conn: Conn, world: factories.World
) -> None:
    cells = matrix.risk_matrix(conn=conn, scope=ADMIN, run_id=world.run_id)
    assert len(cells) == 25
    assert (cells[0].likelihood, cells[0].consequence) == (5, 1)  # top row first
    counts = {(c.likelihood, c.consequence): c.units for c in cells if c.units}
    # Failed units: PoF 0.6 (band 5: >= 30%), CoF 2.4 (band 4: 2-4); the others PoF 0.4, CoF 2.1;
    # the new ones PoF 0.05 (band 3: 3-10%), CoF 1.0 (band 3: 1-2).
    assert counts == {(5, 4): 8, (3, 3): 5}
    listed = matrix.cell_units(
        conn=conn, scope=ADMIN, run_id=world.run_id, likelihood=3, consequence=3
    )
    assert [u.unit_id for u in listed] == sorted(
        (u.unit_id for u in listed), key=lambda x: next(v.rank for v in listed if v.unit_id == x)
    )
    assert {u.unit_id for u in listed} == set(factories.NEW_UNITS + factories.FAR_UNITS) | {
        "cy-1-1"
    }
    chaoyang = matrix.risk_matrix(
        conn=conn, scope=Scope("bureau", factories.OTHER_DISTRICT), run_id=world.run_id
    )
    assert sum(c.units for c in chaoyang) == 1
    with pytest.raises(Invalid):
        matrix.cell_units(conn=conn, scope=ADMIN, run_id=world.run_id, likelihood=6, consequence=1)


def test_search_finds_by_id_code_and_chinese_name_within_the_scope(
    conn: Conn, world: factories.World
) -> None:
    bureau = Scope("bureau", factories.DISTRICT)
    hits = places.search(conn=conn, scope=bureau, text="稻香园")
    assert ("community", "dxy-west") in {(h.kind, h.id) for h in hits}
    assert {h.id for h in places.search(conn=conn, scope=bureau, text="REG-DXY-7")} == {
        "dxy-7-1",
        "dxy-7-2",
    }
    assert {h.id for h in places.search(conn=conn, scope=bureau, text="稻香园西里7号楼")} == {
        "dxy-7"
    }
    assert places.search(conn=conn, scope=bureau, text="cy-1-1") == []  # another district
    assert places.search(conn=conn, scope=bureau, text="%") == []  # no wildcard
    assert places.search(conn=conn, scope=bureau, text="  ") == []


def _samples(conn: Conn, unit_id: str, last: datetime, every: timedelta, n: int = 10) -> None:
    conn.cursor().executemany(
        "INSERT INTO status_sample (event_id, unit_id, contractor_id, occurred_at, online)"
        " VALUES (%s, %s, %s, %s, true)",
        [
            (
                uuid.uuid4(),
                unit_id,
                factories.CONTRACTOR,
                last - k * every,
            )
            for k in range(n)
        ],
    )


def test_freshness_is_measured_against_the_datas_time_and_each_units_interval(
    conn: Conn, world: factories.World
) -> None:
    conn.execute("DELETE FROM status_sample")
    # A replayed feed from 2023: far behind today's clock, yet the latest of its own data.
    latest = datetime(2023, 4, 30, 12, 0, tzinfo=UTC)
    five = timedelta(minutes=5)
    _samples(conn, "ly-1-1", latest, five)
    _samples(conn, "ly-1-2", latest - 2 * five, five)  # two intervals late: going silent
    _samples(conn, "ly-3-1", latest - 4 * five, five)  # four intervals late: silent
    _samples(conn, "dxy-7-1", latest - timedelta(minutes=70), timedelta(hours=1))  # hourly: fine
    scope = Scope("contractor", factories.CONTRACTOR)
    units = {
        u.unit_id: u
        for u in health.contractor_units(
            conn=conn, scope=scope, contractor_id=factories.CONTRACTOR, run_id=world.run_id
        )
    }
    assert health.data_latest(conn=conn) == latest
    assert units["ly-1-1"].freshness == "online"
    assert units["ly-1-2"].freshness == "late"
    assert units["ly-3-1"].freshness == "silent"
    assert units["dxy-7-1"].freshness == "online"
    assert units["dxy-7-1"].interval_hours == pytest.approx(1.0)
    assert units["dxy-2-1"].freshness == "never"


def test_the_overhaul_line_is_the_fleets_not_the_scopes(conn: Conn, world: factories.World) -> None:
    policy = load_policy()
    as_of = datetime.now(UTC).date()
    zone = ages.overhaul_zone(conn=conn, policy=policy, as_of=as_of)
    # The shipped policy's rule: 15+ years and twice the fleet's equipment fault rate.
    assert zone.age == 15 and zone.ratio == 2
    points = ages.age_failure(conn=conn, scope=ADMIN, run_id=world.run_id, as_of=as_of)
    fleet_mean = sum(p.failure_rate for p in points) / len(points)
    assert zone.fleet_mean == pytest.approx(fleet_mean)
    assert zone.rate == pytest.approx(2 * fleet_mean)
    # The busiest street office's own average would put the line elsewhere.
    office = ages.age_failure(
        conn=conn,
        scope=Scope("street_office", factories.STREET_OFFICE),
        run_id=world.run_id,
        as_of=as_of,
    )
    assert sum(p.failure_rate for p in office) / len(office) != pytest.approx(fleet_mean)
