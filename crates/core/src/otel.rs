//! Telemetry received over OTLP, in the shapes the store keeps: spans (with the
//! normalized event a span stands for, when it stands for one), metric points as time
//! series, and log records. The receivers build these; the store links them to sessions.

use serde::Serialize;

use crate::model::{Event, Tokens};

/// What a span describes, by its name and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanClass {
    /// An agent run (`openclaw.run`, `invoke_agent`): a root that aggregates.
    Run,
    /// One model call (`openclaw.model.call`, `chat <model>` GenAI spans).
    ModelCall,
    /// A model usage record (`openclaw.model.usage`).
    Usage,
    /// A tool execution (`openclaw.tool.execution`, `execute_tool`).
    Tool,
    /// A shell command (`openclaw.exec`).
    Exec,
    /// A stuck-session report (`openclaw.session.stuck`).
    Stuck,
    /// Context assembly (`openclaw.context.assembled`).
    Context,
    /// Anything else.
    Other,
}

impl SpanClass {
    /// Every class.
    pub const ALL: [SpanClass; 8] = [
        SpanClass::Run,
        SpanClass::ModelCall,
        SpanClass::Usage,
        SpanClass::Tool,
        SpanClass::Exec,
        SpanClass::Stuck,
        SpanClass::Context,
        SpanClass::Other,
    ];

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<SpanClass> {
        SpanClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanClass::Run => "run",
            SpanClass::ModelCall => "model_call",
            SpanClass::Usage => "usage",
            SpanClass::Tool => "tool",
            SpanClass::Exec => "exec",
            SpanClass::Stuck => "stuck",
            SpanClass::Context => "context",
            SpanClass::Other => "other",
        }
    }
}

/// Span kind names, as stored.
pub const SPAN_KINDS: [&str; 6] = [
    "unspecified",
    "internal",
    "server",
    "client",
    "producer",
    "consumer",
];

/// The stored span kind name for `s` (`unspecified` when unknown).
pub fn span_kind(s: &str) -> &'static str {
    SPAN_KINDS
        .into_iter()
        .find(|k| *k == s)
        .unwrap_or("unspecified")
}

/// One span as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpanRecord {
    /// Trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// Span id, 16 lowercase hex digits.
    pub span_id: String,
    /// Parent span id (`None` for a root).
    pub parent_span_id: Option<String>,
    /// Span name.
    pub name: String,
    /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
    pub kind: &'static str,
    /// `service.name` of the resource.
    pub service: String,
    /// Start (epoch ns).
    pub start_ns: i64,
    /// End (epoch ns).
    pub end_ns: i64,
    /// The span's status was ERROR.
    pub is_error: bool,
    /// Status message or error category.
    pub status_message: Option<String>,
    /// What the span describes (`None` until classified).
    pub class: Option<SpanClass>,
    /// The session or conversation id the span names (raw, before linking).
    pub session_hint: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// Tool name.
    pub tool_name: Option<String>,
    /// Tokens the span reports (model calls and usage records only).
    pub tokens: Tokens,
    /// Cost the span reports (USD).
    pub cost_usd: Option<f64>,
    /// Span attributes as a JSON object.
    pub attrs: String,
    /// Resource attributes as a JSON object.
    pub resource: String,
    /// Span events as a JSON array, when there are any.
    pub events: Option<String>,
    /// The normalized event this span stands for (usage, tool, run), if any. Its
    /// `session_key` is provisional until the store links `session_hint`.
    #[serde(skip)]
    pub event: Option<Event>,
}

impl SpanRecord {
    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        (self.end_ns - self.start_ns) as f64 / 1e6
    }
}

/// How a metric's points are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A sum (counter or up-down counter).
    Sum,
    /// A gauge: each point is a reading.
    Gauge,
    /// A histogram with explicit buckets.
    Histogram,
    /// An exponential histogram (count and sum kept; buckets dropped).
    ExpHistogram,
    /// A summary (count and sum kept).
    Summary,
}

impl MetricKind {
    /// The stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Sum => "sum",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::ExpHistogram => "exp_histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// One metric data point with the identity of its series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricPoint {
    /// Metric name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Kind (`None` reads as a gauge).
    pub kind: Option<MetricKind>,
    /// Points are cumulative since `start_ns` (else deltas per interval).
    pub cumulative: bool,
    /// The sum only grows (counters).
    pub monotonic: bool,
    /// `service.name` of the resource.
    pub service: String,
    /// Point attributes as a JSON object with sorted keys (part of the series identity).
    pub attrs: String,
    /// Start of the accumulation (epoch ns; 0 when absent).
    pub start_ns: i64,
    /// When the point was taken (epoch ns).
    pub time_ns: i64,
    /// Value (sum or gauge value; a histogram's sum).
    pub value: f64,
    /// Histogram/summary count.
    pub count: Option<u64>,
    /// Explicit bucket bounds.
    pub bounds: Vec<f64>,
    /// Bucket counts (`bounds.len() + 1` of them).
    pub buckets: Vec<u64>,
}

