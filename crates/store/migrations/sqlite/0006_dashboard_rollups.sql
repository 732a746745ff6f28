-- Dashboard rollups: tool figures, hourly activity and the channel -> agent -> model -> tool
-- flow, kept as additive deltas with every batch (like usage_rollup). `day` is the UTC day
-- number (epoch ms / 86400000); the row with day = 9223372036854775807 holds the whole
-- history, so an all-time answer reads a handful of rows. Existing events are counted into
-- these tables by the migration step that runs this file (same code as incremental writes).

-- Tool calls and failures per day and tool; last_ms is the newest call (-2^63: none).
CREATE TABLE dash_tool (
    day     INTEGER NOT NULL,
    tool    TEXT NOT NULL,
    calls   INTEGER NOT NULL,
    errors  INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (day, tool)
) WITHOUT ROWID;

-- Tool durations as a log-bucketed histogram (bucket b >= 1 holds [2^((b-1)/6), 2^(b/6)) ms,
-- bucket 0 holds 0 ms).
CREATE TABLE dash_tool_latency (
    day     INTEGER NOT NULL,
    tool    TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (day, tool, bucket)
) WITHOUT ROWID;

-- The newest failure of each tool.
CREATE TABLE dash_tool_error (
    tool        TEXT PRIMARY KEY,
    ts          INTEGER NOT NULL,
    session_key TEXT NOT NULL,
    message     TEXT NOT NULL
) WITHOUT ROWID;

-- Executions reported by a live or OTLP source (tool.finished) that are counted because no
-- transcript copy of the same call (session key + call id) was stored yet; the transcript's
-- tool.call withdraws them. `key` is a hash of session key and call id, `event` of the event id.
CREATE TABLE dash_tool_pending (
    key         INTEGER PRIMARY KEY,
    event       INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    tool        TEXT NOT NULL,
    model       TEXT NOT NULL,
    is_error    INTEGER NOT NULL,
    duration_ms INTEGER
);
CREATE INDEX dash_tool_pending_ts ON dash_tool_pending(ts);

-- Activity per hour (hour number: epoch ms / 3600000).
CREATE TABLE dash_activity (
    hour          INTEGER PRIMARY KEY,
    turns         INTEGER NOT NULL,
    user_messages INTEGER NOT NULL,
    tool_calls    INTEGER NOT NULL,
    errors        INTEGER NOT NULL
);

-- Flow edges per day: edge 0 channel -> agent (user messages), 1 agent -> model (model
-- responses), 2 model -> tool (tool calls).
CREATE TABLE dash_flow (
    day     INTEGER NOT NULL,
    edge    INTEGER NOT NULL,
    src     TEXT NOT NULL,
    dst     TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (day, edge, src, dst)
) WITHOUT ROWID;

-- The model of each session's newest model response, to attribute tool calls that do not
-- name their model.
CREATE TABLE dash_session_model (
    session_key TEXT PRIMARY KEY,
    model       TEXT NOT NULL
) WITHOUT ROWID;
