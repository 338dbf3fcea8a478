-- The renewal planner: what the register must know about money and consent, and stored plan runs.

-- Funding and consent facts of a building, all optional (unknown until a street office records them).
ALTER TABLE building
    ADD COLUMN floor_area_m2          numeric(12, 2) CHECK (floor_area_m2 > 0),
    ADD COLUMN collection_rate        numeric(4, 3) CHECK (collection_rate BETWEEN 0 AND 1),
    ADD COLUMN collection_expected_on date,
    ADD COLUMN fund_vote_on           date,
    ADD COLUMN consent_share          numeric(4, 3) CHECK (consent_share BETWEEN 0 AND 1);

-- The latest safety assessment (GB/T 42615) of a unit and the action it recommends: subsidies
-- require one.
ALTER TABLE unit
    ADD COLUMN assessment_on     date,
    ADD COLUMN assessment_action text
               CHECK (assessment_action IN ('replace', 'modernize', 'overhaul'));

-- A plan run, stored whole like a score run, so plans can be audited and compared over time.
CREATE TABLE plan_run (
    plan_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at       timestamptz NOT NULL DEFAULT now(),
    score_run_id     bigint NOT NULL REFERENCES score_run ON DELETE CASCADE,
    district_id      text,
    starts_on        date NOT NULL,
    years            smallint NOT NULL CHECK (years BETWEEN 1 AND 5),
    period_months    smallint NOT NULL,
    method           text NOT NULL CHECK (method IN ('milp', 'greedy')),
    policy_version   text NOT NULL,
    policy_hash      text NOT NULL,
    catalogue_version text NOT NULL,
    budgets          jsonb NOT NULL,
    options          jsonb NOT NULL,
    summary          jsonb NOT NULL,
    trajectory       jsonb NOT NULL,
    scenarios        jsonb NOT NULL,
    note             text
);
CREATE INDEX plan_run_district_idx ON plan_run (district_id, plan_id DESC);

CREATE TABLE plan_row (
    plan_id          bigint NOT NULL REFERENCES plan_run ON DELETE CASCADE,
    unit_id          text NOT NULL,
    building_id      text NOT NULL,
    street_office_id text NOT NULL,
    district_id      text NOT NULL,
    year             smallint NOT NULL,
    period           smallint NOT NULL,
    starts_on        date NOT NULL,
    phase            smallint NOT NULL,
    action           text NOT NULL CHECK (action IN ('replace', 'modernize', 'overhaul')),
    cost             numeric(14, 2) NOT NULL,
    bond             numeric(14, 2) NOT NULL,
    district         numeric(14, 2) NOT NULL,
    maintenance_fund numeric(14, 2) NOT NULL,
    owners           numeric(14, 2) NOT NULL,
    advance          numeric(14, 2) NOT NULL,
    benefit          double precision NOT NULL,
    pof              double precision NOT NULL,
    cof              double precision NOT NULL,
    mandatory        boolean NOT NULL,
    PRIMARY KEY (plan_id, unit_id)
);
CREATE INDEX plan_row_street_office_idx ON plan_row (plan_id, street_office_id, starts_on);

CREATE TABLE plan_building (
    plan_id          bigint NOT NULL REFERENCES plan_run ON DELETE CASCADE,
    building_id      text NOT NULL,
    street_office_id text NOT NULL,
    district_id      text NOT NULL,
    name             text NOT NULL,
    units            smallint NOT NULL,
    households       integer NOT NULL,
    phases           jsonb NOT NULL,
    waits            jsonb NOT NULL,
    PRIMARY KEY (plan_id, building_id)
);
CREATE INDEX plan_building_street_office_idx ON plan_building (plan_id, street_office_id);

-- Walk-ups without elevators ranked by need: reported apart from renewals (residents served, not
-- risk avoided).
CREATE TABLE plan_retrofit (
    plan_id          bigint NOT NULL REFERENCES plan_run ON DELETE CASCADE,
    building_id      text NOT NULL,
    street_office_id text NOT NULL,
    district_id      text NOT NULL,
    need             double precision NOT NULL,
    rank_in_street   integer NOT NULL,
    residents_served integer NOT NULL,
    cost             numeric(14, 2) NOT NULL,
    subsidy          numeric(14, 2) NOT NULL,
    year             smallint,  -- the year the plan funds it from the bond money renewals leave
    PRIMARY KEY (plan_id, building_id)
);
