"""Property and corpus tests: no message, however hostile, escapes the decoder of either door.

The property is the same for every input: the function the MQTT worker calls (``decode``) and the
one the HTTP door calls per item (``check_item``) return an accepted row or a rejection with a
known reason, never raise, and a rejection's dead-letter row is text PostgreSQL accepts. The
number of examples is bounded here (``LIFTWATCH_FUZZ_EXAMPLES``, 150 by default); ``make fuzz``
runs the same properties for minutes (``tests/ingest/fuzz.py``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.decode import REASONS, Decoded, Limits, Message, decode
from ingest.http import check_item, ingest_http_batch
from ingest.pipeline import ingest_messages
from ingest.store import dead_letter_row
from tests.ingest.factories import T0, add_register, payload

CORPUS = Path(__file__).parent / "corpus"
LIMITS = Limits()
NOW = datetime(2024, 6, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("LIFTWATCH_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KINDS = ("fault", "inspection", "maintenance", "status")
TOPICS = st.one_of(
    st.sampled_from([f"liftwatch/v1/C1/U1/{k}" for k in KINDS]),
    st.sampled_from(["liftwatch/v2/C1/U1/fault", "liftwatch/C1", "liftwatch/v1/C 1/U1/fault"]),
    st.text(max_size=40).map(lambda s: f"liftwatch/{s}"),
)

# Text with what breaks naive code: NUL, lone surrogates, non-BMP characters.
_NASTY = st.sampled_from(["\x00", "\ud800", "\udfff", "\U0001f600", "\\", '"', "\u2028"])
TEXT = st.lists(st.one_of(st.characters(), _NASTY), max_size=12).map("".join)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=10**60),
    st.integers(min_value=-(10**60), max_value=-(2**63)),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(TEXT, inner, max_size=5)),
    max_leaves=30,
)
FIELDS = st.sampled_from(
    ["event_id", "occurred_at", "v", "code", "entrapment", "passengers_trapped", "ended_at",
     "floor", "result", "defects", "certificate_expiry", "visit_type", "parts", "online",
     "trips", "running_hours", "in_service", "duration_minutes"]
)  # fmt: skip


# Verdicts seen, by reason ("stored" for accepted): make fuzz reports them.
VERDICTS: Counter[str] = Counter()


def _dumps(value: Any) -> bytes:
    # Python's encoder writes what orjson refuses: huge integers, NaN, lone surrogates (escaped).
    return json.dumps(value).encode()


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid message with fields replaced, removed or added, or its bytes damaged."""
    kind = draw(st.sampled_from(KINDS))
    body = payload(kind, at=T0)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(FIELDS)
        if draw(st.booleans()):
            body[name] = draw(JSON)
        else:
            body.pop(name, None)
    raw = _dumps(body)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=8)) + raw[at + draw(st.integers(0, 4)) :]
    return f"liftwatch/v1/C1/U1/{kind}", raw


def check_total(item: Decoded) -> None:
    """Stored, or a dead letter PostgreSQL will take, with a known reason."""
    assert item.accepted or item.reason in REASONS, item.reason
    VERDICTS[item.reason or "stored"] += 1
    if item.accepted:
        assert item.row is not None and item.content_hash is not None
        return
    row = dead_letter_row(item, source="mqtt", limits=LIMITS)
    for value in row:
        if isinstance(value, str):
            assert "\x00" not in value
            value.encode("utf-8")
    assert len(item.detail) <= 4000


def both_doors(topic: str, raw: bytes) -> tuple[Decoded, Decoded | None]:
    """The MQTT door's verdict and, for an event topic with an object payload, the HTTP door's."""
    mqtt = decode(Message(topic, None, None, None, raw), LIMITS, NOW)
    check_total(mqtt)
    parts = topic.split("/")
    try:
        value = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return mqtt, None
    if len(parts) != 5 or not isinstance(value, dict) or {"kind", "unit_id"} & value.keys():
        return mqtt, None
    item = value | {"kind": parts[4], "unit_id": parts[3]}
    http = check_item(item, parts[2], LIMITS, NOW, lenient=True)
    check_total(http)
    return mqtt, http


@FUZZ
@given(topic=TOPICS, raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_escape(topic: str, raw: bytes) -> None:
    both_doors(topic, raw)


@FUZZ
@given(topic=TOPICS, value=JSON)
def test_arbitrary_json_never_escapes(topic: str, value: Any) -> None:
    both_doors(topic, _dumps(value))


@FUZZ
@given(message=mutated())
def test_mutated_messages_get_the_same_verdict_at_both_doors(message: tuple[str, bytes]) -> None:
    mqtt, http = both_doors(*message)
    if http is not None:
        assert (http.accepted, http.reason) == (mqtt.accepted, mqtt.reason)


def test_deep_and_huge_json_never_escapes() -> None:
    for raw in (b"[" * 100000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b"9" * 5000):
        check_total(decode(Message("liftwatch/v1/C1/U1/fault", None, None, None, raw), LIMITS, NOW))


def corpus() -> list[tuple[dict[str, str], bytes]]:
    """Every regression case: its index entry and its exact bytes."""
    index = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
    return [(case, (CORPUS / case["file"]).read_bytes()) for case in index]


def test_every_corpus_case_is_dead_lettered_with_its_reason() -> None:
    got = {c["file"]: decode(Message(c["topic"], None, None, None, raw), LIMITS, NOW).reason
           for c, raw in corpus()}  # fmt: skip
    assert got == {c["file"]: c["reason"] for c, _ in corpus()}


def test_the_corpus_is_stored_as_dead_letters_in_postgresql(conn: psycopg.Connection[Any]) -> None:
    add_register(conn, {"U1": [("C1", T0.replace(year=2000), None)]})
    cases = corpus()
    messages = [Message(c["topic"], None, None, None, raw) for c, raw in cases]
    valid = Message("liftwatch/v1/C1/U1/fault", None, None, None, orjson.dumps(payload("fault")))
    result = ingest_messages(conn, [*messages, valid], source="mqtt")
    assert result.stored == 1
    letters = conn.execute("SELECT reason, payload FROM dead_letter ORDER BY dead_letter_id")
    assert [(r["reason"], bytes(r["payload"])) for r in letters] == [
        (c["reason"], raw) for c, raw in cases
    ]


def test_the_http_door_answers_each_corpus_item_alone(conn: psycopg.Connection[Any]) -> None:
    add_register(conn, {"U1": [("C1", T0.replace(year=2000), None)]})
    lines, expected = [], []
    for case, raw in corpus():
        parts = case["topic"].split("/")
        if len(parts) == 5 and parts[1] == "v1" and raw.startswith(b"{"):
            lines.append(b'{"kind": "%s", "unit_id": "U1", ' % parts[4].encode() + raw[1:])
            expected.append(case["reason"])
    good = orjson.dumps(payload("fault") | {"kind": "fault", "unit_id": "U1"})
    # An array is one JSON text: bytes that are not UTF-8 make all of it unreadable, so the array
    # form leaves that case out (NDJSON answers it on its own line).
    readable = [(line, r) for line, r in zip(lines, expected, strict=True) if _utf8(line)]
    for body, wanted in (
        (b"\n".join([*lines, good]), expected),
        (
            b"[" + b",".join([*(line for line, _ in readable), good]) + b"]",
            [r for _, r in readable],
        ),
    ):
        result = ingest_http_batch(conn, body, contractor_id="C1")
        assert [item.reason for item in result.items] == [*wanted, None]
        assert result.stored + result.duplicates == 1


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
