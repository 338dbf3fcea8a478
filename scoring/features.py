"""Features of every unit as of a date, computed in SQL over the stored register and events.

Only what was known on the as-of date counts: events that occurred before the end of that day
(China Standard Time), renewals on or before it, and the register's service status as it stood then
(rebuilt from the ``unit_change`` audit trail). Events are selected by ``occurred_at``; a strictly
point-in-time replay would also require ``received_at`` before the cutoff.

Faults caused by power cuts, fire service or misuse (``cause`` external or misuse) never count
against the equipment: they are counted separately and only reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import tuple_row

FEATURES_SQL = """
WITH params AS (
    SELECT (%(as_of)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' AS t,
           %(as_of)s::date AS d
),
renewal AS (
    SELECT r.unit_id, max(r.renewed_on) AS renewed_on
    FROM unit_renewal r, params
    WHERE r.renewed_on <= params.d
    GROUP BY r.unit_id
),
status_then AS (
    SELECT DISTINCT ON (c.unit_id) c.unit_id, c.old_value
    FROM unit_change c, params
    WHERE c.field = 'service_status' AND c.changed_at >= params.t
    ORDER BY c.unit_id, c.changed_at
),
u AS (
    SELECT u.unit_id, u.manufacturer, u.building_id, u.installed_on,
           greatest(u.installed_on, r.renewed_on,
                    CASE WHEN u.renewed_on <= params.d THEN u.renewed_on END) AS age_from,
           greatest(u.installed_on, r.renewed_on,
                    CASE WHEN u.renewed_on <= params.d THEN u.renewed_on END)::timestamp
               AT TIME ZONE 'Asia/Shanghai' AS age_from_t,
           coalesce(s.old_value, u.service_status) AS service_status,
           params.t, params.d,
           greatest(params.t - %(trend_days)s * interval '1 day',
                    greatest(u.installed_on, r.renewed_on,
                             CASE WHEN u.renewed_on <= params.d THEN u.renewed_on END)::timestamp
                        AT TIME ZONE 'Asia/Shanghai') AS trend_start
    FROM unit u
    CROSS JOIN params
    LEFT JOIN renewal r USING (unit_id)
    LEFT JOIN status_then s USING (unit_id)
    WHERE u.installed_on <= params.d
),
f AS (
    SELECT e.unit_id,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.t - interval '90 days')
               AS faults_90d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.t - interval '365 days')
               AS faults_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= u.t - interval '90 days') AS serious_90d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= u.t - interval '365 days') AS serious_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity = 'critical'
                            AND e.occurred_at >= u.t - interval '365 days') AS critical_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.entrapment
                            AND e.occurred_at >= u.t - interval '90 days') AS entrapments_90d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.entrapment
                            AND e.occurred_at >= u.t - interval '365 days') AS entrapments_365d,
           count(*) FILTER (WHERE e.cause IN ('external', 'misuse')
                            AND e.occurred_at >= u.t - interval '365 days') AS excluded_365d,
           count(*) FILTER (WHERE e.cause IN ('external', 'misuse') AND e.entrapment
                            AND e.occurred_at >= u.t - interval '365 days') AS excluded_entrapments_365d,
           coalesce(sum(extract(epoch FROM least(e.ended_at, u.t) - e.occurred_at) / 3600.0)
                    FILTER (WHERE e.cause = 'equipment'
                            AND e.occurred_at >= u.t - interval '365 days'), 0) AS downtime_hours_365d,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.trend_start)
               AS trend_faults,
           count(*) FILTER (WHERE e.cause = 'equipment' AND e.severity <> 'minor'
                            AND e.occurred_at >= u.trend_start) AS trend_serious,
           sum(ln(greatest(extract(epoch FROM u.t - u.trend_start), 86400.0)
                  / greatest(extract(epoch FROM e.occurred_at - u.trend_start), 3600.0)))
               FILTER (WHERE e.cause = 'equipment' AND e.occurred_at >= u.trend_start)
               AS trend_log_sum
    FROM fault_event e
    JOIN u USING (unit_id)
    WHERE e.occurred_at < u.t
      AND e.occurred_at >= u.t - greatest(%(trend_days)s, 365) * interval '1 day'
      AND e.occurred_at >= u.age_from_t
    GROUP BY e.unit_id
),
insp AS (
    SELECT e.unit_id,
           max(e.certificate_expiry) AS certificate_expiry,
           max(e.occurred_at) FILTER (WHERE e.result = 'fail') AS last_failed_at,
           count(*) FILTER (WHERE e.result = 'fail'
                            AND e.occurred_at >= u.t - %(failed_days)s * interval '1 day')
               AS failed_inspections_3y,
           count(*) FILTER (WHERE NOT e.reinspection AND (e.result <> 'pass' OR e.rectification_items > 0)
                            AND e.occurred_at >= u.t - %(failed_days)s * interval '1 day')
               AS defect_inspections_3y
    FROM inspection_event e
    JOIN u USING (unit_id)
    WHERE e.occurred_at < u.t
    GROUP BY e.unit_id
),
last_insp AS (
    SELECT DISTINCT ON (e.unit_id) e.unit_id, e.occurred_at, e.result, e.reinspection,
           e.rectification_items
    FROM inspection_event e
    JOIN u USING (unit_id)
    WHERE e.occurred_at < u.t
    ORDER BY e.unit_id, e.occurred_at DESC
),
last_periodic AS (
    SELECT DISTINCT ON (e.unit_id) e.unit_id, e.rectification_items AS last_defects,
           CASE e.result WHEN 'pass' THEN 0 WHEN 'pass_after_rectification' THEN 1 ELSE 2 END
               AS last_periodic_result,
           (SELECT count(*) FROM jsonb_array_elements(e.defects) AS defect(item)
            WHERE defect.item->>'severity' IN ('major', 'critical')) AS last_serious_defects
    FROM inspection_event e
    JOIN u USING (unit_id)
    WHERE e.occurred_at < u.t AND NOT e.reinspection
    ORDER BY e.unit_id, e.occurred_at DESC
),
visits AS (
    SELECT e.unit_id, e.occurred_at,
           extract(epoch FROM e.occurred_at - lag(e.occurred_at, 1, w.start)
                   OVER (PARTITION BY e.unit_id ORDER BY e.occurred_at)) / 86400.0 AS gap_days
    FROM maintenance_event e
    JOIN (SELECT unit_id, t, greatest(t - interval '365 days', age_from_t) AS start
          FROM u) w USING (unit_id)
    WHERE e.visit_type = 'routine' AND e.occurred_at < w.t AND e.occurred_at >= w.start
),
maint AS (
    SELECT unit_id, count(*) AS visits_365d, max(occurred_at) AS last_visit_at,
           sum(greatest(round(gap_days / %(visit_days)s) - 1, 0)) AS missed_between
    FROM visits
    GROUP BY unit_id
),
status AS (
    SELECT e.unit_id,
           max(e.occurred_at) AS last_seen_at,
           max(e.trips) - min(e.trips) AS trips,
           extract(epoch FROM max(e.occurred_at) FILTER (WHERE e.trips IS NOT NULL)
                   - min(e.occurred_at) FILTER (WHERE e.trips IS NOT NULL)) / 86400.0 AS trip_days,
           (array_agg(e.online ORDER BY e.occurred_at DESC))[1] AS online
    FROM status_sample e
    JOIN u USING (unit_id)
    WHERE e.occurred_at < u.t AND e.occurred_at >= u.t - interval '90 days'
    GROUP BY e.unit_id
),
bld AS (
    SELECT u.building_id,
           count(*) AS units_in_building,
           count(*) FILTER (WHERE u.service_status = 'in_service') AS units_in_service
    FROM u
    WHERE u.service_status <> 'retired'
    GROUP BY u.building_id
)
SELECT u.unit_id, u.manufacturer, u.building_id,
       (u.d - u.age_from) / 365.25 AS age_years,
       u.age_from, u.installed_on, (u.age_from > u.installed_on) AS renewed,
       least(365, u.d - u.age_from + 1) / 365.0 AS exposure_years,
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
       least(%(trend_days)s, u.d - u.age_from + 1) AS trend_window_days,
       li.occurred_at AS last_inspection_at,
       li.result AS last_inspection_result,
       (li.result = 'fail')::int AS failed_inspection_open,
       CASE WHEN li.result = 'pass_after_rectification' OR (li.reinspection AND li.result = 'pass')
            THEN 0 ELSE coalesce(li.rectification_items, 0) END AS open_rectification,
       coalesce(i.failed_inspections_3y, 0) AS failed_inspections_3y,
       coalesce(i.defect_inspections_3y, 0) AS defect_inspections_3y,
       coalesce(lp.last_defects, 0) AS last_defects,
       lp.last_periodic_result,
       coalesce(lp.last_serious_defects, 0) AS last_serious_defects,
       i.last_failed_at,
       u.d - (li.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS days_since_inspection,
       i.certificate_expiry,
       i.certificate_expiry - u.d AS days_to_certificate_expiry,
       coalesce(m.visits_365d, 0) AS visits_365d,
       CASE WHEN m.unit_id IS NULL
            THEN floor(extract(epoch FROM u.t - greatest(u.t - interval '365 days', u.age_from_t))
                       / 86400.0 / %(visit_days)s)
            ELSE m.missed_between + greatest(round(extract(epoch FROM u.t - m.last_visit_at)
                                                   / 86400.0 / %(visit_days)s) - 1, 0)
       END AS missed_maintenance,
       CASE WHEN s.trip_days >= 1 THEN s.trips / s.trip_days END AS trips_per_day,
       s.last_seen_at,
       extract(epoch FROM u.t - s.last_seen_at) / 86400.0 AS days_silent,
       s.online,
       b.floors, b.households, b.elderly_share::float8 AS elderly_share,
       coalesce(bld.units_in_building, 1) AS units_in_building,
       greatest(coalesce(bld.units_in_service, 0)
                - (u.service_status = 'in_service')::int, 0) AS other_units_in_service
FROM u
JOIN building b USING (building_id)
LEFT JOIN bld USING (building_id)
LEFT JOIN f USING (unit_id)
LEFT JOIN insp i USING (unit_id)
LEFT JOIN last_insp li USING (unit_id)
LEFT JOIN last_periodic lp USING (unit_id)
LEFT JOIN maint m USING (unit_id)
LEFT JOIN status s USING (unit_id)
ORDER BY u.unit_id
"""

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
    "failed_inspection_open",
    "open_rectification",
    "failed_inspections_3y",
    "defect_inspections_3y",
    "last_defects",
    "last_periodic_result",
    "last_serious_defects",
    "days_since_inspection",
    "days_to_certificate_expiry",
    "visits_365d",
    "missed_maintenance",
    "trips_per_day",
    "days_silent",
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
    conn: psycopg.Connection[Any], *, as_of: date, policy_features: Mapping[str, Any]
) -> Features:
    """Every unit's features as of the end of ``as_of`` (China Standard Time)."""
    params = {
        "as_of": as_of,
        "trend_days": int(policy_features["trend_window_days"]),
        "visit_days": float(policy_features["maintenance_interval_days"]),
        "failed_days": 1095,
    }
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        # The planner cannot see through the CTEs and overestimates rows by orders of magnitude;
        # JIT then spends longer compiling the query than running it.
        cur.execute("SET LOCAL jit = off")
        cur.execute(FEATURES_SQL, params)
        names = [d.name for d in cur.description or ()]
        rows = cur.fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    by_name = dict(zip(names, cols, strict=True))
    numeric = {
        name: np.array([np.nan if v is None else float(v) for v in by_name[name]], dtype=float)
        for name in NUMERIC
    }
    _derive(numeric, policy_features)
    other = {name: list(by_name[name]) for name in names if name not in NUMERIC}
    return Features(as_of=as_of, unit_ids=list(other.pop("unit_id")), numeric=numeric, other=other)


def _derive(numeric: dict[str, np.ndarray], policy_features: Mapping[str, Any]) -> None:
    """Columns derived in Python: the Crow-AMSAA slope and the yes/no facts rules test."""
    n = numeric["trend_faults"]
    log_sum = numeric["trend_log_sum"]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Time-truncated MLE with the (n - 1) / n small-sample correction.
        beta = np.where(log_sum > 0, (n - 1) / log_sum, np.nan)
    numeric["trend_beta"] = np.where(n >= 2, beta, np.nan)
    interval = float(policy_features["inspection_interval_days"])
    since = numeric["days_since_inspection"]
    numeric["inspection_overdue"] = np.where(np.isnan(since) | (since > interval), 1.0, 0.0)
    silent = numeric["days_silent"]
    numeric["silent"] = np.where(
        np.isnan(silent) | (silent > float(policy_features["silent_after_days"])), 1.0, 0.0
    )
