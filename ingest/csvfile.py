"""Contractors' historical fault logs in CSV, through the same pipeline as MQTT messages.

One row is one fault record of the contractor named on the command line. Columns (English or
Chinese headers, UTF-8 with or without BOM) are listed in ``COLUMNS`` and in docs/ingestion.md.
Each row becomes the JSON payload of a fault message (empty cells are left out), so a row is
accepted exactly when the same message over MQTT would be. CSV cells are text, so the typed
columns are read here, by their documented spellings only (``true``/``是``/``1`` for yes, a
whole number for counts); a cell that is none of them stays text and the contract refuses it. A row without an event_id gets one
derived from contractor, unit, time and code, so importing a file twice stores it once.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ingest.decode import Message

# (key, Chinese header, required, meaning)
COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("unit_id", "电梯编号", True, "the unit's id in the register"),
    ("occurred_at", "发生时间", True, "ISO 8601 with offset, e.g. 2023-04-12T09:30:00+08:00"),
    ("code", "故障代码", True, "GB/T 24476 code, see docs/contract/fault-codes.md"),
    (
        "event_id",
        "事件编号",
        False,
        "UUID; derived from contractor, unit, time and code when empty",
    ),
    ("cause", "原因", False, "equipment | external | misuse | unknown (default from the code)"),
    ("severity", "严重程度", False, "minor | major | critical (default from the code)"),
    ("entrapment", "困人", False, "true/false (also 是/否, 1/0)"),
    ("passengers_trapped", "被困人数", False, "0-100"),
    ("ended_at", "恢复时间", False, "when the unit was back in service"),
    ("floor", "楼层", False, "floor of the car"),
    ("description", "描述", False, "free text"),
)
_BY_HEADER = {zh: key for key, zh, _, _ in COLUMNS} | {key: key for key, *_ in COLUMNS}
_BOOLEANS = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}
_INTEGERS = ("passengers_trapped", "floor")
_INTEGER_RE = re.compile(r"^-?[0-9]{1,9}$")
_NAMESPACE = uuid.UUID("6f1c3c38-2a55-4d5e-9a57-4b1d8e1f6c02")


@dataclass(frozen=True)
class Row:
    """One CSV row as a message, with its line number in the file."""

    line: int
    message: Message


def _typed(key: str, value: str) -> Any:
    """A cell as the JSON type its column holds, when it is spelled as documented."""
    if key == "entrapment":
        return _BOOLEANS.get(value.lower(), value)
    if key in _INTEGERS and _INTEGER_RE.match(value):
        return int(value)
    return value


def _payload(cells: dict[str, str], contractor_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for header, value in cells.items():
        value = (value or "").strip()
        if not value:
            continue
        key = _BY_HEADER.get((header or "").strip(), (header or "").strip())
        body[key] = _typed(key, value)
    if "event_id" not in body:
        seed = "|".join(
            [
                contractor_id,
                str(body.get("unit_id")),
                str(body.get("occurred_at")),
                str(body.get("code")),
            ]
        )
        body["event_id"] = str(uuid.uuid5(_NAMESPACE, seed))
    return body


def read_rows(path: Path, *, contractor_id: str) -> Iterator[Row]:
    """The rows of a fault-log CSV as fault messages of one contractor."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        for cells in reader:
            body = _payload({k: v for k, v in cells.items() if k is not None}, contractor_id)
            unit = body.pop("unit_id", None)
            yield Row(
                reader.line_num, Message(None, contractor_id, unit, "fault", orjson.dumps(body))
            )
