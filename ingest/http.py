"""The HTTP door (``POST /v1/events``): a JSON array or NDJSON batch, with one result per item.

Each item is an object with ``kind`` and ``unit_id`` (and ``contractor_id`` when an administrator
sends on a contractor's behalf) next to the payload fields of that kind. The routing fields are
taken out and the rest is checked exactly like an MQTT payload; rejected items are dead-lettered
(source ``http``) with the bytes of their payload. A body that is neither a JSON array nor NDJSON
is refused as a whole (``Invalid``), since no item in it can be told apart.

JSON that orjson refuses but Python's parser reads (integers beyond 64 bits, lone surrogates,
``NaN``) is read item by item all the same, so the item at fault gets its own outcome and the
others are not refused with it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from core.errors import Invalid, Problem
from core.settings import get_settings
from ingest.authorize import RegisterCache
from ingest.decode import Decoded, Message, decode
from ingest.pipeline import IngestResult, limits_from, write_batch

ROUTING = ("kind", "unit_id", "contractor_id")
MAX_ITEMS = 10000


class _Lenient:
    """Values read by Python's parser: written back with it, so Infinity stays Infinity."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _loads(raw: bytes) -> Any:
    """orjson's reading, else Python's more lenient one; ValueError if neither reads it."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Python's parser also reads what the contract refuses later, with a reason per item.
        return _Lenient(json.loads(raw.decode("utf-8", "surrogatepass")))


def _dumps(value: Any, lenient: bool = False) -> bytes:
    """Bytes of an item's payload as the decoder reads them, whatever the item holds."""
    if not lenient:
        try:
            return orjson.dumps(value)
        except TypeError:
            pass
    # Escaped ASCII keeps lone surrogates, huge integers and non-finite numbers for the decoder
    # to name (orjson would write Infinity as null).
    return json.dumps(value).encode()


def _split(body: bytes) -> list[tuple[Any, bool]]:
    """Items of a JSON array, or lines of NDJSON (a line that is not JSON stays as bytes), each
    with whether only the lenient parser could read it."""
    text = body.lstrip()
    if text.startswith(b"["):
        try:
            items = _loads(text)
        except (ValueError, RecursionError) as exc:
            raise Invalid(
                f"the body starts like a JSON array but is not valid JSON: {exc}"
            ) from exc
        lenient = isinstance(items, _Lenient)
        items = items.value if lenient else items
        if not isinstance(items, list):
            raise Invalid("the body must be a JSON array of events or NDJSON, one event per line")
        return [(item, lenient) for item in items]
    out: list[tuple[Any, bool]] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            item = _loads(line)
        except (ValueError, RecursionError):
            out.append((line, False))
            continue
        lenient = isinstance(item, _Lenient)
        out.append((item.value if lenient else item, lenient))
    return out


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else _dumps(value).decode()


def check_item(
    value: Any, caller: str | None, limits: Any, now: datetime, *, lenient: bool = False
) -> Decoded:
    """One item's verdict; never raises (an unforeseen failure is an internal_error)."""
    try:
        return _check_item(value, caller, limits, now, lenient)
    except Exception as exc:
        message = Message(None, caller, None, None, repr(value)[:65536].encode("utf-8", "replace"))
        problem = Problem(
            "item", "internal_error", "an item liftwatch can check", type(exc).__name__
        )
        return Decoded(message, contractor_id=caller).reject("internal_error", [problem])


def _check_item(
    value: Any, caller: str | None, limits: Any, now: datetime, lenient: bool
) -> Decoded:
    if isinstance(value, bytes):
        message = Message(None, caller, None, None, value)
        problem = Problem("payload", "malformed_json", "one JSON object per line", repr(value[:80]))
        return Decoded(message, contractor_id=caller).reject("malformed_json", [problem])
    if not isinstance(value, dict):
        message = Message(None, caller, None, None, _dumps(value, lenient))
        problem = Problem("item", "schema_violation", "an object", type(value).__name__)
        return Decoded(message, contractor_id=caller).reject("schema_violation", [problem])
    fields = dict(value)
    # Routing fields of the wrong type become text so they are reported (and dead-lettered) as sent.
    kind, unit, named = (_text(fields.pop(k, None)) for k in ROUTING)
    contractor = named if caller is None else caller
    message = Message(None, contractor, unit, kind, _dumps(fields, lenient))
    if caller is not None and named is not None and named != caller:
        problem = Problem(
            "contractor_id", "not_maintainer", f"{caller!r} (the caller) or absent", repr(named)
        )
        decoded = Decoded(message, contractor_id=contractor, unit_id=unit, kind=kind)
        return decoded.reject("not_maintainer", [problem])
    if caller is None and named is None:
        problem = Problem("contractor_id", "missing", "the contractor an administrator sends for")
        return Decoded(message, unit_id=unit, kind=kind).reject("schema_violation", [problem])
    return decode(message, limits, now)


def ingest_http_batch(
    conn: psycopg.Connection[Any],
    body: bytes,
    *,
    contractor_id: str | None,
    register: RegisterCache | None = None,
    max_items: int = MAX_ITEMS,
) -> IngestResult:
    """Check, authorize and store a batch posted by a contractor (or by an admin when None)."""
    items = _split(body)
    if len(items) > max_items:
        raise Invalid(f"at most {max_items} events per request, got {len(items)}")
    limits = limits_from(get_settings())
    now = datetime.now(UTC)
    decoded = [
        check_item(value, contractor_id, limits, now, lenient=lenient) for value, lenient in items
    ]
    return write_batch(conn, decoded, source="http", register=register or RegisterCache())
