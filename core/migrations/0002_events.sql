-- Event storage. On TimescaleDB the event tables are hypertables; on plain PostgreSQL they are
-- range-partitioned by time. Same names, same columns, same queries.
--
-- Idempotency: a partitioned table's unique key must contain its time column, so the key is
-- (event_id, occurred_at). A re-delivered message carries the same event_id and occurred_at and
-- is stored once.

CREATE TABLE fault_event (
    event_id            uuid NOT NULL,
    unit_id             text NOT NULL,
    contractor_id       text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    code                text NOT NULL,
    cause               text NOT NULL CHECK (cause IN ('equipment', 'external', 'misuse', 'unknown')),
    severity            text NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
    entrapment          boolean NOT NULL DEFAULT false,
    passengers_trapped  smallint NOT NULL DEFAULT 0 CHECK (passengers_trapped >= 0),
    ended_at            timestamptz CHECK (ended_at IS NULL OR ended_at >= occurred_at),
    floor               smallint,
    description         text,
    PRIMARY KEY (event_id, occurred_at)
)
-- @if postgres
PARTITION BY RANGE (occurred_at)
-- @endif
;
CREATE INDEX fault_event_unit_idx ON fault_event (unit_id, occurred_at DESC);

CREATE TABLE inspection_event (
    event_id            uuid NOT NULL,
    unit_id             text NOT NULL,
    contractor_id       text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    inspection_body     text NOT NULL,
    result              text NOT NULL CHECK (result IN ('pass', 'pass_after_rectification', 'fail')),
    reinspection        boolean NOT NULL DEFAULT false,
    defects             jsonb NOT NULL DEFAULT '[]',
    rectification_items smallint NOT NULL DEFAULT 0,
    certificate_expiry  date,
    report_no           text,
    PRIMARY KEY (event_id, occurred_at)
)
-- @if postgres
PARTITION BY RANGE (occurred_at)
-- @endif
;
CREATE INDEX inspection_event_unit_idx ON inspection_event (unit_id, occurred_at DESC);

CREATE TABLE maintenance_event (
    event_id            uuid NOT NULL,
    unit_id             text NOT NULL,
    contractor_id       text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    visit_type          text NOT NULL CHECK (visit_type IN ('routine', 'repair', 'part_replacement')),
    parts               text[] NOT NULL DEFAULT '{}',
    duration_minutes    integer,
    technician          text,
    notes               text,
    PRIMARY KEY (event_id, occurred_at)
)
-- @if postgres
PARTITION BY RANGE (occurred_at)
-- @endif
;
CREATE INDEX maintenance_event_unit_idx ON maintenance_event (unit_id, occurred_at DESC);

CREATE TABLE status_sample (
    event_id            uuid NOT NULL,
    unit_id             text NOT NULL,
    contractor_id       text NOT NULL,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    online              boolean NOT NULL,
    in_service          boolean NOT NULL DEFAULT true,
    trips               bigint,
    door_cycles         bigint,
    running_hours       double precision,
    PRIMARY KEY (event_id, occurred_at)
)
-- @if postgres
PARTITION BY RANGE (occurred_at)
-- @endif
;
CREATE INDEX status_sample_unit_idx ON status_sample (unit_id, occurred_at DESC);

-- Every rejected message, with its raw bytes and a machine-readable reason.
CREATE TABLE dead_letter (
    dead_letter_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL CHECK (source IN ('mqtt', 'http', 'file')),
    topic           text,
    contractor_id   text,
    unit_id         text,
    kind            text,
    event_id        uuid,
    reason          text NOT NULL,
    detail          text NOT NULL,
    payload         bytea NOT NULL,
    replayed_at     timestamptz,
    replay_outcome  text
);
CREATE INDEX dead_letter_reason_idx ON dead_letter (reason, received_at) WHERE replayed_at IS NULL;
CREATE INDEX dead_letter_contractor_idx ON dead_letter (contractor_id, received_at DESC);

-- @if postgres
-- Yearly partitions for the sparse event tables, monthly ones for status samples, and a default
-- partition each so no event is ever refused for its date. liftwatch_ensure_partitions() is run
-- by every `liftwatch db upgrade` and by the ingest worker at start, to keep a year ahead.
CREATE FUNCTION liftwatch_ensure_partitions(first_year int, last_year int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    y int;
    m int;
    lo timestamptz;
    hi timestamptz;
BEGIN
    FOREACH t IN ARRAY ARRAY['fault_event', 'inspection_event', 'maintenance_event'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I DEFAULT', t || '_default', t);
        FOR y IN first_year .. last_year LOOP
            lo := make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC');
            hi := make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'UTC');
            IF to_regclass(format('%I', t || '_' || y)) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               t || '_' || y, t, lo, hi);
            END IF;
        END LOOP;
    END LOOP;
    EXECUTE 'CREATE TABLE IF NOT EXISTS status_sample_default PARTITION OF status_sample DEFAULT';
    FOR y IN greatest(first_year, last_year - 6) .. last_year LOOP
        FOR m IN 1 .. 12 LOOP
            lo := make_timestamptz(y, m, 1, 0, 0, 0, 'UTC');
            hi := lo + interval '1 month';
            IF to_regclass(format('status_sample_%s_%s', y, lpad(m::text, 2, '0'))) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF status_sample FOR VALUES FROM (%L) TO (%L)',
                               format('status_sample_%s_%s', y, lpad(m::text, 2, '0')), lo, hi);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
-- @endif

-- @if timescale
SELECT create_hypertable('fault_event', by_range('occurred_at', INTERVAL '180 days'));
SELECT create_hypertable('inspection_event', by_range('occurred_at', INTERVAL '365 days'));
SELECT create_hypertable('maintenance_event', by_range('occurred_at', INTERVAL '180 days'));
SELECT create_hypertable('status_sample', by_range('occurred_at', INTERVAL '7 days'));

ALTER TABLE fault_event SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'unit_id',
    timescaledb.compress_orderby = 'occurred_at DESC'
);
ALTER TABLE maintenance_event SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'unit_id',
    timescaledb.compress_orderby = 'occurred_at DESC'
);
ALTER TABLE status_sample SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'unit_id',
    timescaledb.compress_orderby = 'occurred_at DESC'
);
SELECT add_compression_policy('fault_event', make_interval(days => :compress_after_days));
SELECT add_compression_policy('maintenance_event', make_interval(days => :compress_after_days));
SELECT add_compression_policy('status_sample', make_interval(days => :compress_after_days));
-- Fault, inspection and maintenance records are the evidence behind scores: kept for ever.
-- Status samples are telemetry: kept for the retention period.
SELECT add_retention_policy('status_sample', make_interval(days => :status_retention_days));
-- @endif
