//! The normalized event model: one shape for everything every source describes.
//!
//! A superset of the OpenClaw Observatory event: identity, session, turn, tokens,
//! timing, model, tool, error, cost (with provenance) and an optional content payload.

use serde::{Deserialize, Serialize};

/// What happened. Stored as the dotted string from [`EventKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum EventKind {
    /// A session (transcript window) began.
    SessionStarted,
    /// The session switched model.
    ModelChanged,
    /// The session's thinking level changed.
    ThinkingLevelChanged,
    /// A user (or channel) message.
    UserMessage,
    /// One model response: carries usage and cost.
    AssistantMessage,
    /// The model asked for a tool.
    ToolCall,
    /// A tool returned (or failed).
    ToolResult,
    /// A sub-agent session was spawned.
    SubagentSpawned,
    /// A sub-agent run ended.
    SubagentFinished,
    /// The transcript was compacted.
    Compaction,
    /// A cron job definition (latest state).
    CronJob,
    /// One cron run.
    CronRun,
    /// One gateway task run (cli turn, cron run, sub-agent run).
    TaskRun,
    /// An agent run began (live: gateway WebSocket or native event stream).
    RunStarted,
    /// An agent run ended (stop reason or error in the event).
    RunFinished,
    /// A tool began executing (live).
    ToolStarted,
    /// A tool finished executing (live), with its duration.
    ToolFinished,
    /// A gateway log record (warnings and errors).
    Log,
    /// Anything else the source recorded (custom entries, resets, branch summaries).
    Other,
}

impl EventKind {
    /// Every kind, for parsing and listings.
    pub const ALL: [EventKind; 19] = [
        EventKind::SessionStarted,
        EventKind::ModelChanged,
        EventKind::ThinkingLevelChanged,
        EventKind::UserMessage,
        EventKind::AssistantMessage,
        EventKind::ToolCall,
        EventKind::ToolResult,
        EventKind::SubagentSpawned,
        EventKind::SubagentFinished,
        EventKind::Compaction,
        EventKind::CronJob,
        EventKind::CronRun,
        EventKind::TaskRun,
        EventKind::RunStarted,
        EventKind::RunFinished,
        EventKind::ToolStarted,
        EventKind::ToolFinished,
        EventKind::Log,
        EventKind::Other,
    ];

    /// The stable wire/storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SessionStarted => "session.started",
            EventKind::ModelChanged => "model.changed",
            EventKind::ThinkingLevelChanged => "thinking_level.changed",
            EventKind::UserMessage => "message.user",
            EventKind::AssistantMessage => "message.assistant",
            EventKind::ToolCall => "tool.call",
            EventKind::ToolResult => "tool.result",
            EventKind::SubagentSpawned => "subagent.spawned",
            EventKind::SubagentFinished => "subagent.finished",
            EventKind::Compaction => "compaction",
            EventKind::CronJob => "cron.job",
            EventKind::CronRun => "cron.run",
            EventKind::TaskRun => "task.run",
            EventKind::RunStarted => "run.started",
            EventKind::RunFinished => "run.finished",
            EventKind::ToolStarted => "tool.started",
            EventKind::ToolFinished => "tool.finished",
            EventKind::Log => "log",
            EventKind::Other => "other",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl From<EventKind> for &'static str {
    fn from(k: EventKind) -> Self {
        k.as_str()
    }
}

impl TryFrom<String> for EventKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EventKind::parse(&s).ok_or_else(|| format!("unknown event kind {s:?}"))
    }
}

/// Which system produced the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// An OpenClaw gateway (SQLite store, legacy JSONL, state DB).
    OpenClaw,
    /// Claude Code transcripts.
    Claude,
    /// OpenTelemetry (OTLP) spans from any instrumented app.
    Otel,
}

impl SourceKind {
    /// The stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::OpenClaw => "openclaw",
            SourceKind::Claude => "claude",
            SourceKind::Otel => "otel",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "openclaw" => Some(SourceKind::OpenClaw),
            "claude" => Some(SourceKind::Claude),
            "otel" => Some(SourceKind::Otel),
            _ => None,
        }
    }
}

