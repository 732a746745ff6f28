//! Dashboard rollups (tool figures, hourly activity, flow edges), maintained like the
//! usage rollups: each applied event adds (or, when replaced, subtracts) its share to
//! in-memory deltas of the transaction, written as additive upserts at commit. Newest
//! times and the newest failure are kept when a copy is subtracted, as session bounds are.
//!
//! Tool calls are counted from `tool.call` events (the model's request; transcripts and
//! the native stream). A `tool.finished` event (gateway WebSocket, OTLP span) counts as a
//! call only while no `tool.call` of the same session and call id is stored: it is then
//! kept in `dash_tool_pending`, and the transcript copy withdraws it when it arrives. A
//! tool call that names no model is attributed to the model of its session's newest
//! model response (in the batch, else `dash_session_model`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::Transaction;

use clawscope_core::{Event, EventKind};

use crate::Result;

mod settle;
mod write;

pub(super) use write::backfill;

/// One UTC day (ms).
pub(super) const DAY_MS: i64 = 86_400_000;
/// One hour (ms).
pub(super) const HOUR_MS: i64 = 3_600_000;
/// The `day` of the rows that hold the whole history.
pub(super) const ALL_DAYS: i64 = i64::MAX;
/// The migration that creates these tables; its step counts stored events in.
pub(super) const MIGRATION: usize = 6;
/// Flow edge: user messages per channel and agent.
pub(super) const CHANNEL_AGENT: i64 = 0;
/// Flow edge: model responses per agent and model.
pub(super) const AGENT_MODEL: i64 = 1;
/// Flow edge: tool calls per model and tool.
pub(super) const MODEL_TOOL: i64 = 2;
/// Histogram buckets per doubling of the duration (bucket width 2^(1/6) ≈ 1.12).
pub(super) const STEPS_PER_DOUBLING: f64 = 6.0;
/// A transcript's tool call and an execution report are the same call when the call is
/// at most this long before the execution's end...
const CALL_BEFORE_MS: i64 = DAY_MS;
/// ...or at most this long after it (clock skew).
const CALL_AFTER_MS: i64 = 10 * 60_000;
/// Longest error message kept.
const MESSAGE_CHARS: usize = 300;
/// The name of whatever a source did not name.
const UNKNOWN: &str = "unknown";

/// The histogram bucket of a duration: 0 for less than 1 ms, else b with
/// 2^((b-1)/6) <= ms < 2^(b/6).
pub(super) fn latency_bucket(ms: i64) -> i64 {
    if ms < 1 {
        0
    } else {
        1 + ((ms as f64).log2() * STEPS_PER_DOUBLING).floor() as i64
    }
}

/// A hash of a number and some strings (xxh3, chained through the seed): the key the
/// in-memory deltas are kept under, so a key's strings are cloned only when it is new.
fn hash(n: i64, parts: &[&str]) -> u64 {
    parts.iter().fold(n as u64, |seed, p| {
        xxhash_rust::xxh3::xxh3_64_with_seed(p.as_bytes(), seed)
    })
}

/// The key of a call in `dash_tool_pending`: session key and call id.
fn call_key(session_key: &str, call_id: &str) -> i64 {
    hash(0, &[session_key, call_id]) as i64
}

/// A hasher for keys that are hashes already (used as they are) or small integers
/// (multiplied out): the in-memory deltas are hashed once, not twice.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map whose keys are hashes already (or small integers).
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Prehashed>>;

fn event_hash(id: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes()) as i64
}

fn name(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or(UNKNOWN)
}

fn tool_name(ev: &Event) -> &str {
    ev.tool
        .as_ref()
        .and_then(|t| t.name.as_deref())
        .unwrap_or(UNKNOWN)
}

/// What a failure says: the error message, else the result text, else the error kind.
fn error_message(ev: &Event) -> String {
    let err = ev.error.as_ref();
    let text = err
        .and_then(|e| e.message.as_deref())
        .filter(|m| !m.is_empty())
        .or_else(|| ev.tool.as_ref().and_then(|t| t.result.as_deref()))
        .or_else(|| err.map(|e| e.kind.as_str()))
        .unwrap_or("");
    text.chars().take(MESSAGE_CHARS).collect()
}

#[derive(Clone, Copy)]
struct ToolSums {
    calls: i64,
    errors: i64,
    last_ms: i64,
}

