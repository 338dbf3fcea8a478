-- API tokens: only a SHA-256 of each token's secret is stored; the token itself is shown once.
-- A token reads `lw_<token_id>_<secret>`: the id finds the row, the secret is compared in constant time.

CREATE TABLE api_token (
    token_id      text PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'bureau', 'street_office', 'contractor')),
    bound_to      text,
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CHECK ((role = 'admin') = (bound_to IS NULL))
);

-- Where each building sits, including buildings with no unit yet: the register-level twin of
-- unit_place, so a bureau or street office sees its whole jurisdiction through one condition.
CREATE VIEW region_place AS
SELECT b.building_id, c.community_id, s.street_office_id, d.district_id
FROM district d
LEFT JOIN street_office s USING (district_id)
LEFT JOIN community c USING (street_office_id)
LEFT JOIN building b USING (community_id);
