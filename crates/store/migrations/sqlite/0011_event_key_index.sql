-- The uniqueness of event keys moves from an inline constraint (an index SQLite will not
-- let go of) to a named index, `events_idh`. A first bulk load into an empty store, holding
-- the file exclusively, drops it and deduplicates keys in memory instead: inserting a
-- random key into a large unique index on every row was about half the writer's time of a
-- big first import. The index is rebuilt, by sorting, when the load ends, and by `open`
-- if a load was cut short. Rows keep their `seq`, so the text index (keyed by seq) holds.
CREATE TABLE events_v11 (
    seq              INTEGER PRIMARY KEY,          -- insertion order; stream cursor
    idh              BLOB NOT NULL,                 -- event key (see 0010); unique by events_idh
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
-- (Columns named: a test may replay this on a table that later migrations widened.)
INSERT INTO events_v11 (seq, idh, id, ts, kind, source, gateway, agent, project, session_key, session_id,
    parent_session_key, channel, run_id, message_id, request_id, provider, model, api, input, output,
    cache_read, cache_write, cache_write_1h, reasoning, context_used, context_max, start_ms, end_ms,
    duration_ms, ttft_ms, tool_name, tool_call_id, tool_args, tool_result, tool_is_error, exit_code,
    error_kind, error_message, error_retriable, cost_input, cost_output, cost_cache_read,
    cost_cache_write, cost_total, cost_source, price_version, stop_reason, text, thinking, attrs,
    merge, fp)
  SELECT seq, idh, id, ts, kind, source, gateway, agent, project, session_key, session_id,
    parent_session_key, channel, run_id, message_id, request_id, provider, model, api, input, output,
    cache_read, cache_write, cache_write_1h, reasoning, context_used, context_max, start_ms, end_ms,
    duration_ms, ttft_ms, tool_name, tool_call_id, tool_args, tool_result, tool_is_error, exit_code,
    error_kind, error_message, error_retriable, cost_input, cost_output, cost_cache_read,
    cost_cache_write, cost_total, cost_source, price_version, stop_reason, text, thinking, attrs,
    merge, fp FROM events;
DROP TABLE events;
ALTER TABLE events_v11 RENAME TO events;
CREATE UNIQUE INDEX events_idh ON events(idh);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_session_ts ON events(session_key, ts);
CREATE INDEX events_transcript_usage ON events(input, output, ts)
    WHERE kind = 'message.assistant' AND source <> 'otel';
CREATE INDEX events_kind_cron_job ON events(ts) WHERE kind = 'cron.job';
CREATE INDEX events_kind_cron_run ON events(ts) WHERE kind = 'cron.run';
CREATE INDEX events_kind_task_run ON events(ts) WHERE kind = 'task.run';
CREATE INDEX events_kind_log ON events(ts) WHERE kind = 'log';