/// One log record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LogRecord {
    /// When it happened (epoch ns; the observed time when absent).
    pub time_ns: i64,
    /// Severity number (1–24; 0 unspecified).
    pub severity_number: i32,
    /// Severity text.
    pub severity_text: Option<String>,
    /// Body as text (JSON for structured bodies).
    pub body: String,
    /// Correlated trace id.
    pub trace_id: Option<String>,
    /// Correlated span id.
    pub span_id: Option<String>,
    /// `service.name` of the resource.
    pub service: String,
    /// Attributes as a JSON object.
    pub attrs: String,
    /// The session or conversation id the record names (as received).
    pub session_hint: Option<String>,
    /// The session it was linked to (as stored).
    pub session_key: Option<String>,
}

/// Telemetry received in one request, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    /// Spans.
    pub spans: Vec<SpanRecord>,
    /// Metric points.
    pub points: Vec<MetricPoint>,
    /// Log records.
    pub logs: Vec<LogRecord>,
}

impl Telemetry {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.points.is_empty() && self.logs.is_empty()
    }

    /// Append another request's telemetry.
    pub fn extend(&mut self, other: Telemetry) {
        self.spans.extend(other.spans);
        self.points.extend(other.points);
        self.logs.extend(other.logs);
    }
}

/// What writing telemetry did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TelemetryStats {
    /// New spans.
    pub spans: u64,
    /// Spans already stored (a retried export).
    pub duplicate_spans: u64,
    /// New metric points.
    pub points: u64,
    /// New log records.
    pub logs: u64,
    /// Usage spans also seen in a transcript (counted once, from the transcript).
    pub usage_matched: u64,
    /// Normalized events stored from spans.
    pub events: u64,
}

/// Span listing filter.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    /// Only traces from this service.
    pub service: Option<String>,
    /// Root (or first) span name contains this.
    pub name: Option<String>,
    /// Started at or after (epoch ms).
    pub since_ms: Option<i64>,
    /// Started before (epoch ms).
    pub until_ms: Option<i64>,
    /// At least this long (ms).
    pub min_duration_ms: Option<f64>,
    /// Only traces with (true) or without (false) an error span.
    pub error: Option<bool>,
    /// Only traces linked to this session.
    pub session_key: Option<String>,
    /// Most rows returned.
    pub limit: usize,
}

/// One trace in a listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TraceSummary {
    /// Trace id.
    pub trace_id: String,
    /// Service of the root span (or the first span seen).
    pub service: String,
    /// Root span name (or the first span seen, until the root arrives).
    pub name: String,
    /// Earliest span start (epoch ms).
    pub start_ms: f64,
    /// Wall time from first start to last end (ms).
    pub duration_ms: f64,
    /// Spans stored.
    pub spans: u64,
    /// Spans with ERROR status.
    pub errors: u64,
    /// Linked session, when a span named a known one (else `otel:<id>`).
    pub session_key: Option<String>,
    /// Tokens reported by model spans.
    pub tokens: Tokens,
    /// Cost reported by spans (USD).
    pub cost_usd: f64,
}

/// A stored span read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoredSpan {
    /// The span.
    #[serde(flatten)]
    pub span: SpanRecord,
    /// Session it was linked to.
    pub session_key: Option<String>,
    /// Id of the normalized event the span's usage was counted as, or matched to.
    pub event_id: Option<String>,
    /// Depth in the span tree (0 for roots and orphans).
    pub depth: usize,
}

/// One trace: its summary, its spans in tree order (parents before children, siblings
/// by start time) and the log records that name it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TraceDetail {
    /// Summary.
    pub summary: TraceSummary,
    /// Spans still stored (expired ones are gone; the summary stays).
    pub spans: Vec<StoredSpan>,
    /// Correlated logs, in time order.
    pub logs: Vec<LogRecord>,
}

/// A metric known to the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricInfo {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// Series (distinct attribute sets and services).
    pub series: u64,
    /// Newest point (epoch ms).
    pub last_ms: Option<i64>,
}

/// Series query: one metric, grouped by an attribute, in fixed steps.
#[derive(Debug, Clone, Default)]
pub struct SeriesQuery {
    /// Metric name.
    pub name: String,
    /// Attribute to group by (point attributes, or `service`).
    pub group_by: Option<String>,
    /// Step (ms).
    pub step_ms: i64,
    /// From (epoch ms).
    pub since_ms: i64,
    /// Until (epoch ms).
    pub until_ms: i64,
}

/// One step of a series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeriesStep {
    /// Step start (epoch ms).
    pub t: i64,
    /// Sums: the increase in the step; gauges: the last reading; histograms: the sum.
    pub value: f64,
    /// Histograms: observations in the step.
    pub count: Option<u64>,
    /// Histograms: the bucket bounds and the observations per bucket in the step.
    pub bounds: Option<Vec<f64>>,
    /// Histogram bucket counts in the step.
    pub buckets: Option<Vec<u64>>,
}

/// One group's steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeriesGroup {
    /// The group's attribute value (`None` when ungrouped or absent).
    pub group: Option<String>,
    /// Steps with data, in time order.
    pub steps: Vec<SeriesStep>,
}

/// A series query's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeriesResult {
    /// Metric name.
    pub name: String,
    /// Kind of the metric (from its latest series).
    pub kind: Option<MetricKind>,
    /// Unit.
    pub unit: String,
    /// Whether raw points (`raw`) or hourly rollups (`hourly`) answered.
    pub resolution: &'static str,
    /// Groups.
    pub groups: Vec<SeriesGroup>,
}

/// What a retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneStats {
    /// Spans removed.
    pub spans: u64,
    /// Metric points removed.
    pub points: u64,
    /// Log records removed.
    pub logs: u64,
}
