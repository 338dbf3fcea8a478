-- The fleet register: district -> street office -> community -> building -> unit, and contractors.

CREATE TABLE district (
    district_id   text PRIMARY KEY,
    name          text NOT NULL,
    name_en       text
);

CREATE TABLE street_office (
    street_office_id text PRIMARY KEY,
    district_id      text NOT NULL REFERENCES district,
    name             text NOT NULL,
    name_en          text
);
CREATE INDEX street_office_district_idx ON street_office (district_id);

CREATE TABLE community (
    community_id     text PRIMARY KEY,
    street_office_id text NOT NULL REFERENCES street_office,
    name             text NOT NULL,
    name_en          text
);
CREATE INDEX community_street_office_idx ON community (street_office_id);

CREATE TABLE contractor (
    contractor_id text PRIMARY KEY,
    name          text NOT NULL,
    name_en       text
);

CREATE TABLE building (
    building_id     text PRIMARY KEY,
    community_id    text NOT NULL REFERENCES community,
    name            text NOT NULL,
    floors          smallint NOT NULL CHECK (floors BETWEEN 1 AND 200),
    households      integer NOT NULL CHECK (households >= 0),
    residents       integer CHECK (residents >= 0),
    elderly_share   numeric(4, 3) CHECK (elderly_share BETWEEN 0 AND 1),
    year_built      smallint CHECK (year_built BETWEEN 1900 AND 2100),
    property_unit   text,
    fund_status     text NOT NULL DEFAULT 'none'
                    CHECK (fund_status IN ('funded', 'insufficient', 'none')),
    fund_balance    numeric(14, 2)
);
CREATE INDEX building_community_idx ON building (community_id);

CREATE TABLE unit (
    unit_id           text PRIMARY KEY,
    registration_code text NOT NULL UNIQUE,
    building_id       text NOT NULL REFERENCES building,
    manufacturer      text NOT NULL,
    model             text,
    installed_on      date NOT NULL,
    renewed_on        date CHECK (renewed_on IS NULL OR renewed_on >= installed_on),
    rated_load_kg     integer CHECK (rated_load_kg > 0),
    rated_speed_mps   numeric(4, 2) CHECK (rated_speed_mps > 0),
    stops             smallint CHECK (stops > 0),
    drive_type        text NOT NULL DEFAULT 'traction'
                      CHECK (drive_type IN ('traction', 'hydraulic', 'other')),
    contractor_id     text NOT NULL REFERENCES contractor,
    service_status    text NOT NULL DEFAULT 'in_service'
                      CHECK (service_status IN ('in_service', 'stopped', 'under_renewal', 'retired')),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unit_building_idx ON unit (building_id);
CREATE INDEX unit_contractor_idx ON unit (contractor_id);

-- Every major renewal of a unit: age is counted from the latest one on or before a date.
CREATE TABLE unit_renewal (
    unit_id     text NOT NULL REFERENCES unit ON DELETE CASCADE,
    renewed_on  date NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, renewed_on)
);

-- Which contractor maintained a unit when: authorizes events by their time.
CREATE TABLE unit_contract (
    unit_id       text NOT NULL REFERENCES unit ON DELETE CASCADE,
    contractor_id text NOT NULL REFERENCES contractor,
    valid_from    timestamptz NOT NULL,
    valid_to      timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    PRIMARY KEY (unit_id, valid_from)
);
CREATE UNIQUE INDEX unit_contract_open_idx ON unit_contract (unit_id) WHERE valid_to IS NULL;

-- Audit trail of register changes that affect scoring or authority.
CREATE TABLE unit_change (
    change_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id     text NOT NULL REFERENCES unit ON DELETE CASCADE,
    field       text NOT NULL,
    old_value   text,
    new_value   text,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL
);
CREATE INDEX unit_change_unit_idx ON unit_change (unit_id, changed_at);

-- Where each unit sits and who maintains it: the one join every scoped query filters on.
CREATE VIEW unit_place AS
SELECT u.unit_id, u.building_id, b.community_id, c.street_office_id, s.district_id, u.contractor_id
FROM unit u
JOIN building b USING (building_id)
JOIN community c USING (community_id)
JOIN street_office s USING (street_office_id);
