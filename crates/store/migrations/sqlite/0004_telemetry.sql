-- OTLP telemetry: spans grouped into traces, metric series with their points and
-- hourly rollups, log records. Raw spans, points and logs expire (retention); trace
-- summaries and hourly metric rollups are kept.

-- Resource attribute sets, stored once.
CREATE TABLE otel_resources (
    id      INTEGER PRIMARY KEY,
    hash    BLOB NOT NULL UNIQUE,
    attrs   TEXT NOT NULL
);

CREATE TABLE spans (
    id              INTEGER PRIMARY KEY,
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    parent_span_id  TEXT,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    service         TEXT NOT NULL,
    start_ns        INTEGER NOT NULL,
    end_ns          INTEGER NOT NULL,
    is_error        INTEGER NOT NULL,
    status_message  TEXT,
    class           TEXT NOT NULL,
    session_hint    TEXT,
    session_key     TEXT,                       -- linked session (known key, or otel:<hint>)
    model           TEXT,
    provider        TEXT,
    tool_name       TEXT,
    input           INTEGER NOT NULL DEFAULT 0,
    output          INTEGER NOT NULL DEFAULT 0,
    cache_read      INTEGER NOT NULL DEFAULT 0,
    cache_write     INTEGER NOT NULL DEFAULT 0,
    reasoning       INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL,
    event_id        TEXT,                       -- the event its usage counts as (or matched)
    attrs           TEXT NOT NULL,
    resource_id     INTEGER NOT NULL REFERENCES otel_resources(id),
    events          TEXT,
    UNIQUE (trace_id, span_id)
);
CREATE INDEX spans_end ON spans(end_ns);
CREATE INDEX spans_session ON spans(session_key) WHERE session_key IS NOT NULL;

-- One row per trace, maintained as spans arrive; kept after its spans expire.
CREATE TABLE traces (
    trace_id        TEXT PRIMARY KEY,
    service         TEXT NOT NULL,
    name            TEXT NOT NULL,
    has_root        INTEGER NOT NULL,
    start_ns        INTEGER NOT NULL,
    end_ns          INTEGER NOT NULL,
    spans           INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    session_key     TEXT,
    input           INTEGER NOT NULL,
    output          INTEGER NOT NULL,
    cache_read      INTEGER NOT NULL,
    cache_write     INTEGER NOT NULL,
    reasoning       INTEGER NOT NULL,
    cost_usd        REAL NOT NULL
);
CREATE INDEX traces_start ON traces(start_ns);
CREATE INDEX traces_session ON traces(session_key) WHERE session_key IS NOT NULL;

-- Usage events stored from spans, so a transcript copy of the same call (or a second
-- span of the same call) is counted once.
CREATE TABLE otel_usage (
    seq         INTEGER PRIMARY KEY,            -- events.seq of the span's usage event
    ts          INTEGER NOT NULL,
    trace_id    TEXT NOT NULL,
    input       INTEGER NOT NULL,
    output      INTEGER NOT NULL,
    cache_read  INTEGER NOT NULL,
    cache_write INTEGER NOT NULL,
    model       TEXT
);
CREATE INDEX otel_usage_tokens ON otel_usage(input, output, ts);

-- A series is a metric name + service + point attributes. `last_*` is the newest
-- point, to turn cumulative values into increases as points arrive.
CREATE TABLE metric_series (
    id              INTEGER PRIMARY KEY,
    key             BLOB NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    unit            TEXT NOT NULL,
    cumulative      INTEGER NOT NULL,
    monotonic       INTEGER NOT NULL,
    service         TEXT NOT NULL,
    attrs           TEXT NOT NULL,
    bounds          TEXT,
    last_start_ns   INTEGER,
    last_time_ns    INTEGER,
    last_value      REAL,
    last_count      INTEGER,
    last_buckets    TEXT
);
CREATE INDEX metric_series_name ON metric_series(name);

CREATE TABLE metric_points (
    series_id       INTEGER NOT NULL,
    time_ns         INTEGER NOT NULL,
    start_ns        INTEGER NOT NULL,
    value           REAL NOT NULL,
    delta           REAL,                       -- increase since the previous point (sums, histograms)
    count           INTEGER,
    count_delta     INTEGER,
    bucket_deltas   TEXT,
    PRIMARY KEY (series_id, time_ns, start_ns)
) WITHOUT ROWID;
CREATE INDEX metric_points_time ON metric_points(time_ns);

CREATE TABLE metric_hourly (
    series_id       INTEGER NOT NULL,
    hour            INTEGER NOT NULL,           -- epoch ms
    delta           REAL NOT NULL,
    count_delta     INTEGER NOT NULL,
    last            REAL NOT NULL,
    last_time_ns    INTEGER NOT NULL,
    points          INTEGER NOT NULL,
    PRIMARY KEY (series_id, hour)
) WITHOUT ROWID;

CREATE TABLE otel_logs (
    id              INTEGER PRIMARY KEY,
    idh             BLOB NOT NULL UNIQUE,
    time_ns         INTEGER NOT NULL,
    severity_number INTEGER NOT NULL,
    severity_text   TEXT,
    body            TEXT NOT NULL,
    trace_id        TEXT,
    span_id         TEXT,
    service         TEXT NOT NULL,
    session_key     TEXT,
    attrs           TEXT NOT NULL
);
CREATE INDEX otel_logs_time ON otel_logs(time_ns);
CREATE INDEX otel_logs_trace ON otel_logs(trace_id) WHERE trace_id IS NOT NULL;
