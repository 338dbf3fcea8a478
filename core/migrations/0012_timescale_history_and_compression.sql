-- TimescaleDB only; plain PostgreSQL has nothing to change (fault_daily is a plain view there and
-- partitions are not compressed).
--
-- 1. fault_daily keeps every day of history. The refresh policy of 0003 materialized only the last
--    three years: a fault older than that was visible until the first refresh and gone after it
--    (the real-time part of the aggregate covers only what lies above the materialized window), so
--    an import of older records never reached the dashboards, and the two modes disagreed. A policy
--    with no start (start_offset NULL: from the oldest row) refreshes whatever a late or historical
--    insert invalidated, however old; refreshes stay cheap because only invalidated buckets are
--    recomputed. It runs once right away so a database upgraded from 0003 catches up at once.
--
-- 2. Compression by Timescale's rule: segment by a column only when each of its values has enough
--    rows in a chunk to fill a batch (hundreds, ideally 1,000). Status samples do (one a minute per
--    unit: ~10,000 per unit per 7-day chunk) and keep segmentby unit_id. Faults, maintenance visits
--    and inspections have a handful per unit per chunk, so segmenting by unit made one tiny batch
--    per unit, larger than the rows themselves, and a re-delivered event decompressed hundreds of
--    thousands of batches to check its key. They are compressed unsegmented, ordered by unit and
--    time (a unit's history is still a narrow range of batches, found by their min/max metadata),
--    with event_id last so the unique key (event_id, occurred_at) is covered by the order.
--    Chunks compressed with the old settings are decompressed here; the compression policy
--    compresses them again with the new settings on its next run.
--
-- 3. inspection_event had no compression: inspections are kept for ever like faults, so they get
--    the same settings and policy.

-- @if timescale
SELECT remove_continuous_aggregate_policy('fault_daily', if_exists => true);
SELECT alter_job(
    add_continuous_aggregate_policy('fault_daily',
        start_offset => NULL::interval,
        end_offset => INTERVAL '1 hour',
        schedule_interval => INTERVAL '1 hour'),
    next_start => now());

SELECT decompress_chunk(format('%I.%I', chunk_schema, chunk_name)::regclass)
FROM timescaledb_information.chunks
WHERE hypertable_schema = current_schema()
  AND hypertable_name IN ('fault_event', 'maintenance_event')
  AND is_compressed;

ALTER TABLE fault_event SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = '',
    timescaledb.compress_orderby = 'unit_id, occurred_at DESC, event_id'
);
ALTER TABLE maintenance_event SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = '',
    timescaledb.compress_orderby = 'unit_id, occurred_at DESC, event_id'
);
ALTER TABLE inspection_event SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = '',
    timescaledb.compress_orderby = 'unit_id, occurred_at DESC, event_id'
);
SELECT add_compression_policy('inspection_event', make_interval(days => :compress_after_days));
-- @endif
