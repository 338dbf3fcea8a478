-- Moves of register entities above the unit (a street office to another district, a community to
-- another street office, a building to another community): each is asked for explicitly and kept
-- here, who and when, as unit_change keeps a unit's changes. Scope follows the entity, so a move is
-- also a change of who may see and change it.

CREATE TABLE register_move (
    move_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity      text NOT NULL CHECK (entity IN ('street_office', 'community', 'building')),
    entity_id   text NOT NULL,
    field       text NOT NULL,
    old_value   text NOT NULL,
    new_value   text NOT NULL,
    moved_at    timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL
);
CREATE INDEX register_move_entity_idx ON register_move (entity, entity_id, moved_at);
