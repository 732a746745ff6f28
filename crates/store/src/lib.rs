//! clawscope-store: where normalized events live.
//!
//! [`Store`] is the backend-neutral contract the ingest pipeline writes through and
//! the views read through; [`sqlite::SqliteStore`] is the embedded default. A new
//! backend (PostgreSQL for fleets) is one more module implementing the trait.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod sqlite;

pub use clawscope_core::batch::Batch;
use clawscope_core::otel::{
    MetricInfo, PruneStats, SeriesQuery, SeriesResult, Telemetry, TelemetryStats, TraceDetail,
    TraceFilter, TraceSummary,
};
use clawscope_core::query::{
    EventFilter, SearchHit, SessionFilter, SessionSummary, StoreStats, StoredEvent, UsageFilter,
};
use clawscope_core::report::{UsageBucket, UsageEntry};
use clawscope_core::stats::{ActivityBucket, FlowEdge, ToolStat};

pub use alerts::{AlertChanges, AlertStore, DeliveryOutcome, NewAlert, ResolvedAlert, StoredRule};
pub use sqlite::SqliteStore;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// The store file was written by a newer clawscope.
    #[error("store schema version {found} is newer than this build supports ({supported}); upgrade clawscope")]
    TooNew {
        /// Version on disk.
        found: i64,
        /// Highest known here.
        supported: i64,
    },
    /// A directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Invalid query input.
    #[error("invalid query: {0}")]
    Invalid(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What applying a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyStats {
    /// New events.
    pub inserted: u64,
    /// Events that replaced a stored copy (larger usage, or changed state).
    pub updated: u64,
    /// Events already stored as they are.
    pub unchanged: u64,
}

/// The store contract. Event writes go through [`Store::apply`]; alert state goes
/// through its [`AlertStore`] half.
pub trait Store: AlertStore + Send {
    /// Apply a batch in one transaction: events, session metadata, cursors, rollups.
    fn apply(&mut self, batch: &Batch) -> Result<ApplyStats>;
    /// A source cursor's stored state.
    fn cursor(&self, source_id: &str) -> Result<Option<String>>;
    /// All cursors whose id starts with `prefix`.
    fn cursors_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>>;
    /// Usage rollup rows in a window (reports read these, not events). Exact for any bounds:
    /// the ends of a window that cover a rollup bucket in part are counted from events.
    fn usage_buckets(&self, filter: &UsageFilter) -> Result<Vec<UsageBucket>>;
    /// Individual usage entries in time order (for 5-hour blocks).
    fn usage_entries(&self, filter: &UsageFilter) -> Result<Vec<UsageEntry>>;
    /// Sessions with rolled-up usage.
    fn sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionSummary>>;
    /// Number of sessions matching a filter (ignores limit/offset).
    fn count_sessions(&self, filter: &SessionFilter) -> Result<u64>;
    /// One session by key.
    fn session(&self, key: &str) -> Result<Option<SessionSummary>>;
    /// Events matching a filter, in (ts, seq) order.
    fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>>;
    /// Full-text search over message text in a window (time, source, agent), newest
    /// first, at most `limit` hits; snippets have secrets masked (brings the text index
    /// up to date first).
    fn search(&self, query: &str, filter: &UsageFilter, limit: usize) -> Result<Vec<SearchHit>>;
    /// Sessions with text matching `query`, those with the most recently stored matches
    /// first, at most `limit` (brings the text index up to date first).
    fn text_sessions(&self, query: &str, limit: usize) -> Result<Vec<String>>;
    /// Bring the full-text index up to date with the stored events; returns rows indexed.
    fn index_text(&self) -> Result<u64>;
    /// Store-wide counters.
    fn stats(&self) -> Result<StoreStats>;
    /// The highest event sequence stored (0 when empty): where a follower starts.
    fn max_seq(&self) -> Result<i64>;
    /// Write OTLP telemetry in one transaction: spans (and the events they stand for,
    /// linked to known sessions, usage already seen in a transcript counted once),
    /// metric points with their increases, log records. Idempotent.
    fn apply_telemetry(&mut self, t: &Telemetry) -> Result<TelemetryStats>;
    /// Drop raw spans, metric points and logs older than `before_ms` (trace summaries
    /// and hourly metric rollups stay).
    fn prune_telemetry(&mut self, before_ms: i64) -> Result<PruneStats>;
    /// Traces, newest first.
    fn traces(&self, filter: &TraceFilter) -> Result<Vec<TraceSummary>>;
    /// One trace with its spans (tree order) and correlated logs.
    fn trace(&self, trace_id: &str) -> Result<Option<TraceDetail>>;
    /// A metric as grouped time series.
    fn metric_series(&self, q: &SeriesQuery) -> Result<SeriesResult>;
    /// Metric names known, with their kind, unit and series count.
    fn metric_names(&self) -> Result<Vec<MetricInfo>>;
    /// Per-tool calls, failures, duration percentiles and newest failure, most called
    /// first, from the whole history or from the UTC day holding `since_ms` on.
    fn tool_stats(&self, since_ms: Option<i64>) -> Result<Vec<ToolStat>>;
    /// Hourly activity from the hour holding `since_ms` to before `until_ms`, oldest
    /// first; only hours with something in them.
    fn activity(&self, since_ms: i64, until_ms: Option<i64>) -> Result<Vec<ActivityBucket>>;
    /// Channel → agent → model → tool flow edges, from the whole history or from the UTC
    /// day holding `since_ms` on.
    fn flow(&self, since_ms: Option<i64>) -> Result<Vec<FlowEdge>>;
    /// Hint that a large load into an empty store follows: a backend may defer
    /// secondary indexes until [`Store::end_bulk`]. Queries stay correct either way.
    fn begin_bulk(&mut self) -> Result<()> {
        Ok(())
    }
    /// End a bulk load: rebuild whatever `begin_bulk` deferred (a throw-away store that is
    /// queried once may leave it unbuilt).
    fn end_bulk(&mut self) -> Result<()> {
        Ok(())
    }
}
