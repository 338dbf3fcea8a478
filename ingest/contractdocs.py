"""The published contract in docs/contract/, generated from the code so the two cannot drift.

``contract_files()`` returns every file's text by relative path: the JSON Schema of each kind,
an example message of each kind, the GB/T 24476 code table and an overview with the rejection
reasons. ``liftwatch contract write DIR`` writes them; a test checks the committed copies.
"""

from __future__ import annotations

import json
from typing import Any

from core.contracts import KINDS, PAYLOADS, SCHEMA_VERSION, TOPIC_PREFIX, json_schemas, topic_for
from core.faultcodes import FAULT_CODES
from core.i18n import t
from ingest.decode import REASONS

EXAMPLES: dict[str, dict[str, Any]] = {
    "fault": {
        "v": 1,
        "event_id": "0b7c2f0e-4f0e-4a37-9a51-3c1d6a0f2e11",
        "occurred_at": "2023-04-12T09:30:00+08:00",
        "code": "93",
        "entrapment": True,
        "passengers_trapped": 2,
        "ended_at": "2023-04-12T09:52:00+08:00",
        "floor": 7,
        "description": "平层关人，维保人员 22 分钟到场放人 / trapped at floor level, released after 22 min",
    },
    "inspection": {
        "v": 1,
        "event_id": "5d1e8a43-2c7b-4a8e-8f0a-7e6b9c4d3a22",
        "occurred_at": "2023-04-12T14:00:00+08:00",
        "inspection_body": "北京市特种设备检验检测研究院",
        "result": "fail",
        "defects": [
            {"item": "2.8 制动器", "severity": "critical", "rectification_required": True},
            {"item": "3.11 层门门锁", "severity": "major"},
        ],
        "report_no": "TJ-2023-04-0412",
    },
    "maintenance": {
        "v": 1,
        "event_id": "9a4f6b27-8e3d-4c1a-b5e2-1f7d0c9e8b33",
        "occurred_at": "2023-04-01T10:00:00+08:00",
        "visit_type": "routine",
        "parts": [],
        "duration_minutes": 50,
        "technician": "张师傅",
        "notes": "半月保养 / half-monthly maintenance (TSG T5002-2017)",
    },
    "status": {
        "v": 1,
        "event_id": "c3e9d2b1-7a6f-4e58-9d40-2b8a1f6e5c44",
        "occurred_at": "2023-04-12T09:00:00+08:00",
        "online": True,
        "in_service": True,
        "trips": 1843210,
        "door_cycles": 3712044,
        "running_hours": 41233.5,
    },
}

