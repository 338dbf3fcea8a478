"""Classify received messages the way ingestion must, to account for every one a publisher sent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import orjson
from pydantic import ValidationError

from core.contracts import PAYLOADS
from simulators.scenario import Scenario

OVERSIZED = 200_000


def classify(
    messages: Iterable[tuple[str, bytes]], scenario: Scenario
) -> tuple[Counter[str], Counter[str]]:
    """Counts by category, and how many times each valid event_id arrived."""
    maintainer = {u.unit_id: u.contractor_id for u in scenario.units}
    categories: Counter[str] = Counter()
    valid_ids: Counter[str] = Counter()
    for topic, payload in messages:
        _, _, contractor, unit, kind = topic.split("/")
        if len(payload) > OVERSIZED:
            categories["oversized"] += 1
            continue
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            categories["malformed"] += 1
            continue
        try:
            PAYLOADS[kind].model_validate(data)
        except ValidationError:
            categories["schema_violation"] += 1
            continue
        if unit not in maintainer:
            categories["unknown_unit"] += 1
        elif maintainer[unit] != contractor:
            categories["wrong_contractor"] += 1
        else:
            categories["valid"] += 1
            valid_ids[data["event_id"]] += 1
    return categories, valid_ids