impl Default for ToolSums {
    fn default() -> Self {
        ToolSums {
            calls: 0,
            errors: 0,
            last_ms: i64::MIN,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct HourSums {
    turns: i64,
    users: i64,
    tools: i64,
    errors: i64,
}

struct Newest {
    ts: i64,
    session_key: String,
    message: String,
}

/// An execution reported by a live or OTLP source, settled at flush.
struct Finished {
    sign: i64,
    session_key: String,
    /// The call key and call id, when the source gave a call id.
    call: Option<(i64, String)>,
    event: i64,
    ts: i64,
    tool: String,
    model: Option<String>,
    is_error: bool,
    duration_ms: Option<i64>,
}

/// The share of a counted execution (also a row of `dash_tool_pending`).
struct Execution {
    ts: i64,
    tool: String,
    model: String,
    is_error: bool,
    duration_ms: Option<i64>,
}

/// Work that needs the database, done at flush in event order.
enum Deferred {
    Finished(Finished),
    /// A tool call without a model: the session's stored model is its model.
    Attribute {
        sign: i64,
        day: i64,
        session_key: String,
        tool: String,
    },
}

/// Deltas keyed by a hash of their key's parts (the key is cloned only when new).
type Deltas<K, V> = FastMap<u64, (K, V)>;

/// Day, edge kind, source and target of a flow edge.
type FlowKey = (i64, i64, String, String);

/// Pending dashboard rollup changes of one transaction.
#[derive(Default)]
pub(super) struct Dashboard {
    tools: Deltas<(i64, String), ToolSums>,
    latency: Deltas<(i64, String, i64), i64>,
    flow: Deltas<FlowKey, i64>,
    hours: FastMap<i64, HourSums>,
    errors: HashMap<String, Newest>,
    /// The newest model of each session in this batch, by a hash of its key.
    models: FastMap<u64, (String, String)>,
    /// Tool calls (call key, time) that may withdraw a counted execution of their call.
    calls: Vec<(i64, i64)>,
    deferred: Vec<Deferred>,
}

fn tool_slot<'a>(
    map: &'a mut Deltas<(i64, String), ToolSums>,
    day: i64,
    tool: &str,
) -> &'a mut ToolSums {
    &mut map
        .entry(hash(day, &[tool]))
        .or_insert_with(|| ((day, tool.to_string()), ToolSums::default()))
        .1
}

/// The newest model of a session in this batch.
fn model_of<'a>(models: &'a FastMap<u64, (String, String)>, session_key: &str) -> Option<&'a str> {
    let m = models.get(&hash(0, &[session_key]))?;
    Some(m.1.as_str())
}

fn add_edge(map: &mut Deltas<FlowKey, i64>, day: i64, edge: i64, src: &str, dst: &str, sign: i64) {
    map.entry(hash(day.wrapping_mul(4).wrapping_add(edge), &[src, dst]))
        .or_insert_with(|| ((day, edge, src.to_string(), dst.to_string()), 0))
        .1 += sign;
}

impl Dashboard {
    /// Count `ev` in (sign = 1) or out (sign = -1).
    pub(super) fn add(&mut self, ev: &Event, sign: i64) {
        let Some(kind) = ev.kind else { return };
        let ts = ev.ts_ms;
        let day = ts.div_euclid(DAY_MS);
        match kind {
            EventKind::UserMessage => {
                self.hour(ts).users += sign;
                let (channel, agent) = (name(&ev.channel), name(&ev.agent));
                add_edge(&mut self.flow, day, CHANNEL_AGENT, channel, agent, sign);
            }
            EventKind::AssistantMessage => {
                let h = self.hour(ts);
                h.turns += sign;
                if ev.error.is_some() {
                    h.errors += sign;
                }
                let (agent, model) = (name(&ev.agent), name(&ev.model.model));
                add_edge(&mut self.flow, day, AGENT_MODEL, agent, model, sign);
                if let Some(m) = ev.model.model.as_ref().filter(|_| sign > 0) {
                    let slot = self
                        .models
                        .entry(hash(0, &[&ev.session_key]))
                        .or_insert_with(|| (ev.session_key.clone(), String::new()));
                    if &slot.1 != m {
                        slot.1.clone_from(m);
                    }
                }
            }
            EventKind::ToolCall => {
                let tool = tool_name(ev);
                let t = tool_slot(&mut self.tools, day, tool);
                t.calls += sign;
                if sign > 0 {
                    t.last_ms = t.last_ms.max(ts);
                }
                self.hour(ts).tools += sign;
                let model = ev
                    .model
                    .model
                    .as_deref()
                    .or_else(|| model_of(&self.models, &ev.session_key));
                match model {
                    Some(m) => add_edge(&mut self.flow, day, MODEL_TOOL, m, tool, sign),
                    None => self.deferred.push(Deferred::Attribute {
                        sign,
                        day,
                        session_key: ev.session_key.clone(),
                        tool: tool.to_string(),
                    }),
                }
                let call = ev.tool.as_ref().and_then(|t| t.call_id.as_deref());
                if let Some(call) = call.filter(|_| sign > 0) {
                    self.calls.push((call_key(&ev.session_key, call), ts));
                }
            }
            EventKind::ToolResult => {
                let tool = tool_name(ev);
                if ev.tool.as_ref().is_some_and(|t| t.is_error) {
                    tool_slot(&mut self.tools, day, tool).errors += sign;
                    self.hour(ts).errors += sign;
                    self.newest_error(ev, tool, sign);
                }
                if let Some(d) = ev.timing.duration_ms {
                    let b = latency_bucket(d);
                    self.latency
                        .entry(hash(day.wrapping_mul(512).wrapping_add(b), &[tool]))
                        .or_insert_with(|| ((day, tool.to_string(), b), 0))
                        .1 += sign;
                }
            }
            EventKind::ToolFinished => self.finished(ev, sign),
            _ => {}
        }
    }