# Payloads every door refuses, as the exact text sent: (kind, why, reason, payload text).
# Each is an example above with one thing wrong; tests send them through every door.
_E = {kind: json.dumps(body, ensure_ascii=False) for kind, body in EXAMPLES.items()}
_EVENT_ID = '"event_id": "0b7c2f0e-4f0e-4a37-9a51-3c1d6a0f2e11"'
_AT = '"occurred_at": "2023-04-12T09:30:00+08:00"'
COUNTER_EXAMPLES: tuple[tuple[str, str, str, str], ...] = (
    ("fault", "event_id is a number, not a UUID string", "schema_violation", _E["fault"].replace(_EVENT_ID, '"event_id": 12345')),
    ("fault", "event_id is not a UUID", "schema_violation", _E["fault"].replace(_EVENT_ID, '"event_id": "evt-1"')),
    ("fault", "occurred_at is a unix time", "schema_violation", _E["fault"].replace(_AT, '"occurred_at": 1681263000')),
    ("fault", "occurred_at has no offset", "schema_violation", _E["fault"].replace(_AT, '"occurred_at": "2023-04-12T09:30:00"')),
    ("fault", "occurred_at before 1990", "schema_violation", _E["fault"].replace(_AT, '"occurred_at": "0001-01-01T00:00:00Z"')),
    ("fault", "entrapment is a string", "schema_violation", _E["fault"].replace('"entrapment": true', '"entrapment": "yes"')),
    ("fault", "passengers_trapped is a string", "schema_violation", _E["fault"].replace('"passengers_trapped": 2', '"passengers_trapped": "2"')),
    ("fault", "floor beyond 64 bits", "schema_violation", _E["fault"].replace('"floor": 7', '"floor": 1000000000000000000000000000000')),
    ("fault", "ended_at in year 9999", "schema_violation", _E["fault"].replace('"2023-04-12T09:52:00+08:00"', '"9999-12-31T00:00:00Z"')),
    ("fault", "an unknown field", "schema_violation", _E["fault"][:-1] + ', "colour": "red"}'),
    ("fault", "a NUL in a key", "schema_violation", _E["fault"][:-1] + ', "a\\u0000b": 1}'),
    ("fault", "a lone surrogate in a value", "malformed_json", _E["fault"].replace('"code": "93"', '"code": "\\ud800"')),
    ("inspection", "certificate_expiry in year 9999", "schema_violation", _E["inspection"][:-1] + ', "certificate_expiry": "9999-12-31"}'),
    ("inspection", "reinspection is a number", "schema_violation", _E["inspection"][:-1] + ', "reinspection": 1}'),
    ("maintenance", "duration_minutes is a string", "schema_violation", _E["maintenance"].replace('"duration_minutes": 50', '"duration_minutes": "50"')),
    ("maintenance", "parts is a string", "schema_violation", _E["maintenance"].replace('"parts": []', '"parts": "门刀"')),
    ("status", "running_hours is Infinity", "schema_violation", _E["status"].replace('41233.5', 'Infinity')),
    ("status", "running_hours overflows to infinity", "schema_violation", _E["status"].replace('41233.5', '1e400')),
    ("status", "running_hours is NaN", "schema_violation", _E["status"].replace('41233.5', 'NaN')),
    ("status", "online is a string", "schema_violation", _E["status"].replace('"online": true', '"online": "yes"')),
    ("status", "trips is a float", "schema_violation", _E["status"].replace('1843210', '1843210.0')),
)  # fmt: skip


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _fault_codes() -> str:
    lines = [
        "# GB/T 24476 故障代码 / fault codes",
        "",
        "Generated from `core/faultcodes.py` by `liftwatch contract write docs/contract`; do not edit.",
        "",
        "`cause` and `severity` are what liftwatch assumes when a fault message leaves them out. "
        "Causes `external` (e.g. power cuts) and `misuse` do not count against a unit's condition.",
        "",
        "| code | 名称 | name | category | default cause | default severity | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in FAULT_CODES.values():
        lines.append(
            f"| {c.code} | {c.name_zh} | {c.name_en} | {c.category} | {c.cause} | {c.severity} | {c.source} |"
        )
    return "\n".join(lines) + "\n"


def _overview() -> str:
    kinds = "\n".join(
        f"| `{k}` | `{TOPIC_PREFIX}/{{contractor_id}}/{{unit_id}}/{k}` | [{k}.schema.json]({k}.schema.json) "
        f"| [examples/{k}.json](examples/{k}.json) |"
        for k in KINDS
    )
    reasons = "\n".join(
        f"| `{code}` | {t('zh-CN', f'reason.{code}')} | {t('en', f'reason.{code}')} |"
        for code in REASONS
    )
    return f"""# liftwatch MQTT 接口约定 / event contract (v{SCHEMA_VERSION})

Generated by `liftwatch contract write docs/contract`; do not edit.

维保单位和电梯控制器把事件发布到 MQTT（QoS 1），每条消息一个 JSON 对象。
Contractors and controllers publish one JSON object per message over MQTT at QoS 1.

- Topic: `{TOPIC_PREFIX}/{{contractor_id}}/{{unit_id}}/{{kind}}`. Identifiers match `^[A-Za-z0-9][A-Za-z0-9._:-]{{0,63}}$`.
- `event_id` (a UUID string) is chosen by the producer; re-sending the same `event_id` and `occurred_at` with the same content stores the event once; with other content the second version is refused as `conflict`. The same `event_id` with another `occurred_at` is another event.
- Strict types: no string-to-number or string-to-boolean coercion, finite numbers only, times as RFC 3339 strings with an offset (`2023-04-12T09:30:00+08:00` or `...Z`), dates as `YYYY-MM-DD`.
- Time bounds: `occurred_at` from 1990-01-01 to the allowed clock skew after arrival (`LIFTWATCH_INGEST_FUTURE_SKEW`, 5 min by default); `ended_at` from `occurred_at` to 366 days after it; `certificate_expiry` from 1990-01-01 to 10 years after `occurred_at`.
- Late and out-of-order events are accepted.
- Topics under `liftwatch/` that are not `liftwatch/v1/...` are refused as `unsupported_version` (another version) or `bad_topic`.
- The contractor in the topic must maintain the unit at `occurred_at` according to the register.
- The same payloads are accepted by `POST /v1/events` (JSON array or NDJSON, each item adding `kind` and `unit_id`).

| kind | topic | JSON Schema | example |
|---|---|---|---|
{kinds}

Payloads every door refuses, with the reason they get: [counter-examples.json](counter-examples.json).

## 拒收原因 / rejection reasons

Every rejected message is kept in `dead_letter` with its raw bytes, topic, reason and a detail
naming the field, what was expected and what came.

| reason | 说明 | meaning |
|---|---|---|
{reasons}

Fault codes: [fault-codes.md](fault-codes.md).
"""


def contract_files() -> dict[str, str]:
    """Every file of docs/contract/ by path relative to it, with its exact text."""
    schemas = json_schemas()
    for kind, schema in schemas.items():
        schema["examples"] = [EXAMPLES[kind]]
    files = {f"{kind}.schema.json": _json(schema) for kind, schema in schemas.items()}
    for kind in KINDS:
        PAYLOADS[kind].model_validate_json(json.dumps(EXAMPLES[kind]))  # failing it is a bug
        example = {"topic": topic_for("C-0001", "U-110108-0042", kind), "payload": EXAMPLES[kind]}
        files[f"examples/{kind}.json"] = _json(example)
    files["counter-examples.json"] = _json(
        [
            {"kind": kind, "why": why, "reason": reason, "payload_text": text}
            for kind, why, reason, text in COUNTER_EXAMPLES
        ]
    )
    files["fault-codes.md"] = _fault_codes()
    files["README.md"] = _overview()
    return files
