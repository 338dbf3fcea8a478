-- What a ranking page reads of each score, stored next to it, so a page is a short range scan of
-- one index and reads no factor lists:
--
-- * the unit's current place (district, street office, contractor), kept equal to unit_place by
--   triggers, so a ranking scoped or filtered to one of them walks an index in rank order instead
--   of the whole run's rank index, skipping everyone else's units. Queries still join unit_place
--   and check the scope there: these columns choose the index and never widen what a caller sees
--   (a stale value could only hide a unit, not show one);
-- * the first reasons a list shows next to a unit, taken from its factors when it is written.

-- The sentences of the first three factors in their stored order, leaving out consequence, the
-- flag rule and the model, which an explanation shows on lines of their own. The score writer
-- computes the same in Python (scoring.reasons.summary); this is for the rows already stored and
-- for writers that leave it out.
CREATE FUNCTION score_reasons(factors jsonb) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(json_agg(json_build_object('factor', f -> 'factor', 'zh', f -> 'zh', 'en', f -> 'en')
                             ORDER BY n), '[]')
    FROM (SELECT f, n FROM jsonb_array_elements(factors) WITH ORDINALITY AS e (f, n)
          WHERE f ->> 'factor' NOT IN ('consequence', 'flag_rule', 'model')
          ORDER BY n LIMIT 3) shown
$$;

ALTER TABLE unit_score
    ADD COLUMN district_id      text,
    ADD COLUMN street_office_id text,
    ADD COLUMN contractor_id    text,
    ADD COLUMN reasons          json;

UPDATE unit_score s
SET district_id = p.district_id, street_office_id = p.street_office_id,
    contractor_id = p.contractor_id, reasons = score_reasons(s.factors)
FROM unit_place p
WHERE p.unit_id = s.unit_id;
UPDATE unit_score SET reasons = score_reasons(factors) WHERE reasons IS NULL;
ALTER TABLE unit_score ALTER COLUMN reasons SET NOT NULL;

CREATE INDEX unit_score_district_rank_idx ON unit_score (run_id, district_id, rank);
CREATE INDEX unit_score_street_office_rank_idx ON unit_score (run_id, street_office_id, rank);
CREATE INDEX unit_score_contractor_rank_idx ON unit_score (run_id, contractor_id, rank);

-- The score writer supplies the place (read under a share lock on the register, see
-- scoring/run.py) and the reasons; a writer that leaves them out gets them here.
CREATE FUNCTION unit_score_complete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.district_id IS NULL OR NEW.street_office_id IS NULL OR NEW.contractor_id IS NULL THEN
        SELECT p.district_id, p.street_office_id, p.contractor_id
        INTO NEW.district_id, NEW.street_office_id, NEW.contractor_id
        FROM unit_place p WHERE p.unit_id = NEW.unit_id;
    END IF;
    IF NEW.reasons IS NULL THEN
        NEW.reasons := score_reasons(NEW.factors);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER unit_score_complete BEFORE INSERT ON unit_score
    FOR EACH ROW
    WHEN (NEW.district_id IS NULL OR NEW.street_office_id IS NULL OR NEW.contractor_id IS NULL
          OR NEW.reasons IS NULL)
    EXECUTE FUNCTION unit_score_complete();

-- A register change that moves units (a unit to another building or contractor, a building to
-- another community, a community to another street office, a street office to another district)
-- moves their scores in every run, in the same transaction. Updates that change none of these
-- columns do not fire. (Scores are written for registered units only, and units are never
-- deleted, so a unit's insertion has no scores to move.)
CREATE FUNCTION unit_score_follow_place() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved text[];
BEGIN
    IF TG_TABLE_NAME = 'unit' THEN
        moved := ARRAY[NEW.unit_id];
    ELSIF TG_TABLE_NAME = 'building' THEN
        SELECT array_agg(unit_id) INTO moved FROM unit WHERE building_id = NEW.building_id;
    ELSIF TG_TABLE_NAME = 'community' THEN
        SELECT array_agg(unit_id) INTO moved FROM unit_place WHERE community_id = NEW.community_id;
    ELSE
        SELECT array_agg(unit_id) INTO moved
        FROM unit_place WHERE street_office_id = NEW.street_office_id;
    END IF;
    UPDATE unit_score s
    SET district_id = p.district_id, street_office_id = p.street_office_id,
        contractor_id = p.contractor_id
    FROM unit_place p
    WHERE p.unit_id = ANY (moved) AND s.unit_id = p.unit_id
      AND (s.district_id, s.street_office_id, s.contractor_id)
          IS DISTINCT FROM (p.district_id, p.street_office_id, p.contractor_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER unit_score_follow_place AFTER UPDATE OF building_id, contractor_id ON unit
    FOR EACH ROW
    WHEN ((OLD.building_id, OLD.contractor_id) IS DISTINCT FROM (NEW.building_id, NEW.contractor_id))
    EXECUTE FUNCTION unit_score_follow_place();
CREATE TRIGGER unit_score_follow_place AFTER UPDATE OF community_id ON building
    FOR EACH ROW WHEN (OLD.community_id IS DISTINCT FROM NEW.community_id)
    EXECUTE FUNCTION unit_score_follow_place();
CREATE TRIGGER unit_score_follow_place AFTER UPDATE OF street_office_id ON community
    FOR EACH ROW WHEN (OLD.street_office_id IS DISTINCT FROM NEW.street_office_id)
    EXECUTE FUNCTION unit_score_follow_place();
CREATE TRIGGER unit_score_follow_place AFTER UPDATE OF district_id ON street_office
    FOR EACH ROW WHEN (OLD.district_id IS DISTINCT FROM NEW.district_id)
    EXECUTE FUNCTION unit_score_follow_place();
