-- The audit trail. event_id is assigned by DataStorage before the first write attempt, so a
-- dead-letter replay of the same event hits the primary key and is skipped (ON CONFLICT DO NOTHING).
CREATE TABLE IF NOT EXISTS audit_events (
    event_id        UUID        PRIMARY KEY,
    version         TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    event_timestamp TIMESTAMPTZ NOT NULL,
    event_category  TEXT        NOT NULL,
    event_action    TEXT        NOT NULL,
    event_outcome   TEXT        NOT NULL CHECK (event_outcome IN ('success', 'failure', 'pending')),
    correlation_id  TEXT        NOT NULL,
    event_data      JSONB       NOT NULL CHECK (jsonb_typeof(event_data) = 'object'),
    actor_type      TEXT,
    actor_id        TEXT,
    resource_type   TEXT,
    resource_id     TEXT,
    namespace       TEXT,
    duration_ms     BIGINT      CHECK (duration_ms IS NULL OR duration_ms >= 0),
    error_code      TEXT,
    error_message   TEXT,
    stored_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Lookups are "the events of one remediation" and "events of a type", both newest first, and
-- time windows; each index ends with the sort key so LIMIT/OFFSET pages need no sort.
CREATE INDEX IF NOT EXISTS audit_events_correlation_id_idx ON audit_events (correlation_id, event_timestamp DESC);
CREATE INDEX IF NOT EXISTS audit_events_event_type_idx ON audit_events (event_type, event_timestamp DESC);
CREATE INDEX IF NOT EXISTS audit_events_event_timestamp_idx ON audit_events (event_timestamp DESC);
