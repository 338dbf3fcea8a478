-- Where a building stands, for the map of a bureau's or street office's buildings: degrees as the
-- register file gives them (docs/register.md names the datum), both or neither.
ALTER TABLE building
    ADD COLUMN lat numeric(9, 6) CHECK (lat BETWEEN -90 AND 90),
    ADD COLUMN lon numeric(9, 6) CHECK (lon BETWEEN -180 AND 180),
    ADD CONSTRAINT building_point_whole CHECK ((lat IS NULL) = (lon IS NULL));
