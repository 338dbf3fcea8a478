"""Alert detection against real PostgreSQL: entrapments as they are stored, the sweep (silent units,
rejection rates, entrapments gone quiet) and flags newly given by a score run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.scope import ADMIN
from core.settings import get_settings
from ingest.alerts import sweep
from ingest.pipeline import ingest_messages
from queries.alerts import alerts
from scoring.alerts import flag_alerts
from tests.ingest.factories import add_register, message, payload

Conn = psycopg.Connection[dict[str, Any]]
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def units(conn: Conn) -> Conn:
    add_register(conn, {u: [("K1", SINCE, None)] for u in ("U1", "U2", "U3")})
    return conn


def _open(conn: Conn) -> dict[tuple[str, str | None], int]:
    return {
        (a.kind, a.unit_id or a.contractor_id): a.occurrences
        for a in alerts(conn=conn, scope=ADMIN)
    }


def _fault(
    conn: Conn, unit: str, at: datetime, *, event_id: uuid.UUID | None = None, **kw: Any
) -> None:
    body = payload("fault", at=at, event_id=event_id, code="93", entrapment=True, **kw)
    result = ingest_messages(conn, [message("K1", unit, "fault", body)], source="mqtt")
    assert result.rejected == {}, result.as_dict()


def test_entrapments_raise_alerts_as_they_are_stored_and_repeats_count_once(units: Conn) -> None:
    now = datetime.now(UTC)
    first = uuid.uuid4()
    _fault(units, "U1", now - timedelta(minutes=5), event_id=first, passengers_trapped=2)
    _fault(units, "U1", now - timedelta(minutes=5), event_id=first, passengers_trapped=2)
    assert _open(units) == {("entrapment", "U1"): 1}
    _fault(units, "U1", now - timedelta(minutes=1))
    _fault(units, "U2", now - timedelta(days=400))  # history, not someone to free now
    body = payload("fault", at=now, code="02")  # a fault without entrapment
    ingest_messages(units, [message("K1", "U3", "fault", body)], source="mqtt")
    assert _open(units) == {("entrapment", "U1"): 2}
    [alert] = alerts(conn=units, scope=ADMIN)
    assert alert.detail["code"] == "93"


def test_an_entrapment_alert_clears_after_a_quiet_day(units: Conn) -> None:
    now = datetime.now(UTC)
    _fault(units, "U1", now - timedelta(minutes=5))
    result = sweep(units, now=now, settings=get_settings())
    assert result.cleared["entrapment"] == 0
    result = sweep(units, now=now + timedelta(hours=25), settings=get_settings())
    assert result.cleared["entrapment"] == 1
    assert _open(units) == {}


def _status(conn: Conn, unit: str, minutes_ago: list[int], now: datetime) -> None:
    messages = [
        message("K1", unit, "status", payload("status", at=now - timedelta(minutes=m)))
        for m in minutes_ago
    ]
    assert ingest_messages(conn, messages, source="mqtt").stored == len(messages)


def test_a_unit_that_stops_reporting_is_silent_until_it_reports_again(units: Conn) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _status(units, "U1", [60, 50, 40, 30, 20, 10, 2], now)  # every 10 minutes, on time
    _status(units, "U2", [120, 110, 100, 90], now)  # every 10 minutes, quiet for 90
    _status(units, "U3", [25, 24], now)  # too few samples to know its usual interval
    settings = get_settings()
    first = sweep(units, now=now, settings=settings)
    assert first.raised["silent"] == 1
    assert _open(units) == {("silent", "U2"): 1}
    again = sweep(units, now=now, settings=settings)
    assert again.raised["silent"] == 0 and _open(units) == {("silent", "U2"): 1}
    _status(units, "U2", [1], now)
    assert sweep(units, now=now, settings=settings).cleared["silent"] == 1
    assert _open(units) == {}


def test_a_jump_in_a_contractors_rejection_rate_raises_and_then_clears(units: Conn) -> None:
    now = datetime.now(UTC)
    good = [message("K1", "U1", "status", payload("status", at=now)) for _ in range(20)]
    bad = [message("K1", "NOPE", "status", payload("status", at=now)) for _ in range(15)]
    ingest_messages(units, good + bad, source="mqtt")
    settings = get_settings()
    assert (
        sweep(units, now=now + timedelta(seconds=1), settings=settings).raised["rejection_rate"]
        == 1
    )
    [alert] = alerts(conn=units, scope=ADMIN)
    assert (alert.kind, alert.unit_id, alert.contractor_id) == ("rejection_rate", None, "K1")
    assert alert.detail["rate"] == pytest.approx(15 / 35, abs=0.001)
    # An hour later the rejected burst is the baseline and nothing new came: the alert clears.
    later = sweep(units, now=now + timedelta(hours=2), settings=settings)
    assert later.cleared["rejection_rate"] == 1
    assert [a for a in alerts(conn=units, scope=ADMIN) if a.kind == "rejection_rate"] == []


def test_a_few_rejections_among_few_messages_raise_nothing(units: Conn) -> None:
    now = datetime.now(UTC)
    bad = [message("K1", "NOPE", "status", payload("status", at=now)) for _ in range(5)]
    ingest_messages(units, bad, source="mqtt")
    assert sweep(units, now=now, settings=get_settings()).raised["rejection_rate"] == 0


def _run(conn: Conn, as_of: str, flags: dict[str, str]) -> int:
    row = conn.execute(
        "INSERT INTO score_run (as_of, policy_version, policy_hash) VALUES (%s, 'p', 'h') "
        "RETURNING run_id",
        (as_of,),
    ).fetchone()
    assert row is not None
    for rank, (unit, flag) in enumerate(sorted(flags.items()), 1):
        conn.execute(
            "INSERT INTO unit_score (run_id, unit_id, rank, health, pof, cof, risk, flag,"
            " flag_rule, factors) VALUES (%s, %s, %s, 5, 0.1, 1, 0.1, %s, 'rule', %s)",
            (row["run_id"], unit, rank, flag, Jsonb([])),
        )
    return int(row["run_id"])


def test_a_score_run_raises_alerts_for_units_newly_flagged_and_clears_the_rest(
    units: Conn,
) -> None:
    first = _run(units, "2022-05-01", {"U1": "ok", "U2": "stopped", "U3": "watch"})
    assert flag_alerts(units, run_id=first) == {
        "stopped cleared": 0,
        "replace_or_overhaul cleared": 0,
    }
    assert _open(units) == {}  # the first run is the baseline
    second = _run(
        units, "2023-05-01", {"U1": "stopped", "U2": "stopped", "U3": "replace_or_overhaul"}
    )
    flag_alerts(units, run_id=second)
    assert _open(units) == {("stopped", "U1"): 1, ("replace_or_overhaul", "U3"): 1}
    # Re-scoring a past date is not news.
    past = _run(units, "2021-05-01", {"U1": "ok", "U2": "ok", "U3": "ok"})
    assert flag_alerts(units, run_id=past) == {}
    third = _run(units, "2024-05-01", {"U1": "ok", "U2": "stopped", "U3": "replace_or_overhaul"})
    flag_alerts(units, run_id=third)
    assert _open(units) == {("replace_or_overhaul", "U3"): 1}
