-- clawscope store, SQLite backend, schema 1.
-- Every event is one row; `idh` (a 16-byte hash of the stable id; see 0010) makes inserts idempotent.
CREATE TABLE events (
    seq              INTEGER PRIMARY KEY,          -- insertion order; stream cursor
    idh              BLOB NOT NULL UNIQUE,          -- 16-byte hash of `id`
    id               TEXT NOT NULL,
    ts               INTEGER NOT NULL,              -- epoch ms UTC
    kind             TEXT NOT NULL,
    source           TEXT NOT NULL,
    gateway          TEXT,
    agent            TEXT,
    project          TEXT,
    session_key      TEXT NOT NULL,
    session_id       TEXT,
    parent_session_key TEXT,
    channel          TEXT,
    run_id           TEXT,
    message_id       TEXT,
    request_id       TEXT,
    provider         TEXT,
    model            TEXT,
    api              TEXT,
    input            INTEGER NOT NULL DEFAULT 0,
    output           INTEGER NOT NULL DEFAULT 0,
    cache_read       INTEGER NOT NULL DEFAULT 0,
    cache_write      INTEGER NOT NULL DEFAULT 0,
    cache_write_1h   INTEGER NOT NULL DEFAULT 0,
    reasoning        INTEGER NOT NULL DEFAULT 0,
    context_used     INTEGER,
    context_max      INTEGER,
    start_ms         INTEGER,
    end_ms           INTEGER,
    duration_ms      INTEGER,
    ttft_ms          INTEGER,
    tool_name        TEXT,
    tool_call_id     TEXT,
    tool_args        TEXT,
    tool_result      TEXT,
    tool_is_error    INTEGER,
    exit_code        INTEGER,
    error_kind       TEXT,
    error_message    TEXT,
    error_retriable  INTEGER,
    cost_input       REAL,
    cost_output      REAL,
    cost_cache_read  REAL,
    cost_cache_write REAL,
    cost_total       REAL,
    cost_source      TEXT NOT NULL,
    price_version    TEXT,
    stop_reason      TEXT,
    text             TEXT,
    thinking         TEXT,
    attrs            TEXT,
    merge            INTEGER NOT NULL,              -- 0 keep-first, 1 keep-largest-usage, 2 replace
    fp               INTEGER NOT NULL DEFAULT 0     -- content fingerprint for replace merges
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_session_ts ON events(session_key, ts);

-- Full-text index over message text (external content: the text lives in `events`).
CREATE VIRTUAL TABLE events_fts USING fts5(text, content='events', content_rowid='seq', tokenize='unicode61');

-- Usage rollup: one row per 15-minute bucket x source x agent x project x model.
CREATE TABLE usage_rollup (
    bucket          INTEGER NOT NULL,
    source          TEXT NOT NULL,
    agent           TEXT NOT NULL,
    project         TEXT NOT NULL,
    model           TEXT NOT NULL,
    input           INTEGER NOT NULL,
    output          INTEGER NOT NULL,
    cache_read      INTEGER NOT NULL,
    cache_write     INTEGER NOT NULL,
    reasoning       INTEGER NOT NULL,
    cost_total      REAL NOT NULL,
    cost_reported   REAL NOT NULL,
    cost_computed   REAL NOT NULL,
    entries         INTEGER NOT NULL,
    unpriced        INTEGER NOT NULL,
    PRIMARY KEY (bucket, source, agent, project, model)
) WITHOUT ROWID;

-- Session rollup: one row per session key.
CREATE TABLE session_rollup (
    session_key     TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    agent           TEXT,
    project         TEXT,
    session_id      TEXT,
    parent_session_key TEXT,
    first_ts        INTEGER NOT NULL,
    last_ts         INTEGER NOT NULL,
    events          INTEGER NOT NULL,
    user_messages   INTEGER NOT NULL,
    assistant_messages INTEGER NOT NULL,
    tool_calls      INTEGER NOT NULL,
    tool_results    INTEGER NOT NULL,
    tool_errors     INTEGER NOT NULL,
    assistant_errors INTEGER NOT NULL,
    subagents       INTEGER NOT NULL,
    input           INTEGER NOT NULL,
    output          INTEGER NOT NULL,
    cache_read      INTEGER NOT NULL,
    cache_write     INTEGER NOT NULL,
    reasoning       INTEGER NOT NULL,
    cost_total      REAL NOT NULL,
    cost_reported   REAL NOT NULL,
    cost_computed   REAL NOT NULL,
    unpriced        INTEGER NOT NULL,
    context_used    INTEGER,
    context_ts      INTEGER
);
CREATE INDEX session_rollup_last ON session_rollup(last_ts);
CREATE INDEX session_rollup_cost ON session_rollup(cost_total);
CREATE INDEX session_rollup_parent ON session_rollup(parent_session_key);

CREATE TABLE session_models (
    session_key TEXT NOT NULL,
    model       TEXT NOT NULL,
    PRIMARY KEY (session_key, model)
) WITHOUT ROWID;

-- What the sources know about sessions beside their transcripts.
CREATE TABLE sessions_meta (
    session_key     TEXT PRIMARY KEY,
    session_id      TEXT,
    source          TEXT,
    agent           TEXT,
    project         TEXT,
    parent_session_key TEXT,
    spawned_by      TEXT,
    label           TEXT,
    channel         TEXT,
    chat_type       TEXT,
    status          TEXT,
    created_via     TEXT,
    model           TEXT,
    provider        TEXT,
    context_max     INTEGER,
    created_ms      INTEGER,
    updated_ms      INTEGER
);

-- Source cursors (file offsets, SQLite seqs), written in the same transaction as the events they cover.
CREATE TABLE cursors (
    source_id   TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
);
