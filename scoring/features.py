"""Features of every unit as of a date, computed in SQL over the stored register and events.

Only what was known on the as-of date counts: events that occurred before the end of that day
(China Standard Time), renewals on or before it, and the register's service status as it stood then
(rebuilt from the ``unit_change`` audit trail). Events are selected by ``occurred_at``; a strictly
point-in-time replay would also require ``received_at`` before the cutoff.

Faults caused by power cuts, fire service or misuse (``cause`` external or misuse) never count
against the equipment: they are counted separately and only reported.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.rows import tuple_row

# The units scored (a share of the buildings when scoring in parts or sampling), with the day
# their age counts from and where their fault windows start. They are stored in a temporary table
# and analyzed, so that the planner knows their number and that each appears once: it then hashes
# the units and streams each event table past them, instead of hashing millions of events.
UNITS_SQL = """
CREATE TEMP TABLE feature_unit ON COMMIT DROP AS
WITH renewal AS (
    SELECT unit_id, max(renewed_on) AS renewed_on
    FROM unit_renewal
    WHERE renewed_on <= %(d)s
    GROUP BY unit_id
),
status_then AS (
    SELECT DISTINCT ON (unit_id) unit_id, old_value
    FROM unit_change
    WHERE field = 'service_status' AND changed_at >= %(t)s
    ORDER BY unit_id, changed_at
),
u0 AS (
    SELECT u.unit_id, u.manufacturer, u.building_id, u.installed_on, u.contractor_id,
           greatest(u.installed_on, r.renewed_on,
                    CASE WHEN u.renewed_on <= %(d)s THEN u.renewed_on END) AS age_from,
           coalesce(s.old_value, u.service_status) AS service_status
    FROM unit u
    LEFT JOIN renewal r USING (unit_id)
    LEFT JOIN status_then s USING (unit_id)
    WHERE u.installed_on <= %(d)s AND /*share*/
)
SELECT u0.*, age_from::timestamp AT TIME ZONE 'Asia/Shanghai' AS age_from_t,
       greatest(%(trend_from)s, age_from::timestamp AT TIME ZONE 'Asia/Shanghai') AS trend_start,
       greatest(%(history_from)s, age_from::timestamp AT TIME ZONE 'Asia/Shanghai')
           AS history_start
