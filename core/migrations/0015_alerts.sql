-- Alerts: events that need a person now (an entrapment, a unit newly stopped or newly flagged for
-- overhaul, a unit gone silent, a contractor's rejection rate jumping), and the webhooks that carry
-- them out. Field systems' rule against duplicate alarms: one open alert per subject and kind until
-- it clears; a repeat while it is open counts on the open alert instead of making a new one.

CREATE TABLE alert (
    alert_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL
                   CHECK (kind IN ('entrapment', 'stopped', 'replace_or_overhaul', 'silent',
                                   'rejection_rate')),
    -- The unit, or for a contractor's rejection rate the contractor: what "one open alert" counts.
    subject        text NOT NULL,
    unit_id        text REFERENCES unit,
    contractor_id  text NOT NULL REFERENCES contractor,
    occurred_at    timestamptz NOT NULL,
    opened_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    occurrences    integer NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    detail         jsonb NOT NULL DEFAULT '{}',
    cleared_at     timestamptz,
    cleared_by     text,
    CHECK ((kind = 'rejection_rate') = (unit_id IS NULL)),
    CHECK (subject = coalesce(unit_id, contractor_id)),
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL))
);
CREATE UNIQUE INDEX alert_open_idx ON alert (kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX alert_unit_idx ON alert (unit_id, opened_at DESC);
CREATE INDEX alert_opened_idx ON alert (opened_at DESC, alert_id DESC);

-- The events that raised or repeated an alert: a re-delivered message finds its event here and
-- counts nothing twice.
CREATE TABLE alert_source_event (
    event_id  uuid PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alert ON DELETE CASCADE
);

-- Outbound webhooks, each bound to a scope like a token: it receives the alerts that scope sees.
-- The secret signs each delivery (HMAC-SHA256), so it is kept readable; it is shown once.
CREATE TABLE webhook (
    webhook_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url          text NOT NULL CHECK (url ~ '^https?://'),
    secret       text NOT NULL CHECK (length(secret) >= 16),
    role         text NOT NULL CHECK (role IN ('admin', 'bureau', 'street_office', 'contractor')),
    bound_to     text,
    kinds        text[] NOT NULL DEFAULT '{}',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz,
    CHECK ((role = 'admin') = (bound_to IS NULL))
);

-- One delivery per webhook, alert and change (opened, cleared), retried with backoff until it is
-- delivered or given up; every attempt is logged.
CREATE TABLE webhook_delivery (
    delivery_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhook ON DELETE CASCADE,
    alert_id         bigint NOT NULL REFERENCES alert ON DELETE CASCADE,
    change           text NOT NULL CHECK (change IN ('opened', 'cleared')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    gave_up_at       timestamptz,
    UNIQUE (webhook_id, alert_id, change)
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

CREATE TABLE webhook_attempt (
    delivery_id   bigint NOT NULL REFERENCES webhook_delivery ON DELETE CASCADE,
    attempt       integer NOT NULL CHECK (attempt >= 1),
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    error         text,
    duration_ms   double precision NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Whether a scope (role, bound id) sees an alert: a unit's alert by the unit's place, a
-- contractor's alert by the contractor itself or by any unit it maintains in the scope.
CREATE FUNCTION alert_in_scope(a alert, role text, bound text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN role = 'admin' THEN true
        WHEN a.unit_id IS NULL AND role = 'contractor' THEN a.contractor_id = bound
        ELSE EXISTS (
            SELECT 1 FROM unit_place p
            WHERE (p.unit_id = a.unit_id OR (a.unit_id IS NULL AND p.contractor_id = a.contractor_id))
              AND CASE role
                  WHEN 'bureau' THEN p.district_id = bound
                  WHEN 'street_office' THEN p.street_office_id = bound
                  ELSE p.contractor_id = bound
              END)
    END
$$;

-- Any writer that opens or clears an alert queues its webhook deliveries in the same transaction.
CREATE FUNCTION alert_queue_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_delivery (webhook_id, alert_id, change)
    SELECT w.webhook_id, NEW.alert_id,
           CASE WHEN TG_OP = 'INSERT' THEN 'opened' ELSE 'cleared' END
    FROM webhook w
    WHERE w.disabled_at IS NULL
      AND (cardinality(w.kinds) = 0 OR NEW.kind = ANY (w.kinds))
      AND alert_in_scope(NEW, w.role, w.bound_to)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER alert_opened AFTER INSERT ON alert
    FOR EACH ROW EXECUTE FUNCTION alert_queue_deliveries();
CREATE TRIGGER alert_cleared AFTER UPDATE OF cleared_at ON alert
    FOR EACH ROW WHEN (OLD.cleared_at IS NULL AND NEW.cleared_at IS NOT NULL)
    EXECUTE FUNCTION alert_queue_deliveries();
