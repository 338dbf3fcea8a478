"""What the read model's modules share: the connection type, a unit's age as of a date, time zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import psycopg

Conn = psycopg.Connection[Any]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""The time zone every time is shown in: the users' own."""

AGE_SQL = """((%(as_of)s::date - GREATEST(u.installed_on,
    CASE WHEN u.renewed_on <= %(as_of)s::date THEN u.renewed_on END,
    (SELECT max(r.renewed_on) FROM unit_renewal r
     WHERE r.unit_id = u.unit_id AND r.renewed_on <= %(as_of)s::date))) / 365.25)::float8"""
"""A unit's age in years on ``%(as_of)s``: from installation or its latest renewal on or before it."""

FLAG_ORDER = (
    "array_position(ARRAY['stopped','replace_or_overhaul','safety_assessment','watch','ok'], {})"
)
"""Flags from the most to the least urgent, as a sortable number (format with the column)."""
