"""The published contract is the one every door applies: each example in docs/contract/ is stored
and each counter-example refused with its stated reason, by the MQTT path and the HTTP door alike."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from ingest.http import ingest_http_batch
from ingest.pipeline import Message, ingest_messages
from tests.ingest.factories import T0, add_register

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract"
KINDS = ("fault", "inspection", "maintenance", "status")


def _published() -> list[tuple[str, str, bytes, str | None]]:
    """(what, kind, payload bytes, expected reason or None) for every published case."""
    cases: list[tuple[str, str, bytes, str | None]] = []
    for kind in KINDS:
        example = json.loads((CONTRACT / "examples" / f"{kind}.json").read_text(encoding="utf-8"))
        cases.append((f"{kind} example", kind, json.dumps(example["payload"]).encode(), None))
    counters = json.loads((CONTRACT / "counter-examples.json").read_text(encoding="utf-8"))
    for case in counters:
        raw = case["payload_text"].encode("utf-8")
        cases.append((f"{case['kind']}: {case['why']}", case["kind"], raw, case["reason"]))
    return cases


def _verdict(outcome: str, reason: str | None) -> str | None:
    return None if outcome in ("stored", "duplicate") else reason


def test_every_example_and_counter_example_gets_the_same_verdict_at_both_doors(
    conn: psycopg.Connection[Any],
) -> None:
    add_register(conn, {"U-110108-0042": [("C-0001", T0 - timedelta(days=3650), None)]})
    cases = _published()
    assert len(cases) > len(KINDS)
    topic = "liftwatch/v1/C-0001/U-110108-0042/{}"
    messages = [Message(topic.format(kind), None, None, None, raw) for _, kind, raw, _ in cases]
    mqtt = ingest_messages(conn, messages, source="mqtt")
    lines = [b'{"kind": "%s", "unit_id": "U-110108-0042", ' % kind.encode() + raw.lstrip()[1:]
             for _, kind, raw, _ in cases]  # fmt: skip
    http = ingest_http_batch(conn, b"\n".join(lines), contractor_id="C-0001")
    expected = {what: reason for what, _, _, reason in cases}
    assert {what: _verdict(i.outcome, i.reason) for (what, *_), i in zip(cases, mqtt.items, strict=True)} == expected  # fmt: skip
    assert {what: _verdict(i.outcome, i.reason) for (what, *_), i in zip(cases, http.items, strict=True)} == expected  # fmt: skip
