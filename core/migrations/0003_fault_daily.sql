-- Daily fault counts per unit and cause (days in China Standard Time).
-- TimescaleDB: a continuous aggregate refreshed by a policy. PostgreSQL: a plain view over the
-- partitioned table. Both are named fault_daily and have the same columns.

-- @if timescale
CREATE MATERIALIZED VIEW fault_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', occurred_at, 'Asia/Shanghai') AS day,
       unit_id,
       cause,
       count(*) AS faults,
       count(*) FILTER (WHERE entrapment) AS entrapments,
       count(*) FILTER (WHERE severity = 'critical') AS critical,
       sum(EXTRACT(EPOCH FROM (ended_at - occurred_at)) / 3600.0) AS downtime_hours
FROM fault_event
GROUP BY 1, 2, 3
WITH NO DATA;

SELECT add_continuous_aggregate_policy('fault_daily',
    start_offset => INTERVAL '3 years',
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '1 hour');
-- @endif

-- @if postgres
CREATE VIEW fault_daily AS
SELECT date_trunc('day', occurred_at, 'Asia/Shanghai') AS day,
       unit_id,
       cause,
       count(*) AS faults,
       count(*) FILTER (WHERE entrapment) AS entrapments,
       count(*) FILTER (WHERE severity = 'critical') AS critical,
       sum(EXTRACT(EPOCH FROM (ended_at - occurred_at)) / 3600.0) AS downtime_hours
FROM fault_event
GROUP BY 1, 2, 3;
-- @endif
