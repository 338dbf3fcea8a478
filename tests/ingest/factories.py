"""Small factories for ingestion tests: register rows and messages of every kind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from core.contracts import topic_for
from ingest.decode import Message

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def add_register(
    conn: psycopg.Connection[Any],
    units: dict[str, list[tuple[str, datetime, datetime | None]]],
) -> None:
    """Units with their contract periods (contractor, valid_from, valid_to), in one building."""
    contractors = {c for periods in units.values() for c, _, _ in periods} | {"C0"}
    conn.execute("INSERT INTO district VALUES ('D1', '海淀区') ON CONFLICT DO NOTHING")
    conn.execute("INSERT INTO street_office VALUES ('S1', 'D1', '街道') ON CONFLICT DO NOTHING")
    conn.execute("INSERT INTO community VALUES ('M1', 'S1', '小区') ON CONFLICT DO NOTHING")
    for c in sorted(contractors):
        conn.execute(
            "INSERT INTO contractor VALUES (%s, %s) ON CONFLICT DO NOTHING", (c, f"维保{c}")
        )
    conn.execute(
        "INSERT INTO building (building_id, community_id, name, floors, households) "
        "VALUES ('B1', 'M1', '2号楼', 18, 100) ON CONFLICT DO NOTHING"
    )
    for unit, periods in units.items():
        current = next(
            (c for c, _, to in periods if to is None), periods[-1][0] if periods else "C0"
        )
        conn.execute(
            "INSERT INTO unit (unit_id, registration_code, building_id, manufacturer, installed_on, "
            "contractor_id) VALUES (%s, %s, 'B1', 'OTIS', '2006-01-01', %s)",
            (unit, f"REG-{unit}", current),
        )
        for contractor, start, end in periods:
            conn.execute(
                "INSERT INTO unit_contract VALUES (%s, %s, %s, %s)", (unit, contractor, start, end)
            )


def payload(
    kind: str, *, at: datetime = T0, event_id: uuid.UUID | None = None, **extra: Any
) -> dict[str, Any]:
    """A valid payload of one kind."""
    body: dict[str, Any] = {
        "v": 1,
        "event_id": str(event_id or uuid.uuid4()),
        "occurred_at": at.isoformat(),
    }
    body.update(
        {
            "fault": {"code": "02", "entrapment": False},
            "inspection": {
                "inspection_body": "市特检院",
                "result": "pass",
                "defects": [{"item": "2.8 制动器", "severity": "minor"}],
            },
            "maintenance": {"visit_type": "routine", "parts": ["门刀"], "duration_minutes": 45},
            "status": {
                "online": True,
                "trips": 120345,
                "door_cycles": 250001,
                "running_hours": 3012.5,
            },
        }[kind]
    )
    body.update(extra)
    return body


def mqtt(contractor: str, unit: str, kind: str, body: dict[str, Any] | bytes) -> tuple[str, bytes]:
    """(topic, bytes) of one MQTT message."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return topic_for(contractor, unit, kind), raw


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def message(contractor: str, unit: str, kind: str, body: dict[str, Any] | bytes) -> Message:
    """A pipeline Message as the MQTT worker would build it."""
    topic, raw = mqtt(contractor, unit, kind, body)
    return Message(topic, None, None, None, raw)
