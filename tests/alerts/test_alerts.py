"""The alert feed: one open alert per subject and kind, clearing, scope, and re-deliveries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from core.alerts import clear_alerts, raise_alert
from core.errors import NotFound
from core.register import import_rows
from core.scope import ADMIN, Scope
from queries.alerts import alerts, clear, open_count
from tests.core.factories import unit_row

Conn = psycopg.Connection[dict[str, Any]]
AT = datetime(2026, 12, 1, 8, 15, tzinfo=UTC)


@pytest.fixture
def fleet(conn: Conn) -> Conn:
    rows = [unit_row(1), unit_row(2)]
    rows += [
        unit_row(
            3, district_id="D2", district="朝阳区", street_office_id="SO2", street_office="X街道",
            community_id="C9", community="小区9", building_id="C9-B1", contractor_id="M2",
            contractor="维保二",
        )
    ]  # fmt: skip
    import_rows(conn, rows, source="test")
    return conn


def test_a_repeat_counts_on_the_open_alert_until_it_clears(fleet: Conn) -> None:
    first = raise_alert(
        fleet, kind="entrapment", unit_id="U000001", contractor_id="M1", occurred_at=AT
    )
    again = raise_alert(
        fleet, kind="entrapment", unit_id="U000001", contractor_id="M1", occurred_at=AT
    )
    assert first == again
    [only] = alerts(conn=fleet, scope=ADMIN)
    assert only.occurrences == 2 and only.building_name and only.contractor_name == "维保一"
    assert clear_alerts(fleet, kind="entrapment", subjects=["U000001"]) == 1
    assert alerts(conn=fleet, scope=ADMIN) == []
    third = raise_alert(
        fleet, kind="entrapment", unit_id="U000001", contractor_id="M1", occurred_at=AT
    )
    assert third != first
    assert [a.alert_id for a in alerts(conn=fleet, scope=ADMIN, open_only=False)] == [third, first]


def test_a_redelivered_event_counts_once(fleet: Conn) -> None:
    event = uuid.uuid4()
    for _ in range(3):
        raise_alert(
            fleet, kind="entrapment", unit_id="U000002", contractor_id="M1", occurred_at=AT,
            event_id=event,
        )  # fmt: skip
    [only] = alerts(conn=fleet, scope=ADMIN)
    assert only.occurrences == 1


def test_kinds_are_suppressed_separately_and_scoped(fleet: Conn) -> None:
    raise_alert(fleet, kind="entrapment", unit_id="U000001", contractor_id="M1", occurred_at=AT)
    raise_alert(fleet, kind="silent", unit_id="U000001", contractor_id="M1", occurred_at=AT)
    raise_alert(fleet, kind="stopped", unit_id="U000003", contractor_id="M2", occurred_at=AT)
    raise_alert(fleet, kind="rejection_rate", contractor_id="M2", occurred_at=AT)
    assert open_count(conn=fleet, scope=ADMIN) == {
        "entrapment": 1, "silent": 1, "stopped": 1, "rejection_rate": 1,
    }  # fmt: skip
    d1 = {(a.kind, a.unit_id) for a in alerts(conn=fleet, scope=Scope("bureau", "D1"))}
    assert d1 == {("entrapment", "U000001"), ("silent", "U000001")}
    d2 = {(a.kind, a.unit_id) for a in alerts(conn=fleet, scope=Scope("bureau", "D2"))}
    assert d2 == {("stopped", "U000003"), ("rejection_rate", None)}
    m2 = {(a.kind, a.unit_id) for a in alerts(conn=fleet, scope=Scope("contractor", "M2"))}
    assert m2 == d2
    assert alerts(conn=fleet, scope=Scope("street_office", "SO1"), kind="stopped") == []


def test_a_person_clears_only_what_they_see(fleet: Conn) -> None:
    alert_id = raise_alert(
        fleet, kind="stopped", unit_id="U000003", contractor_id="M2", occurred_at=AT
    )
    assert alert_id is not None
    with pytest.raises(NotFound):
        clear(conn=fleet, scope=Scope("bureau", "D1"), alert_id=alert_id, by="demo bureau")
    cleared = clear(conn=fleet, scope=Scope("bureau", "D2"), alert_id=alert_id, by="demo bureau")
    assert cleared.cleared_by == "demo bureau" and cleared.cleared_at is not None
