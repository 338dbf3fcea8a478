"""The dates liftwatch takes from people: calendar dates written out, within years 1900-2100.

Wide enough for any elevator (and any as-of date worth asking about), narrow enough that the date
arithmetic behind scoring and queries (windows of years before an as-of date, ages, intervals)
cannot overflow. The API's models and the command-line arguments check against the same bounds.
"""

from __future__ import annotations

import re
from datetime import date, datetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
# A date or date-time that starts with a year inside the bounds; the OpenAPI document states it, so
# clients (and property-based tests) know the range without reading this file.
YEAR_PATTERN = r"^(19[0-9]{2}|20[0-9]{2}|2100)-"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class OutOfRange(ValueError):
    """A date that is not written out as one, or lies outside EARLIEST..LATEST."""


def written_out(value: object) -> object:
    """The value itself, unless it is a number (a timestamp is not how people write dates)."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise OutOfRange("expected a date written as YYYY-MM-DD, not a number")
    return value


def within_bounds(value: date) -> date:
    """The date (or date-time) itself when it lies within the bounds."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise OutOfRange(f"expected a date between {EARLIEST} and {LATEST}")
    return value


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date within the bounds."""
    try:
        day = date.fromisoformat(str(written_out(text)).strip())
    except ValueError as exc:
        if isinstance(exc, OutOfRange):
            raise
        raise OutOfRange(f"expected a date written as YYYY-MM-DD, got {text!r}") from None
    within_bounds(day)
    return day
