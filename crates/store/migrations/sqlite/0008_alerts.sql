-- Alerts: a rule's finding on a scope opens an alert (firing → resolved). At most one
-- alert per (rule, scope) fires at a time; the partial unique index enforces it, so a
-- second firing insert is an error rather than a silent duplicate.
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    rule_id      TEXT NOT NULL,
    scope        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    fired_ms     INTEGER NOT NULL,
    resolved_ms  INTEGER,
    last_seen_ms INTEGER NOT NULL,
    value        REAL NOT NULL,
    threshold    REAL NOT NULL,
    message      TEXT NOT NULL,
    acked_ms     INTEGER,
    acked_by     TEXT,
    suppressed   TEXT
);
CREATE UNIQUE INDEX alerts_one_firing ON alerts(rule_id, scope) WHERE state = 'firing';
-- Listing newest first (the rowid breaks ties within the index).
CREATE INDEX alerts_fired ON alerts(fired_ms);

-- Silences: no notifications for matching alerts until `until_ms` (NULL matches any).
CREATE TABLE alert_silences (
    id         INTEGER PRIMARY KEY,
    rule_id    TEXT,
    scope      TEXT,
    until_ms   INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

-- The notification outbox: one row per notification per channel, queued in the same
-- transaction as the alert change it announces. `alert_id` is 0 for test sends.
CREATE TABLE alert_deliveries (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    notification    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    sent_ms         INTEGER,
    created_ms      INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_ms);
CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);

-- Gateway actions the engine took (or would have, in dry-run).
CREATE TABLE alert_actions (
    id       INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    target   TEXT NOT NULL,
    request  TEXT NOT NULL,
    dry_run  INTEGER NOT NULL,
    ok       INTEGER NOT NULL,
    detail   TEXT NOT NULL,
    at_ms    INTEGER NOT NULL
);
CREATE INDEX alert_actions_at ON alert_actions(at_ms);

-- Rules added, changed or switched off through the API (the rule as JSON).
CREATE TABLE alert_rules (
    id         TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL
);

-- The engine's event cursor (store seq); 0 until it first runs.
INSERT INTO store_meta (key, value) VALUES ('alerts_seq', 0);
