//! Dashboard statistics: per-tool figures, hourly activity and the channel → agent →
//! model → tool flow. The store answers these from rollups kept at write time.

use serde::Serialize;

/// What one tool did over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolStat {
    /// Tool name (`unknown` when the source did not name it).
    pub tool: String,
    /// Calls: requested by a model (`tool.call`), or executions reported only by a live or
    /// OTLP source (`tool.finished` with no transcript copy of the same call).
    pub calls: u64,
    /// Calls that failed (tool results or finished executions marked as errors).
    pub errors: u64,
    /// Median duration (ms), estimated from a log-bucketed histogram.
    pub p50_ms: Option<i64>,
    /// 95th percentile duration (ms), estimated from the same histogram.
    pub p95_ms: Option<i64>,
    /// When the tool was last called: the newest tool call or execution report (epoch ms).
    pub last_ms: Option<i64>,
    /// The newest failure reported (by a tool result or an execution report).
    pub last_error: Option<ToolError>,
}

/// One tool failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolError {
    /// When (epoch ms).
    pub ts_ms: i64,
    /// The session it happened in.
    pub session_key: String,
    /// The error message or result text (at most about 300 characters).
    pub message: String,
}

/// Activity in one hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActivityBucket {
    /// Start of the hour (epoch ms, UTC).
    pub hour_ms: i64,
    /// Model responses (assistant messages).
    pub turns: u64,
    /// User messages.
    pub user_messages: u64,
    /// Tool calls (counted as in [`ToolStat::calls`]).
    pub tool_calls: u64,
    /// Model responses that ended in an error, plus failed tool calls.
    pub errors: u64,
}

/// One edge of the channel → agent → model → tool flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlowEdge {
    /// Kind of the source node: `channel`, `agent` or `model`.
    pub from_kind: String,
    /// Source node name (`unknown` when not known).
    pub from: String,
    /// Kind of the target node: `agent`, `model` or `tool`.
    pub to_kind: String,
    /// Target node name (`unknown` when not known).
    pub to: String,
    /// User messages (channel → agent), model responses (agent → model) or tool calls
    /// (model → tool).
    pub count: u64,
}
