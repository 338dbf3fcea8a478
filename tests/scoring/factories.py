"""Small factories: register rows and events inserted with SQL, one call per fact."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

CST = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10) -> datetime:
    """A China-time moment on a day given as YYYY-MM-DD."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), CST) + timedelta(
        hours=hour
    )


def place(
    conn: psycopg.Connection[Any],
    *,
    district: str = "D1",
    street: str = "S1",
    community: str = "C1",
    contractor: str = "K1",
) -> None:
    """A district, street office, community and contractor (idempotent)."""
    conn.execute("INSERT INTO district VALUES (%s, %s) ON CONFLICT DO NOTHING", (district, "区"))
    conn.execute(
        "INSERT INTO street_office VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (street, district, "街道"),
    )
    conn.execute(
        "INSERT INTO community VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (community, street, "社区"),
    )
    conn.execute(
        "INSERT INTO contractor VALUES (%s, %s) ON CONFLICT DO NOTHING", (contractor, "维保")
    )


def building(
    conn: psycopg.Connection[Any],
    building_id: str,
    *,
    community: str = "C1",
    floors: int = 18,
    households: int = 120,
    elderly_share: float | None = 0.3,
) -> None:
    """One building."""
    conn.execute(
        "INSERT INTO building (building_id, community_id, name, floors, households, elderly_share)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (building_id, community, building_id, floors, households, elderly_share),
    )


def unit(
    conn: psycopg.Connection[Any],
    unit_id: str,
    *,
    building_id: str,
    installed_on: str = "2010-01-01",
    renewed_on: str | None = None,
    manufacturer: str = "M1",
    contractor: str = "K1",
    status: str = "in_service",
) -> None:
    """One unit (and its renewal record when renewed)."""
    conn.execute(
        "INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on,"
        " renewed_on, contractor_id, service_status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            unit_id,
            f"REG-{unit_id}",
            building_id,
            manufacturer,
            installed_on,
            renewed_on,
            contractor,
            status,
        ),
    )
    if renewed_on:
        conn.execute(
            "INSERT INTO unit_renewal (unit_id, renewed_on) VALUES (%s, %s)", (unit_id, renewed_on)
        )


def fault(
    conn: psycopg.Connection[Any],
    unit_id: str,
    when: datetime,
    *,
    code: str = "01",
    cause: str = "equipment",
    severity: str = "major",
    entrapment: bool = False,
    hours: float | None = 2.0,
    contractor: str = "K1",
) -> None:
    """One fault event (still open, with no end on record, when ``hours`` is None)."""
    conn.execute(
        "INSERT INTO fault_event (event_id, unit_id, contractor_id, occurred_at, code, cause,"
        " severity, entrapment, passengers_trapped, ended_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        (
            uuid.uuid4(),
            unit_id,
            contractor,
            when,
            code,
            cause,
            severity,
            entrapment,
            1 if entrapment else 0,
            None if hours is None else when + timedelta(hours=hours),
        ),
    )


def inspection(
    conn: psycopg.Connection[Any],
    unit_id: str,
    when: datetime,
    *,
    result: str = "pass",
    items: int = 0,
    reinspection: bool = False,
    expiry: str | None = None,
    contractor: str = "K1",
) -> None:
    """One inspection event."""
    if expiry is None and result != "fail":
        expiry = (when.date() + timedelta(days=365)).isoformat()
    conn.execute(
        "INSERT INTO inspection_event (event_id, unit_id, contractor_id, occurred_at,"
        " inspection_body, result, reinspection, rectification_items, certificate_expiry)"
        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        (uuid.uuid4(), unit_id, contractor, when, "特检院", result, reinspection, items, expiry),
    )


def maintenance(
    conn: psycopg.Connection[Any],
    unit_id: str,
    start: str,
    end: str,
    *,
    every_days: int = 14,
    contractor: str = "K1",
) -> None:
    """Routine visits every ``every_days`` between two days."""
    day, stop = date.fromisoformat(start), date.fromisoformat(end)
    rows = []
    while day <= stop:
        rows.append((uuid.uuid4(), unit_id, contractor, at(day.isoformat()), "routine"))
        day += timedelta(days=every_days)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO maintenance_event (event_id, unit_id, contractor_id, occurred_at, visit_type)"
            " VALUES (%s,%s,%s,%s,%s)",
            rows,
        )


def status(
    conn: psycopg.Connection[Any],
    unit_id: str,
    start: str,
    end: str,
    *,
    trips_per_day: int = 300,
    every_days: int = 1,
    contractor: str = "K1",
) -> None:
    """Status samples every ``every_days`` (daily by default) with a cumulative trip counter."""
    day, stop = date.fromisoformat(start), date.fromisoformat(end)
    rows, trips = [], 0
    while day <= stop:
        trips += trips_per_day * every_days
        rows.append((uuid.uuid4(), unit_id, contractor, at(day.isoformat(), 12), True, trips))
        day += timedelta(days=every_days)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO status_sample (event_id, unit_id, contractor_id, occurred_at, online, trips)"
            " VALUES (%s,%s,%s,%s,%s,%s)",
            rows,
        )