    fn hour(&mut self, ts: i64) -> &mut HourSums {
        self.hours.entry(ts.div_euclid(HOUR_MS)).or_default()
    }

    fn newest_error(&mut self, ev: &Event, tool: &str, sign: i64) {
        if sign < 0 {
            return;
        }
        let newer = self.errors.get(tool).is_none_or(|n| ev.ts_ms >= n.ts);
        if newer {
            let n = Newest {
                ts: ev.ts_ms,
                session_key: ev.session_key.clone(),
                message: error_message(ev),
            };
            self.errors.insert(tool.to_string(), n);
        }
    }

    /// An execution report: its time and failure are recorded now; whether it counts as a
    /// call is settled at flush.
    fn finished(&mut self, ev: &Event, sign: i64) {
        let tool = tool_name(ev);
        let is_error = ev.tool.as_ref().is_some_and(|t| t.is_error);
        if sign > 0 {
            let t = tool_slot(&mut self.tools, ev.ts_ms.div_euclid(DAY_MS), tool);
            t.last_ms = t.last_ms.max(ev.ts_ms);
        }
        if is_error {
            self.newest_error(ev, tool, sign);
        }
        let call = ev.tool.as_ref().and_then(|t| t.call_id.as_deref());
        let model = ev
            .model
            .model
            .as_deref()
            .or_else(|| model_of(&self.models, &ev.session_key))
            .map(str::to_string);
        self.deferred.push(Deferred::Finished(Finished {
            sign,
            session_key: ev.session_key.clone(),
            call: call.map(|c| (call_key(&ev.session_key, c), c.to_string())),
            event: event_hash(&ev.id),
            ts: ev.ts_ms,
            tool: tool.to_string(),
            model,
            is_error,
            duration_ms: ev.timing.duration_ms,
        }));
    }

    /// Count a settled execution in (sign = 1) or out (sign = -1).
    fn execution(&mut self, x: &Execution, sign: i64) {
        let day = x.ts.div_euclid(DAY_MS);
        let t = tool_slot(&mut self.tools, day, &x.tool);
        t.calls += sign;
        let h = self.hours.entry(x.ts.div_euclid(HOUR_MS)).or_default();
        h.tools += sign;
        if x.is_error {
            t.errors += sign;
            h.errors += sign;
        }
        if let Some(d) = x.duration_ms {
            let b = latency_bucket(d);
            self.latency
                .entry(hash(day.wrapping_mul(512).wrapping_add(b), &[&x.tool]))
                .or_insert_with(|| ((day, x.tool.clone(), b), 0))
                .1 += sign;
        }
        add_edge(&mut self.flow, day, MODEL_TOOL, &x.model, &x.tool, sign);
    }

    /// Entries held: what deferring these deltas over many transactions costs in memory.
    pub(super) fn held(&self) -> usize {
        self.tools.len()
            + self.latency.len()
            + self.flow.len()
            + self.hours.len()
            + self.errors.len()
            + self.models.len()
            + self.calls.len()
            + self.deferred.len()
    }

    /// Write the deltas.
    pub(super) fn flush(mut self, tx: &Transaction<'_>) -> Result<()> {
        let calls = std::mem::take(&mut self.calls);
        if !calls.is_empty() {
            self.withdraw(tx, &calls)?;
        }
        let deferred = std::mem::take(&mut self.deferred);
        if !deferred.is_empty() {
            self.settle(tx, deferred)?;
        }
        write::write(tx, &self)
    }
}
