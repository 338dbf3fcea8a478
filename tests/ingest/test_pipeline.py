"""The shared pipeline: every message stored once or dead-lettered with the right reason."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import psycopg

from ingest.authorize import RegisterCache
from ingest.pipeline import Message, ingest_messages
from tests.ingest.factories import T0, add_register, later, message, payload

CONTRACT_END = T0 + timedelta(days=30)


def _register(conn: psycopg.Connection[Any]) -> None:
    add_register(conn, {"U1": [("C1", T0 - timedelta(days=365), None)],
                        "U2": [("C1", T0 - timedelta(days=365), CONTRACT_END),
                               ("C2", CONTRACT_END, None)]})  # fmt: skip


def test_every_message_is_stored_once_or_dead_lettered_with_its_reason(
    conn: psycopg.Connection[Any],
) -> None:
    _register(conn)
    fault = payload("fault", at=later(10))
    valid = [
        message("C1", "U1", "fault", fault),
        message("C1", "U1", "inspection", payload("inspection", at=later(5))),
        message("C1", "U1", "maintenance", payload("maintenance", at=later(1))),  # out of order
        message("C1", "U1", "status", payload("status", at=T0 - timedelta(days=200))),  # late
        message("C1", "U2", "status", payload("status", at=CONTRACT_END - timedelta(seconds=1))),
        message("C2", "U2", "status", payload("status", at=CONTRACT_END)),
    ]
    duplicate = message("C1", "U1", "fault", fault)
    bad = {
        "malformed_json": message("C1", "U1", "fault", b'{"event_id": '),
        "schema_violation": message("C1", "U1", "fault", payload("fault", code="XX")),
        "unknown_kind": Message(
            "liftwatch/v1/C1/U1/door", None, None, None, orjson.dumps(payload("fault"))
        ),
        "bad_topic": Message(
            "liftwatch/v1/C1/U1", None, None, None, orjson.dumps(payload("fault"))
        ),
        "unsupported_version": Message(
            "liftwatch/v2/C1/U1/fault", None, None, None, orjson.dumps(payload("fault"))
        ),
        "unknown_unit": message("C1", "U9", "fault", payload("fault")),
        "not_maintainer": message(
            "C2", "U2", "fault", payload("fault", at=CONTRACT_END - timedelta(days=1))
        ),
        "future_timestamp": message(
            "C1", "U1", "fault", payload("fault", at=datetime.now(UTC) + timedelta(hours=1))
        ),
        "oversized": message("C1", "U1", "fault", payload("fault", description="x" * 70000)),
    }
    messages = [*valid, duplicate, *bad.values()]
    result = ingest_messages(conn, messages, source="mqtt")

    assert result.stored == len(valid)
    assert result.duplicates == 1
    assert dict(result.rejected) == dict.fromkeys(bad, 1)
    assert result.total == len(messages)
    outcomes = [i.outcome for i in result.items]
    assert outcomes == ["stored"] * len(valid) + ["duplicate"] + ["rejected"] * len(bad)
    assert [i.reason for i in result.items[len(valid) + 1 :]] == list(bad)

    counts = conn.execute(
        "SELECT (SELECT count(*) FROM fault_event) f, (SELECT count(*) FROM inspection_event) i, "
        "(SELECT count(*) FROM maintenance_event) m, (SELECT count(*) FROM status_sample) s"
    ).fetchone()
    assert counts == {"f": 1, "i": 1, "m": 1, "s": 3}
    letters = conn.execute(
        "SELECT reason, topic, payload, payload_size, payload_sha256, detail FROM dead_letter"
        " ORDER BY dead_letter_id"
    ).fetchall()
    assert [r["reason"] for r in letters] == list(bad)
    for row, sent in zip(letters, bad.values(), strict=True):
        if row["reason"] == "oversized":
            # Only the head of an oversized payload is kept, with the size and digest of the whole.
            assert bytes(row["payload"]) == sent.raw[:4096]
            assert row["payload_size"] == len(sent.raw)
            assert bytes(row["payload_sha256"]) == hashlib.sha256(sent.raw).digest()
        else:
            assert bytes(row["payload"]) == sent.raw
            assert row["payload_size"] is None
        assert row["topic"] == sent.topic
        assert row["detail"]


def test_a_second_version_of_an_event_is_a_conflict_and_a_resend_a_duplicate(
    conn: psycopg.Connection[Any],
) -> None:
    _register(conn)
    first = payload("fault", entrapment=False)
    second = first | {"entrapment": True, "passengers_trapped": 1}
    same_instant = first | {"occurred_at": T0.astimezone(timezone(timedelta(hours=8))).isoformat()}
    other_time = first | {"occurred_at": later(5).isoformat()}
    result = ingest_messages(
        conn,
        [message("C1", "U1", "fault", body) for body in (first, second, same_instant, other_time)],
        source="mqtt",
    )
    assert [(i.outcome, i.reason) for i in result.items] == [
        ("stored", None), ("rejected", "conflict"), ("duplicate", None), ("stored", None),
    ]  # fmt: skip
    again = ingest_messages(conn, [message("C1", "U1", "fault", second)], source="mqtt")
    assert [(i.outcome, i.reason) for i in again.items] == [("rejected", "conflict")]
    assert again.rejected == {"conflict": 1}
    assert conn.execute("SELECT count(*) AS n FROM fault_event").fetchone() == {"n": 2}
    reasons = conn.execute("SELECT reason FROM dead_letter").fetchall()
    assert reasons == [{"reason": "conflict"}, {"reason": "conflict"}]


def test_schema_violations_name_field_expectation_and_value(conn: psycopg.Connection[Any]) -> None:
    _register(conn)
    body = payload("fault", passengers_trapped=-1, floor="high")
    body.pop("event_id")
    result = ingest_messages(conn, [message("C1", "U1", "fault", body)], source="http")
    (item,) = result.items
    assert item.reason == "schema_violation"
    fields = {p.field: p for p in item.problems}
    assert set(fields) == {"event_id", "passengers_trapped", "floor"}
    assert fields["passengers_trapped"].got == "-1"
    assert "greater than or equal to 0" in (fields["passengers_trapped"].expected or "")
    assert "floor" in (item.detail or "")


def test_redelivery_across_calls_is_a_counted_duplicate(conn: psycopg.Connection[Any]) -> None:
    _register(conn)
    messages = [message("C1", "U1", "status", payload("status", at=later(n))) for n in range(50)]
    first = ingest_messages(conn, messages[:30], source="mqtt")
    second = ingest_messages(conn, messages, source="mqtt")
    assert (first.stored, first.duplicates) == (30, 0)
    assert (second.stored, second.duplicates) == (20, 30)
    assert conn.execute("SELECT count(*) AS n FROM status_sample").fetchone() == {"n": 50}


def test_a_unit_added_after_the_cache_was_filled_is_found(conn: psycopg.Connection[Any]) -> None:
    _register(conn)
    cache = RegisterCache(ttl=3600)
    ingest_messages(
        conn, [message("C1", "U1", "status", payload("status"))], source="mqtt", register=cache
    )
    add_register(conn, {"U3": [("C1", T0 - timedelta(days=1), None)]})
    result = ingest_messages(
        conn, [message("C1", "U3", "status", payload("status"))], source="mqtt", register=cache
    )
    assert result.stored == 1


def test_a_rejected_payload_keeps_its_event_id(conn: psycopg.Connection[Any]) -> None:
    _register(conn)
    event_id = uuid.uuid4()
    ingest_messages(
        conn, [message("C1", "U9", "fault", payload("fault", event_id=event_id))], source="mqtt"
    )
    row = conn.execute(
        "SELECT event_id, unit_id, contractor_id, kind, source FROM dead_letter"
    ).fetchone()
    assert row == {
        "event_id": event_id,
        "unit_id": "U9",
        "contractor_id": "C1",
        "kind": "fault",
        "source": "mqtt",
    }


def test_a_value_postgresql_refuses_rejects_that_message_only(
    conn: psycopg.Connection[Any],
) -> None:
    _register(conn)
    good = message("C1", "U1", "status", payload("status"))
    huge = message(
        "C1",
        "U1",
        "status",
        orjson.dumps(payload("status")).replace(b'"trips":120345', b'"trips":1' + b"0" * 30),
    )
    nul = message("C1", "U1", "maintenance", payload("maintenance", notes="a\u0000b"))
    result = ingest_messages(conn, [good, huge, nul], source="mqtt")
    assert [i.outcome for i in result.items] == ["stored", "rejected", "rejected"]
    assert dict(result.rejected) == {"schema_violation": 2}
    assert conn.execute("SELECT count(*) AS n FROM dead_letter").fetchone() == {"n": 2}


def test_counting_without_per_item_results_gives_the_same_totals(
    conn: psycopg.Connection[Any],
) -> None:
    from core.settings import get_settings
    from ingest.decode import decode
    from ingest.pipeline import limits_from, write_batch

    _register(conn)
    first = [message("C1", "U1", "status", payload("status", at=later(n))) for n in range(20)]
    batch = [*first[10:], *first[:5], first[0], message("C1", "U9", "status", payload("status"))]
    ingest_messages(conn, first[:10], source="mqtt")
    now = datetime.now(UTC)
    totals = []
    for keep in (False, True):
        items = [decode(m, limits_from(get_settings()), now) for m in batch]
        result = write_batch(conn, items, source="mqtt", register=RegisterCache(), keep_items=keep)
        totals.append((result.stored, result.duplicates, dict(result.rejected), len(result.items)))
    assert totals == [(10, 6, {"unknown_unit": 1}, 0), (0, 16, {"unknown_unit": 1}, 17)]
