-- Conflicting re-deliveries and bounded dead letters.
--
-- content_hash: a digest of what an event says (its stored columns). A message with the same
-- (event_id, occurred_at) and the same digest is a re-delivery (a silent duplicate); with another
-- digest it is a conflicting version, dead-lettered as `conflict`. Rows stored before this
-- migration have no digest and are never reported as conflicts. An event_id reused with another
-- occurred_at is another event: the time is part of the key of the partitioned tables.
ALTER TABLE fault_event ADD COLUMN content_hash bytea;
ALTER TABLE inspection_event ADD COLUMN content_hash bytea;
ALTER TABLE maintenance_event ADD COLUMN content_hash bytea;
ALTER TABLE status_sample ADD COLUMN content_hash bytea;

-- A dead letter keeps at most the first bytes of an oversized payload, with the size and SHA-256
-- of the whole; NULL for rows stored whole (their size is octet_length(payload)).
ALTER TABLE dead_letter ADD COLUMN payload_size integer;
ALTER TABLE dead_letter ADD COLUMN payload_sha256 bytea;
