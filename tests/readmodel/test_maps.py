"""The buildings a map shows: those with coordinates, in the caller's scope, coloured by the worst
flag of the units the caller may see."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from core.scope import ADMIN, Scope
from dashboards.maps import NO_ELEVATOR, category
from queries import maps
from tests.dashboards import factories

Conn = psycopg.Connection[Any]


@pytest.fixture
def world(conn: Conn) -> factories.World:
    """The small district with coordinates on some of its buildings."""
    built = factories.build(conn, with_tokens=False)
    factories.add_coordinates(conn)
    return built


def _ids(points: list[maps.BuildingPoint]) -> set[str]:
    return {p.building_id for p in points}


def test_only_buildings_with_coordinates_in_the_scope_are_on_the_map(
    conn: Conn, world: factories.World
) -> None:
    run = world.run_id
    everything = maps.building_points(conn=conn, scope=ADMIN, run_id=run)
    assert _ids(everything) == {*factories.POINTS, factories.WALKUP}  # not Liuyin's 1 and 3
    bureau = maps.building_points(conn=conn, scope=Scope("bureau", factories.DISTRICT), run_id=run)
    assert _ids(bureau) == _ids(everything) - {"cy-1"}
    office = Scope("street_office", factories.STREET_OFFICE)
    assert _ids(maps.building_points(conn=conn, scope=office, run_id=run)) == {
        "dxy-2",
        "dxy-4",
        "dxy-5",
        "dxy-7",
        factories.WALKUP,
    }
    assert _ids(
        maps.building_points(conn=conn, scope=office, run_id=run, community_id="liuyin")
    ) == {factories.WALKUP}
    # Another office's buildings are not there, even when asked for by name.
    assert (
        maps.building_points(
            conn=conn, scope=office, run_id=run, street_office_id=factories.OTHER_STREET_OFFICE
        )
        == []
    )


def test_a_contractor_sees_the_buildings_of_its_own_units_only(
    conn: Conn, world: factories.World
) -> None:
    yongan = Scope("contractor", factories.OTHER_CONTRACTOR)
    [far] = maps.building_points(conn=conn, scope=yongan, run_id=world.run_id)
    assert (far.building_id, far.units) == ("xs-9", 1)
    jingdian = Scope("contractor", factories.CONTRACTOR)
    assert _ids(maps.building_points(conn=conn, scope=jingdian, run_id=world.run_id)) == {
        "dxy-2",
        "dxy-4",
        "dxy-5",
        "dxy-7",
        "cy-1",
    }


def test_a_building_is_coloured_by_its_worst_flag_and_a_walkup_as_such(
    conn: Conn, world: factories.World
) -> None:
    points = {
        p.building_id: p for p in maps.building_points(conn=conn, scope=ADMIN, run_id=world.run_id)
    }
    assert (points["dxy-2"].worst_flag, points["dxy-2"].units, points["dxy-2"].flagged) == (
        "stopped",
        2,
        2,
    )
    walkup = points[factories.WALKUP]
    assert (walkup.units, walkup.worst_flag, category(walkup)) == (0, None, NO_ELEVATOR)
    assert (walkup.lat, walkup.lon) == (39.979, 116.31)