/// Token counts of one model call. `total` is input + output + cache read + cache write;
/// reasoning tokens are a part of output, kept apart for display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens (reasoning included).
    pub output: u64,
    /// Tokens read from the prompt cache.
    pub cache_read: u64,
    /// Tokens written to the prompt cache (all TTLs).
    pub cache_write: u64,
    /// The part of `cache_write` known to be written with a 1-hour TTL.
    pub cache_write_1h: u64,
    /// Reasoning tokens (a part of output).
    pub reasoning: u64,
}

impl Tokens {
    /// input + output + cache read + cache write.
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_read + self.cache_write
    }

    /// The 5-minute (or unknown TTL) part of the cache writes.
    pub fn cache_write_5m(&self) -> u64 {
        self.cache_write.saturating_sub(self.cache_write_1h)
    }

    /// True when every count is zero.
    pub fn is_zero(&self) -> bool {
        self.total() == 0 && self.reasoning == 0
    }
}

/// Where a cost figure came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostSource {
    /// The event carries no usage, so no cost.
    #[default]
    None,
    /// The agent reported the cost itself (OpenClaw `usage.cost`, Claude Code `costUSD`).
    Reported,
    /// Computed by clawscope from a named price-table version.
    Computed,
    /// Tokens were used but no price is known for the model.
    Unpriced,
}

impl CostSource {
    /// The stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::None => "none",
            CostSource::Reported => "reported",
            CostSource::Computed => "computed",
            CostSource::Unpriced => "unpriced",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> CostSource {
        match s {
            "reported" => CostSource::Reported,
            "computed" => CostSource::Computed,
            "unpriced" => CostSource::Unpriced,
            _ => CostSource::None,
        }
    }
}

/// Cost of one event in USD, split in parts where known, with provenance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Input part.
    pub input: Option<f64>,
    /// Output part.
    pub output: Option<f64>,
    /// Cache-read part.
    pub cache_read: Option<f64>,
    /// Cache-write part.
    pub cache_write: Option<f64>,
    /// Total; `None` while unpriced.
    pub total: Option<f64>,
    /// Where the figure came from.
    pub source: CostSource,
    /// The price-table version used when `source` is `Computed`.
    pub price_version: Option<String>,
}

/// The model behind an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Provider id (`anthropic`, `openai`, an OpenClaw provider config id).
    pub provider: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// Wire API (`openai-completions`, `anthropic-messages`, ...).
    pub api: Option<String>,
}

/// Timing of an event, all epoch milliseconds or milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Start (epoch ms).
    pub start_ms: Option<i64>,
    /// End (epoch ms).
    pub end_ms: Option<i64>,
    /// Duration (ms).
    pub duration_ms: Option<i64>,
    /// Time to first token (ms).
    pub ttft_ms: Option<i64>,
}

impl Timing {
    /// A span from `start` to `end`, with its duration when both are known.
    pub fn between(start: Option<i64>, end: Option<i64>) -> Timing {
        Timing {
            start_ms: start,
            end_ms: end,
            duration_ms: start.zip(end).map(|(s, e)| e - s),
            ttft_ms: None,
        }
    }
}

/// A tool call or its result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Tool name (`exec`, `read`, `sessions_spawn`, `Bash`...).
    pub name: Option<String>,
    /// The call id pairing a call with its result.
    pub call_id: Option<String>,
    /// Arguments as JSON text.
    pub arguments: Option<String>,
    /// A bounded summary of the result.
    pub result: Option<String>,
    /// The tool reported failure.
    pub is_error: bool,
    /// Process exit code, when the tool ran a command.
    pub exit_code: Option<i64>,
}

/// An error attached to an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// `api_error`, `tool_error`, `timeout`, `context_overflow`, `cron_error`...
    pub kind: String,
    /// Human-readable message.
    pub message: Option<String>,
    /// Whether retrying may help, when known.
    pub retriable: Option<bool>,
}

/// How the store resolves two events with the same id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Merge {
    /// The first stored copy stays (immutable transcript entries).
    #[default]
    KeepFirst,
    /// The copy with the larger token total wins; ties keep the first (ccusage's rule).
    KeepLargestUsage,
    /// A changed copy replaces the stored one (state rows that evolve).
    Replace,
}

