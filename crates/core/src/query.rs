//! Query shapes shared by the store (which answers them) and the views (which ask).

use serde::Serialize;

use crate::model::Event;
use crate::report::UsageTotals;

/// Time and source limits for usage queries.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    /// Inclusive lower bound (epoch ms).
    pub since_ms: Option<i64>,
    /// Exclusive upper bound (epoch ms).
    pub until_ms: Option<i64>,
    /// Only this source (`openclaw`, `claude`).
    pub source: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Which rollup dimensions to keep apart; the others are summed by the store.
    pub keep: Dims,
}

/// Rollup dimensions a usage query keeps apart (the rest come back empty and summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dims {
    /// Bucket, source, agent, project, model.
    #[default]
    All,
    /// Bucket and model (period reports).
    BucketModel,
    /// Whole hour and model (period reports in whole-hour time zones: far fewer rows).
    /// An hour and model may come back once per source: callers sum rows that share a key.
    HourModel,
    /// Model only.
    Model,
    /// Project and model.
    ProjectModel,
    /// Agent and model.
    AgentModel,
    /// Agent, project and model (one pass for several breakdowns).
    AgentProjectModel,
}

/// How to order a session listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionOrder {
    /// Most recent activity first.
    #[default]
    LastActivity,
    /// Highest cost first.
    Cost,
    /// Most tokens first.
    Tokens,
    /// Most events first.
    Events,
    /// Most recently started first.
    FirstActivity,
    /// By session key, A to Z.
    Key,
}

/// Session listing filter.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Usage limits (time window applies to last activity).
    pub usage: UsageFilter,
    /// Substring of the session key, label or session id.
    pub key_contains: Option<String>,
    /// Only children of this session.
    pub parent: Option<String>,
    /// Only sessions on this channel.
    pub channel: Option<String>,
    /// Only sessions that used this model.
    pub model: Option<String>,
    /// Only sessions with this stored gateway status.
    pub status: Option<String>,
    /// Sessions whose key is in this list also match `key_contains` (full-text hits).
    pub also_keys: Vec<String>,
    /// Order.
    pub order: SessionOrder,
    /// Reverse the order (smallest / oldest / Z first).
    pub reverse: bool,
    /// Page size.
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
}

/// One session with its rolled-up usage and metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionSummary {
    /// Session key.
    pub session_key: String,
    /// Current session id.
    pub session_id: Option<String>,
    /// Source system.
    pub source: String,
    /// Agent.
    pub agent: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Parent session key (sub-agents).
    pub parent_session_key: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Gateway status.
    pub status: Option<String>,
    /// First event (epoch ms).
    pub first_ms: i64,
    /// Last event (epoch ms).
    pub last_ms: i64,
    /// Events stored.
    pub events: u64,
    /// User messages.
    pub user_messages: u64,
    /// Model responses.
    pub assistant_messages: u64,
    /// Tool calls requested by the model.
    pub tool_calls: u64,
    /// Tool results returned.
    pub tool_results: u64,
    /// Tool results that failed.
    pub tool_errors: u64,
    /// Model responses that ended in an error.
    pub assistant_errors: u64,
    /// Sub-agents spawned.
    pub subagents: u64,
    /// Prompt size of the last model call (context used).
    pub context_used: Option<u64>,
    /// The model's context window.
    pub context_max: Option<u64>,
    /// Models used.
    pub models: Vec<String>,
    /// Usage and cost.
    #[serde(flatten)]
    pub totals: UsageTotals,
}

impl SessionSummary {
    /// JSON form: the fields plus `cost_source`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("cost_source".into(), self.totals.cost_source().into());
        }
        v
    }
}

/// Event listing filter.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this session.
    pub session_key: Option<String>,
    /// Only these kinds (stored names).
    pub kinds: Vec<String>,
    /// Time window.
    pub since_ms: Option<i64>,
    /// Time window end (exclusive).
    pub until_ms: Option<i64>,
    /// Only events stored after this sequence number.
    pub after_seq: Option<i64>,
    /// Page size.
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
    /// Newest first (by time, then sequence) instead of oldest first; ignored with
    /// `after_seq`, which always reads in store order.
    pub newest_first: bool,
}

/// An event as stored, with its store sequence number.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoredEvent {
    /// Monotonic store sequence (insertion order).
    pub seq: i64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

/// A full-text search hit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchHit {
    /// Store sequence.
    pub seq: i64,
    /// Session key.
    pub session_key: String,
    /// Event kind.
    pub kind: String,
    /// When.
    pub ts_ms: i64,
    /// Highlighted snippet.
    pub snippet: String,
}

/// Store-wide counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreStats {
    /// Events stored.
    pub events: u64,
    /// Sessions known.
    pub sessions: u64,
    /// Newest event (epoch ms).
    pub last_event_ms: Option<i64>,
    /// Bytes on disk (0 in memory).
    pub size_bytes: u64,
    /// Schema version.
    pub schema_version: i64,
}
