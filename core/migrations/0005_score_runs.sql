-- Score runs: every ranking liftwatch computes is stored whole, so it can be audited and compared.

CREATE TABLE score_run (
    run_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of           date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    policy_version  text NOT NULL,
    policy_hash     text NOT NULL,
    model_version   text,
    unit_count      integer NOT NULL DEFAULT 0 CHECK (unit_count >= 0),
    timings         jsonb NOT NULL DEFAULT '{}',
    note            text
);
CREATE INDEX score_run_as_of_idx ON score_run (as_of DESC, run_id DESC);

CREATE TABLE unit_score (
    run_id             bigint NOT NULL REFERENCES score_run ON DELETE CASCADE,
    unit_id            text NOT NULL,
    rank               integer NOT NULL CHECK (rank >= 1),
    health             double precision NOT NULL,
    pof                double precision NOT NULL,
    cof                double precision NOT NULL,
    risk               double precision NOT NULL,
    model_probability  double precision,
    flag               text NOT NULL
                       CHECK (flag IN ('stopped', 'replace_or_overhaul', 'safety_assessment', 'watch', 'ok')),
    flag_rule          text NOT NULL,
    factors            jsonb NOT NULL,
    PRIMARY KEY (run_id, unit_id)
);
-- Keyset pagination walks a run by rank; a unit's history walks runs.
CREATE UNIQUE INDEX unit_score_rank_idx ON unit_score (run_id, rank);
CREATE INDEX unit_score_unit_idx ON unit_score (unit_id, run_id DESC);
