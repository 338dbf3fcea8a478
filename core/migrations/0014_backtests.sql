-- Backtests: how well each ranking anticipated what happened after a date, on the fleet's own
-- stored history (or a simulated one). Only fleet-wide figures are kept, never a unit's score: the
-- scoring as of the date is rolled back, so the rankings users see are never disturbed.

CREATE TABLE backtest (
    backtest_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    as_of           date NOT NULL,
    horizon_months  integer NOT NULL CHECK (horizon_months BETWEEN 1 AND 120),
    unit_count      integer NOT NULL CHECK (unit_count >= 0),
    bootstrap       integer NOT NULL CHECK (bootstrap >= 0),
    policy_version  text NOT NULL,
    policy_hash     text NOT NULL,
    -- Per outcome: its mean per unit and the share of units with an event.
    outcomes        jsonb NOT NULL,
    -- One entry per method and outcome: {method, outcome, <metric>: {value, low, high}, ...}.
    results         jsonb NOT NULL,
    note            text
);
CREATE INDEX backtest_as_of_idx ON backtest (as_of DESC, backtest_id DESC);