/// One normalized event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id: re-reading a source yields the same id, so ingest is idempotent.
    pub id: String,
    /// When it happened (epoch ms, UTC).
    pub ts_ms: i64,
    /// What happened.
    pub kind: Option<EventKind>,
    /// Which system produced it.
    pub source: Option<SourceKind>,
    /// Gateway or host id.
    pub gateway: Option<String>,
    /// Agent id (`main`, `ops`; `claude-code` for Claude Code).
    pub agent: Option<String>,
    /// Project (Claude Code project dir; OpenClaw project id).
    pub project: Option<String>,
    /// Session key (`agent:main:main`; the session id for Claude Code).
    pub session_key: String,
    /// Session (transcript window) id.
    pub session_id: Option<String>,
    /// Parent session key for sub-agents.
    pub parent_session_key: Option<String>,
    /// Channel (telegram, discord, webchat...).
    pub channel: Option<String>,
    /// Agent run id.
    pub run_id: Option<String>,
    /// Turn/message id (transcript entry id, Claude message id).
    pub message_id: Option<String>,
    /// Provider request id.
    pub request_id: Option<String>,
    /// Model.
    pub model: ModelRef,
    /// Tokens.
    pub tokens: Tokens,
    /// Context window used / max (tokens).
    pub context_used: Option<u64>,
    /// The model's context window.
    pub context_max: Option<u64>,
    /// Timing.
    pub timing: Timing,
    /// Tool call / result.
    pub tool: Option<ToolInfo>,
    /// Error.
    pub error: Option<ErrorInfo>,
    /// Cost with provenance.
    pub cost: Cost,
    /// Why the model stopped (`stop`, `toolUse`, `length`, `error`).
    pub stop_reason: Option<String>,
    /// Content payload (message text), if captured.
    pub text: Option<String>,
    /// Thinking text, if captured.
    pub thinking: Option<String>,
    /// Other attributes as a JSON object text (exit codes, child session keys, cron schedule...).
    pub attrs: Option<String>,
    /// How duplicates of this id are resolved.
    pub merge: Merge,
}

impl Event {
    /// The stored kind name (`other` when unset).
    pub fn kind_str(&self) -> &'static str {
        self.kind.unwrap_or(EventKind::Other).as_str()
    }

    /// Roughly how many bytes this event holds in memory (its struct, a flat allowance
    /// for the short strings, and the long ones in full): a bound for batching.
    pub fn approx_bytes(&self) -> usize {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let tool = self
            .tool
            .as_ref()
            .map_or(0, |t| len(&t.arguments) + len(&t.result));
        let error = self.error.as_ref().map_or(0, |e| len(&e.message));
        std::mem::size_of::<Event>()
            + 256
            + self.id.len()
            + len(&self.text)
            + len(&self.thinking)
            + len(&self.attrs)
            + tool
            + error
    }
}

/// Session metadata a source knows beside the transcript (OpenClaw SessionEntry,
/// session_windows; Claude Code project paths).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Session key.
    pub session_key: String,
    /// Current session (window) id.
    pub session_id: Option<String>,
    /// Source system.
    pub source: Option<SourceKind>,
    /// Agent id.
    pub agent: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Parent session key (sub-agents).
    pub parent_session_key: Option<String>,
    /// Who spawned it.
    pub spawned_by: Option<String>,
    /// Label / display name.
    pub label: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Chat type (direct, group, channel).
    pub chat_type: Option<String>,
    /// Gateway status (running, done, failed, killed, timeout).
    pub status: Option<String>,
    /// How it was created (operator, spawn, channel, cron...).
    pub created_via: Option<String>,
    /// Default model.
    pub model: Option<String>,
    /// Default provider.
    pub provider: Option<String>,
    /// The model's context window (tokens).
    pub context_max: Option<u64>,
    /// Created (epoch ms).
    pub created_ms: Option<i64>,
    /// Last update (epoch ms).
    pub updated_ms: Option<i64>,
}