FROM u0
"""

FEATURES_SQL = """
WITH renewal AS (
    SELECT unit_id, max(renewed_on) AS renewed_on
    FROM unit_renewal
    WHERE renewed_on <= %(d)s
    GROUP BY unit_id
),
f AS (
    SELECT e.unit_id,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= %(from_90)s) AS faults_90d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= %(from_365)s) AS faults_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= %(from_90)s) AS serious_90d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= %(from_365)s) AS serious_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity = 'critical'
                            AND e.occurred_at >= %(from_365)s) AS critical_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.entrapment
                            AND e.occurred_at >= %(from_90)s) AS entrapments_90d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.entrapment
                            AND e.occurred_at >= %(from_365)s) AS entrapments_365d,
           count(*) FILTER (WHERE e.cause IN ('external', 'misuse')
                            AND e.occurred_at >= %(from_365)s) AS excluded_365d,
           count(*) FILTER (WHERE e.cause IN ('external', 'misuse') AND e.entrapment
                            AND e.occurred_at >= %(from_365)s) AS excluded_entrapments_365d,
           -- Per-event arithmetic is in float8: date_part() returns double precision where
           -- extract() returns numeric, whose ln() and division cost about five times as much.
           -- A fault with no end on record has an unknown duration, not one lasting until T
           -- (least() skips NULLs): it is left out rather than guessed.
           coalesce(sum(date_part('epoch', least(e.ended_at, %(t)s) - e.occurred_at) / 3600.0)
                    FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= %(from_365)s
                            AND e.ended_at IS NOT NULL), 0)
               AS downtime_hours_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.trend_start)
               AS trend_faults,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= u.trend_start) AS trend_serious,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.history_start)
               AS history_faults,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= u.history_start) AS history_serious,
           sum(exp(-date_part('epoch', %(t)s - e.occurred_at) / 86400.0 / %(fault_decay_days)s::float8))
               FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.history_start)
               AS faults_decayed,
           sum(ln(greatest(date_part('epoch', %(t)s - u.trend_start), 86400.0)
                  / greatest(date_part('epoch', e.occurred_at - u.trend_start), 3600.0)))
               FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.trend_start)
               AS trend_log_sum
    FROM fault_event e
    JOIN feature_unit u USING (unit_id)
    WHERE e.occurred_at >= %(fault_from)s AND e.occurred_at < %(t)s AND e.occurred_at >= u.age_from_t
      /*sampled*/
    GROUP BY e.unit_id
),
recent_inspections AS (
    SELECT e.unit_id, e.occurred_at, e.result, e.reinspection, e.rectification_items,
           e.certificate_expiry, e.defects
    FROM inspection_event e
    JOIN feature_unit u0 USING (unit_id)
    WHERE e.occurred_at >= %(inspection_from)s AND e.occurred_at < %(t)s /*sampled*/
),
insp AS (
    SELECT unit_id,
           max(certificate_expiry) AS certificate_expiry,
           max(occurred_at) FILTER (WHERE result = 'fail') AS last_failed_at,
           count(*) FILTER (WHERE result = 'fail') AS failed_inspections_3y,
           count(*) FILTER (WHERE NOT reinspection AND (result <> 'pass' OR rectification_items > 0))
               AS defect_inspections_3y,
           -- Items found at periodic inspections over 3 years, each weighed down with its age
           -- (e^(-days / findings_decay_days)): a defect load, not only the last verdict.
           sum(jsonb_array_length(defects)
               * exp(-date_part('epoch', %(t)s - occurred_at) / 86400.0 / %(findings_decay_days)s::float8))
               FILTER (WHERE NOT reinspection) AS findings_decayed,
           sum((SELECT count(*) FROM jsonb_array_elements(defects) AS defect(item)
                WHERE defect.item->>'severity' IN ('major', 'critical'))
               * exp(-date_part('epoch', %(t)s - occurred_at) / 86400.0 / %(findings_decay_days)s::float8))
               FILTER (WHERE NOT reinspection) AS serious_findings_decayed
    FROM recent_inspections
    GROUP BY unit_id
),
last_insp AS (
    SELECT DISTINCT ON (unit_id) unit_id, occurred_at, result, reinspection, rectification_items
    FROM recent_inspections
    ORDER BY unit_id, occurred_at DESC
),
last_periodic AS (
    SELECT DISTINCT ON (unit_id) unit_id, rectification_items AS last_defects,
           CASE result WHEN 'pass' THEN 0 WHEN 'pass_after_rectification' THEN 1 ELSE 2 END
               AS last_periodic_result,
           (SELECT count(*) FROM jsonb_array_elements(defects) AS defect(item)
            WHERE defect.item->>'severity' IN ('major', 'critical')) AS last_serious_defects
    FROM recent_inspections
    WHERE NOT reinspection
    ORDER BY unit_id, occurred_at DESC
),
failed_recently AS (
    SELECT DISTINCT unit_id
    FROM inspection_event
    WHERE result = 'fail' AND occurred_at >= %(inspection_from)s AND occurred_at < %(t)s
),
batch AS (
    -- Units of one compound from the same maker and the same installation or renewal wear
    -- together: each batch's size and how many of it failed a periodic inspection in 3 years,
    -- over the whole register (a batch may span buildings, and so parts of a parallel run).
    SELECT b.community_id, o.manufacturer,
           greatest(o.installed_on, ro.renewed_on,
                    CASE WHEN o.renewed_on <= %(d)s THEN o.renewed_on END) AS age_from,
           count(*) AS units, count(fr.unit_id) AS failed
    FROM unit o
    JOIN building b USING (building_id)
    LEFT JOIN renewal ro USING (unit_id)
    LEFT JOIN failed_recently fr USING (unit_id)
    WHERE o.installed_on <= %(d)s
    GROUP BY 1, 2, 3
),
maint AS (
    SELECT e.unit_id, count(*) AS visits_365d
    FROM maintenance_event e
    JOIN feature_unit u USING (unit_id)
    WHERE e.visit_type = 'routine' AND e.occurred_at >= %(from_365)s AND e.occurred_at < %(t)s
      AND e.occurred_at >= u.age_from_t /*sampled*/
    GROUP BY e.unit_id
),
status AS (
    SELECT e.unit_id,
           max(e.occurred_at) AS last_seen_at,
           max(e.trips) - min(e.trips) AS trips,
           extract(epoch FROM max(e.occurred_at) FILTER (WHERE e.trips IS NOT NULL)
                   - min(e.occurred_at) FILTER (WHERE e.trips IS NOT NULL)) / 86400.0 AS trip_days,
           max(e.occurred_at) FILTER (WHERE NOT e.online) IS DISTINCT FROM max(e.occurred_at)
               AS online,
           -- The unit's usual reporting interval: samples are spread evenly enough that the mean
           -- gap over 90 days serves, and it costs nothing beyond the aggregate already read.
           CASE WHEN count(*) >= 3
                THEN extract(epoch FROM max(e.occurred_at) - min(e.occurred_at))
                     / 86400.0 / (count(*) - 1) END AS report_interval_days
    FROM status_sample e
    JOIN feature_unit u0 USING (unit_id)
    WHERE e.occurred_at >= %(from_90)s AND e.occurred_at < %(t)s /*sampled*/
    GROUP BY e.unit_id
),
feeds AS (
    -- Whether each contractor sends inspections and maintenance at all: a contractor none of
    -- whose units has one is a gap in the data, not a fleet in bad condition.
    SELECT u0.contractor_id,
           avg((i.unit_id IS NOT NULL)::int) AS inspected_share,
           avg((m.unit_id IS NOT NULL)::int) AS maintained_share
    FROM feature_unit u0
    LEFT JOIN insp i USING (unit_id)
    LEFT JOIN maint m USING (unit_id)
    GROUP BY u0.contractor_id
),
running AS (
    -- In service means registered in service and not stopped by a failed inspection.
    SELECT u0.unit_id, u0.building_id, u0.service_status,
           (u0.service_status = 'in_service' AND li.result IS DISTINCT FROM 'fail') AS running
    FROM feature_unit u0
    LEFT JOIN last_insp li USING (unit_id)
),
bld AS (
    SELECT building_id,
           count(*) AS units_in_building,
           count(*) FILTER (WHERE running) AS units_in_service
    FROM running
    WHERE service_status <> 'retired'
    GROUP BY building_id
)
SELECT u.unit_id, u.manufacturer, u.building_id,
       (%(d)s - u.age_from) / 365.25 AS age_years,
       u.age_from, u.installed_on, (u.age_from > u.installed_on) AS renewed,
       least(365, %(d)s - u.age_from + 1) / 365.0 AS exposure_years,
       (u.service_status = 'stopped')::int AS service_stopped,
       (u.service_status = 'in_service')::int AS in_service,
       coalesce(f.faults_90d, 0) AS faults_90d,
       coalesce(f.faults_365d, 0) AS faults_365d,
       coalesce(f.serious_90d, 0) AS serious_90d,
       coalesce(f.serious_365d, 0) AS serious_365d,
       coalesce(f.critical_365d, 0) AS critical_365d,
       coalesce(f.entrapments_90d, 0) AS entrapments_90d,
       coalesce(f.entrapments_365d, 0) AS entrapments_365d,
       coalesce(f.excluded_365d, 0) AS excluded_365d,
       coalesce(f.excluded_entrapments_365d, 0) AS excluded_entrapments_365d,
       coalesce(f.downtime_hours_365d, 0) AS downtime_hours_365d,
       coalesce(f.trend_faults, 0) AS trend_faults,
       coalesce(f.trend_serious, 0) AS trend_serious,
       f.trend_log_sum,
       extract(epoch FROM %(t)s - u.trend_start) / 86400.0 AS trend_window_days,
       coalesce(f.history_faults, 0) AS history_faults,
       coalesce(f.history_serious, 0) AS history_serious,
       coalesce(f.faults_decayed, 0) AS faults_decayed,
       extract(epoch FROM %(t)s - u.history_start) / 86400.0 AS history_window_days,
       li.occurred_at AS last_inspection_at,
       li.result AS last_inspection_result,
       (li.result = 'fail')::int AS failed_inspection_open,
       CASE WHEN li.result = 'pass_after_rectification' OR (li.reinspection AND li.result = 'pass')
            THEN 0 ELSE coalesce(li.rectification_items, 0) END AS open_rectification,
       coalesce(i.failed_inspections_3y, 0) AS failed_inspections_3y,
       coalesce(i.defect_inspections_3y, 0) AS defect_inspections_3y,
       coalesce(i.findings_decayed, 0) AS findings_decayed,
       coalesce(i.serious_findings_decayed, 0) AS serious_findings_decayed,
       coalesce(lp.last_defects, 0) AS last_defects,
       lp.last_periodic_result,
       coalesce(lp.last_serious_defects, 0) AS last_serious_defects,
       i.last_failed_at,
       %(d)s - (li.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS days_since_inspection,
       i.certificate_expiry,
       i.certificate_expiry - %(d)s AS days_to_certificate_expiry,
       coalesce(bt.units - 1, 0) AS batch_peers,
       greatest(coalesce(bt.failed, 0) - (coalesce(i.failed_inspections_3y, 0) > 0)::int, 0)
           AS batch_failed_peers,
       coalesce(m.visits_365d, 0) AS visits_365d,
       greatest(round(extract(epoch FROM %(t)s - greatest(%(from_365)s, u.age_from_t))
                      / 86400.0 / %(visit_days)s::float8) - coalesce(m.visits_365d, 0), 0)
           AS missed_maintenance,
       CASE WHEN s.trip_days >= 1 THEN s.trips / s.trip_days END AS trips_per_day,
       s.last_seen_at,
       extract(epoch FROM %(t)s - s.last_seen_at) / 86400.0 AS days_silent,
       s.report_interval_days,
       u.contractor_id,
       fd.inspected_share::float8 AS contractor_inspected_share,
       fd.maintained_share::float8 AS contractor_maintained_share,
       s.online,
       b.floors, b.households, b.elderly_share::float8 AS elderly_share,
       coalesce(bld.units_in_building, 1) AS units_in_building,
       greatest(coalesce(bld.units_in_service, 0) - r.running::int, 0) AS other_units_in_service
FROM feature_unit u
JOIN building b USING (building_id)
JOIN running r USING (unit_id)
JOIN feeds fd ON fd.contractor_id = u.contractor_id
LEFT JOIN bld ON bld.building_id = u.building_id
LEFT JOIN f USING (unit_id)
LEFT JOIN insp i USING (unit_id)
LEFT JOIN last_insp li USING (unit_id)
LEFT JOIN last_periodic lp USING (unit_id)
LEFT JOIN maint m USING (unit_id)
LEFT JOIN batch bt ON bt.community_id = b.community_id AND bt.manufacturer = u.manufacturer
                  AND bt.age_from = u.age_from
LEFT JOIN status s USING (unit_id)
ORDER BY u.unit_id
"""

# A sample's units (learning scores a share of the buildings), and the features query reading only
# their events.
SAMPLE_SQL = (
    "SELECT unit_id FROM unit u WHERE mod(abs(hashtext(u.building_id)), %(parts)s) = %(part)s"
)
SAMPLED_SQL = FEATURES_SQL.replace("/*sampled*/", "AND e.unit_id = ANY(%(ids)s)")

CST = ZoneInfo("Asia/Shanghai")
# Fleets this large are scored in parts, one server process per core (at most MAX_PARTS).
PARALLEL_FROM_UNITS = 20_000
MAX_PARTS = 4
# Inspections older than three years say nothing the later ones do not (and are overdue anyway).
INSPECTION_YEARS_DAYS = 1095

NUMERIC = (
    "age_years",
    "exposure_years",
    "service_stopped",
    "in_service",
    "faults_90d",
    "faults_365d",
    "serious_90d",
    "serious_365d",
    "critical_365d",
    "entrapments_90d",
    "entrapments_365d",
    "excluded_365d",
    "excluded_entrapments_365d",
    "downtime_hours_365d",
    "trend_faults",
    "trend_serious",
    "trend_log_sum",
    "trend_window_days",
    "history_faults",
    "history_serious",
    "faults_decayed",
    "history_window_days",
    "failed_inspection_open",
    "open_rectification",
    "failed_inspections_3y",
    "defect_inspections_3y",
    "findings_decayed",
    "serious_findings_decayed",
    "last_defects",
    "last_periodic_result",
    "last_serious_defects",
    "days_since_inspection",
    "days_to_certificate_expiry",
    "batch_peers",
    "batch_failed_peers",
    "visits_365d",
    "missed_maintenance",
    "trips_per_day",
    "days_silent",
    "report_interval_days",
    "contractor_inspected_share",
    "contractor_maintained_share",
    "floors",
    "households",
    "elderly_share",
    "units_in_building",
    "other_units_in_service",
)


@dataclass
class Features:
    """Feature columns of every unit (in unit_id order) as of one date."""

    as_of: date
    unit_ids: list[str]
    numeric: dict[str, np.ndarray]
    other: dict[str, list[Any]]

    def __len__(self) -> int:
        return len(self.unit_ids)

    def columns(self) -> Mapping[str, np.ndarray]:
        """The numeric columns (NaN where unknown)."""
        return self.numeric


def compute_features(
    conn: psycopg.Connection[Any],
    *,
    as_of: date,
    policy_features: Mapping[str, Any],
    sample_units: list[str] | None = None,
) -> Features:
    """Every unit's features as of the end of ``as_of`` (China Standard Time); with
    ``sample_units`` (a share of the buildings, ``sample_unit_ids``), only those units'."""
    t = datetime.combine(as_of + timedelta(days=1), time(), CST)
    trend_days = int(policy_features["trend_window_days"])
    history_days = int(policy_features.get("history_window_days", 3650))
    params = {
        "d": as_of,
        "t": t,
        "from_90": t - timedelta(days=90),
        "from_365": t - timedelta(days=365),
        "trend_from": t - timedelta(days=trend_days),
        "history_from": t - timedelta(days=history_days),
        "fault_from": t - timedelta(days=max(trend_days, 365, history_days)),
        "inspection_from": t - timedelta(days=INSPECTION_YEARS_DAYS),
        "visit_days": float(policy_features["maintenance_interval_days"]),
        "findings_decay_days": float(policy_features.get("findings_decay_days", 730)),
        "fault_decay_days": float(policy_features.get("fault_decay_days", 180)),
    }
    if sample_units is not None:
        # A sample is a small share of the fleet: its events are read through the unit index
        # rather than by scanning every event of the window and keeping the sample's.
        names, by_name = _run_part(
            conn, {**params, "ids": sample_units}, "u.unit_id = ANY(%(ids)s)", query=SAMPLED_SQL
        )
        return _features(as_of, names, by_name, policy_features)
    with conn.cursor(row_factory=tuple_row) as cur:
        count = cur.execute("SELECT count(*) FROM unit").fetchone()
    units = int(count[0]) if count else 0
    parts = max(1, min(MAX_PARTS, os.cpu_count() or 1)) if units >= PARALLEL_FROM_UNITS else 1
    if parts == 1:
        names, by_name = _run_part(conn, params, "true")
    else:
        # A city's units, split into ranges of buildings holding as many units each (so each
        # building's redundancy is counted whole), scored by one server process per core.
        with conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(
                "SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY building_id)"
                " FROM unit",
                ([k / parts for k in range(1, parts)],),
            )
            row = cur.fetchone()
        bounds = [None, *(row[0] if row else []), None]
        shares = [
            (
                " AND ".join(
                    clause
                    for clause, bound in (
                        ("u.building_id >= %(lo)s", bounds[k]),
                        ("u.building_id < %(hi)s", bounds[k + 1]),
                    )
                    if bound is not None
                )
                or "true",
                {**params, "lo": bounds[k], "hi": bounds[k + 1]},
            )
            for k in range(parts)
        ]
        url = psycopg.conninfo.make_conninfo(conn.info.dsn, password=conn.info.password)
        with ThreadPoolExecutor(parts) as pool:
            results = list(pool.map(lambda share: _run_part_on(url, share[1], share[0]), shares))
        names = results[0][0]
        ids = [u for _, part_columns in results for u in part_columns["unit_id"]]
        order = np.argsort(np.array(ids, dtype=str), kind="stable")
        by_name = {}
        for name in names:
            joined = [part_columns[name] for _, part_columns in results]
            if isinstance(joined[0], np.ndarray):
                by_name[name] = np.concatenate(joined)[order]
            else:
                flat = [v for values in joined for v in values]
                by_name[name] = [flat[i] for i in order.tolist()]
    return _features(as_of, names, by_name, policy_features)


def _features(
    as_of: date, names: list[str], by_name: dict[str, Any], policy_features: Mapping[str, Any]
) -> Features:
    numeric = {name: np.asarray(by_name[name], dtype=float) for name in NUMERIC}
    _derive(numeric, policy_features)
    other = {name: list(by_name[name]) for name in names if name not in NUMERIC}
    return Features(as_of=as_of, unit_ids=list(other.pop("unit_id")), numeric=numeric, other=other)


def sample_unit_ids(conn: psycopg.Connection[Any], part: int, parts: int) -> list[str]:
    """The units of one share of the buildings (``part`` of ``parts``)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(SAMPLE_SQL, {"part": part, "parts": parts})
        return [row[0] for row in cur]


def _run_part(
    conn: psycopg.Connection[Any],
    params: dict[str, Any],
    share: str,
    query: str = FEATURES_SQL,
) -> tuple[list[str], dict[str, Any]]:
    """The features of the units ``share`` (an SQL condition on the register's ``unit u``)
    selects."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        # The planner cannot see through the CTEs and overestimates rows by orders of magnitude;
        # JIT then spends longer compiling the query than running it. Sorts and hashes of a
        # city's events fit in memory with a batch job's work_mem.
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL work_mem = '256MB'")
        # Neither CREATE TABLE AS nor COPY takes parameters: they are bound on the client.
        bind = psycopg.ClientCursor(conn).mogrify
        # Dropped at the end, or by the rollback of this (sub)transaction on an error.
        cur.execute(bind(UNITS_SQL.replace("/*share*/", share), params))
        cur.execute("ANALYZE feature_unit")
        data = bytearray()
        with cur.copy(COPY_SQL.format(query=bind(query, params))) as copy:
            for block in copy:
                data += block
        cur.execute("DROP TABLE feature_unit")
    # Decoding makes millions of objects that hold no cycles: no use walking them meanwhile.
    with paused_gc():
        return list(COLUMN_KINDS), _decode(data)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything here)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_part_on(url: str, params: dict[str, Any], share: str) -> tuple[list[str], dict[str, Any]]:
    with psycopg.connect(url) as conn:
        return _run_part(conn, params, share)


# The feature query's columns that are not numeric, by kind. Rows leave the server as binary COPY
# with every column a fixed-width number (dates as days, instants as microseconds, NULL as NaN
# or the smallest integer) and the texts in one last field: a city's 70-odd columns come out a
# column at a time into numpy instead of one Python object per value.
TEXT = ("unit_id", "manufacturer", "building_id", "last_inspection_result", "contractor_id")
DATES = ("age_from", "installed_on", "certificate_expiry")
INSTANTS = ("last_inspection_at", "last_failed_at", "last_seen_at")
BOOLS = ("renewed", "online")
COLUMN_KINDS = {
    **dict.fromkeys(NUMERIC, "float"),
    **dict.fromkeys(DATES, "date"),
    **dict.fromkeys(INSTANTS, "instant"),
    **dict.fromkeys(BOOLS, "bool"),
    **dict.fromkeys(TEXT, "text"),
}
_EPOCH_DAY = date(2000, 1, 1)
_NO_INSTANT = -(2**63)
# Field and NULL markers of the text field (control characters no identifier contains).
_SEP, _NULL = "\x1f", "\x1e"


def _encoded(name: str, kind: str) -> str:
    column = f"q.{name}"
    if kind == "float":
        return f"coalesce({column}::float8, 'NaN')"
    if kind == "date":
        return f"coalesce(({column} - date '{_EPOCH_DAY.isoformat()}')::float8, 'NaN')"
    if kind == "bool":
        return f"coalesce({column}::int::float8, 'NaN')"
    return f"coalesce((extract(epoch FROM {column}) * 1000000)::int8, {_NO_INSTANT})"


COPY_SQL = (
    "COPY (SELECT "
    + ", ".join(_encoded(n, k) for n, k in COLUMN_KINDS.items() if k != "text")
    + ", "
    + " || E'\\x1f' || ".join(f"coalesce(q.{n}::text, E'\\x1e')" for n in TEXT)
    + " FROM ({query}) q ORDER BY q.unit_id) TO STDOUT (FORMAT binary)"
)
_FIXED = [(n, k) for n, k in COLUMN_KINDS.items() if k != "text"]
# A row: its field count, then each fixed field's length and 8 bytes, then the text's length.
_ROW = np.dtype(
    [("fields", ">i2")]
    + [
        item
        for n, k in _FIXED
        for item in ((f"{n}_length", ">i4"), (n, ">i8" if k == "instant" else ">f8"))
    ]
    + [("text_length", ">i4")]
)
_HEADER = 19


def _decode(data: bytearray) -> dict[str, Any]:
    """The columns of a binary COPY of ``COPY_SQL``: arrays of the fixed fields, lists of the
    texts and of the dates, instants and yes/no values as Python objects."""
    view = memoryview(data)
    prefix = _ROW.itemsize
    fixed = bytearray()
    texts: list[str] = []
    pos = _HEADER
    end = len(data) - 2  # the trailer
    while pos < end:
        fixed += view[pos : pos + prefix]
        length = int.from_bytes(view[pos + prefix - 4 : pos + prefix], "big")
        pos += prefix
        texts.append(view[pos : pos + length].tobytes().decode())
        pos += length
    rows = np.frombuffer(bytes(fixed), dtype=_ROW)
    out: dict[str, Any] = {}
    for name, kind in _FIXED:
        values = rows[name]
        if kind == "float":
            out[name] = values.astype(float)
        elif kind == "date":
            days = values.astype(float)
            known = ~np.isnan(days)
            as_dates = (
                np.datetime64(_EPOCH_DAY, "D") + np.where(known, days, 0).astype("timedelta64[D]")
            ).astype(object)
            out[name] = [d if k else None for d, k in zip(as_dates, known.tolist(), strict=True)]
        elif kind == "bool":
            flags = values.astype(float).tolist()
            out[name] = [None if f != f else f > 0 for f in flags]
        else:
            micros = values.astype(np.int64)
            known = micros != _NO_INSTANT
            naive = np.where(known, micros, 0).astype("datetime64[us]").astype(object)
            out[name] = [
                d.replace(tzinfo=UTC) if k else None
                for d, k in zip(naive, known.tolist(), strict=True)
            ]
    split = [t.split(_SEP) for t in texts]
    for k, name in enumerate(TEXT):
        out[name] = [None if row[k] == _NULL else row[k] for row in split]
    return out


def _derive(numeric: dict[str, np.ndarray], policy_features: Mapping[str, Any]) -> None:
    """Columns derived in Python: the Crow-AMSAA slope and the yes/no facts rules test."""
    n = numeric["trend_faults"]
    log_sum = numeric["trend_log_sum"]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Time-truncated MLE with the (n - 1) / n small-sample correction.
        beta = np.where(log_sum > 0, (n - 1) / log_sum, np.nan)
    numeric["trend_beta"] = np.where(n >= 2, beta, np.nan)
    # An overdue inspection is a fact about the unit only where its contractor sends inspections;
    # where it sends none (or hardly any), the missing record is the contractor's data gap.
    interval = float(policy_features["inspection_interval_days"])
    since = numeric["days_since_inspection"]
    fed = float(policy_features.get("feed_min_share", 0.5))
    inspections_fed = numeric["contractor_inspected_share"] >= fed
    maintenance_fed = numeric["contractor_maintained_share"] >= fed
    overdue = np.isnan(since) | (since > interval)
    numeric["inspection_overdue"] = np.where(overdue & inspections_fed, 1.0, 0.0)
    numeric["inspection_data_gap"] = np.where(inspections_fed, 0.0, 1.0)
    numeric["maintenance_data_gap"] = np.where(maintenance_fed, 0.0, 1.0)
    numeric["missed_maintenance"] = np.where(maintenance_fed, numeric["missed_maintenance"], 0.0)
    # Silent after several missed reports at the unit's own usual interval (a controller that
    # reports weekly is not silent after 7 days); a unit with too few samples to learn its
    # interval falls back to the fixed number of days.
    silent = numeric["days_silent"]
    usual = numeric["report_interval_days"]
    after = np.where(
        np.isnan(usual),
        float(policy_features["silent_after_days"]),
        np.maximum(
            usual * float(policy_features.get("silent_missed_reports", 3)),
            float(policy_features.get("silent_min_days", 1)),
        ),
    )
    numeric["silent_after_days"] = after
    numeric["silent"] = np.where(np.isnan(silent) | (silent > after), 1.0, 0.0)
