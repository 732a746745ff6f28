//! OpenClaw transcript entries (one JSONL line, or one `transcript_events` row) → events.
//!
//! The same line format is used by the legacy `sessions/<id>.jsonl` files and the
//! `event_json` column of the SQLite store, so both layouts share this parser and
//! produce the same stable ids.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::jsonutil::{lenient_opt_u64, lenient_u64, timestamp_ms, truncate};
use crate::model::{
    Cost, CostSource, ErrorInfo, Event, EventKind, Merge, ModelRef, SourceKind, Timing, ToolInfo,
};
use crate::skip::SkipReason;

/// Longest tool result summary kept on an event.
pub const RESULT_SUMMARY_BYTES: usize = 2000;
/// Longest message text kept on an event.
pub const TEXT_BYTES: usize = 64 * 1024;

/// What the parser knows about the session a line belongs to, and what it
/// learned from earlier lines (the current model).
#[derive(Debug, Clone, Default)]
pub struct TranscriptState {
    /// Agent id (`main`).
    pub agent: Option<String>,
    /// Session key (`agent:main:main`).
    pub session_key: String,
    /// Session (window) id; also the transcript file stem.
    pub session_id: String,
    /// Parent session key for sub-agents.
    pub parent_session_key: Option<String>,
    /// Channel, if known from the session entry.
    pub channel: Option<String>,
    /// Gateway id.
    pub gateway: Option<String>,
    /// The model's context window, if known.
    pub context_max: Option<u64>,
    /// Provider from the last `model_change` / model snapshot.
    pub provider: Option<String>,
    /// Model from the last `model_change` / model snapshot.
    pub model: Option<String>,
    /// API from the last model snapshot.
    pub api: Option<String>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(borrow, default)]
    provider: Option<Cow<'a, str>>,
    #[serde(rename = "modelId", borrow, default)]
    model_id: Option<Cow<'a, str>>,
    #[serde(rename = "thinkingLevel", borrow, default)]
    thinking_level: Option<Cow<'a, str>>,
    #[serde(rename = "customType", borrow, default)]
    custom_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    summary: Option<Cow<'a, str>>,
    #[serde(rename = "tokensBefore", default, deserialize_with = "lenient_opt_u64")]
    tokens_before: Option<u64>,
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
    #[serde(default)]
    version: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    api: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    provider: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(rename = "modelId", borrow, default)]
    model_id: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(rename = "stopReason", borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(rename = "errorMessage", borrow, default)]
    error_message: Option<Cow<'a, str>>,
    #[serde(rename = "errorType", borrow, default)]
    error_type: Option<Cow<'a, str>>,
    #[serde(rename = "toolCallId", borrow, default)]
    tool_call_id: Option<Cow<'a, str>>,
    #[serde(rename = "toolName", borrow, default)]
    tool_name: Option<Cow<'a, str>>,
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
    #[serde(borrow, default)]
    details: Option<&'a RawValue>,
    #[serde(rename = "customType", borrow, default)]
    custom_type: Option<Cow<'a, str>>,
    #[serde(rename = "responseId", borrow, default)]
    response_id: Option<Cow<'a, str>>,
    #[serde(rename = "__openclaw", borrow, default)]
    openclaw: Option<OcMeta<'a>>,
}

#[derive(Deserialize)]
struct OcMeta<'a> {
    #[serde(rename = "runId", borrow, default)]
    run_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default, deserialize_with = "lenient_u64")]
    input: u64,
    #[serde(default, deserialize_with = "lenient_u64")]
    output: u64,
    #[serde(rename = "cacheRead", default, deserialize_with = "lenient_u64")]
    cache_read: u64,
    #[serde(rename = "cacheWrite", default, deserialize_with = "lenient_u64")]
    cache_write: u64,
    #[serde(rename = "reasoningTokens", default, deserialize_with = "lenient_u64")]
    reasoning: u64,
    #[serde(rename = "totalTokens", default, deserialize_with = "lenient_opt_u64")]
    total: Option<u64>,
    #[serde(default)]
    cost: Option<UsageCost>,
}

#[derive(Deserialize, Default)]
struct UsageCost {
    input: Option<f64>,
    output: Option<f64>,
    #[serde(rename = "cacheRead")]
    cache_read: Option<f64>,
    #[serde(rename = "cacheWrite")]
    cache_write: Option<f64>,
    total: Option<f64>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct ToolDetails<'a> {
    #[serde(rename = "durationMs", default, deserialize_with = "lenient_opt_u64")]
    duration_ms: Option<u64>,
    #[serde(rename = "exitCode", default)]
    exit_code: Option<i64>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "childSessionKey", borrow, default)]
    child_session_key: Option<Cow<'a, str>>,
    #[serde(rename = "runId", borrow, default)]
    run_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct NestedDetails<'a> {
    #[serde(rename = "toolName", borrow, default)]
    tool_name: Option<Cow<'a, str>>,
    #[serde(rename = "toolCallId", borrow, default)]
    tool_call_id: Option<Cow<'a, str>>,
    #[serde(rename = "parentToolCallId", borrow, default)]
    parent_tool_call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct ModelSnapshot<'a> {
    #[serde(borrow, default)]
    provider: Option<Cow<'a, str>>,
    #[serde(rename = "modelId", borrow, default)]
    model_id: Option<Cow<'a, str>>,
    #[serde(rename = "modelApi", borrow, default)]
    model_api: Option<Cow<'a, str>>,
}

/// Extracted text of a message `content` (a string or an array of blocks).
#[derive(Default)]
struct Content<'a> {
    text: String,
    thinking: String,
    tool_calls: Vec<Block<'a>>,
}

fn read_content<'a>(raw: Option<&'a RawValue>) -> Content<'a> {
    let mut out = Content::default();
    let Some(raw) = raw else { return out };
    let s = raw.get();
    if s.starts_with('"') {
        if let Ok(text) = serde_json::from_str::<Cow<'a, str>>(s) {
            out.text = text.into_owned();
        }
        return out;
    }
    let Ok(blocks) = serde_json::from_str::<Vec<Block<'a>>>(s) else {
        return out;
    };
    for b in blocks {
        match b.kind.as_deref() {
            Some("text") => push_text(&mut out.text, b.text.as_deref()),
            Some("thinking") => push_text(&mut out.thinking, b.thinking.as_deref()),
            Some("toolCall") | Some("tool_use") => out.tool_calls.push(b),
            _ => {}
        }
    }
    out
}

fn push_text(buf: &mut String, part: Option<&str>) {
    if let Some(p) = part.filter(|p| !p.is_empty()) {
        if !buf.is_empty() {
            buf.push('\n');
        }
        buf.push_str(p);
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn own(c: &Option<Cow<'_, str>>) -> Option<String> {
    c.as_deref().map(str::to_string)
}

fn attrs(pairs: &[(&str, serde_json::Value)]) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
}

impl TranscriptState {
    fn base_event(&self, id: String, ts_ms: i64, kind: EventKind) -> Event {
        Event {
            id,
            ts_ms,
            kind: Some(kind),
            source: Some(SourceKind::OpenClaw),
            gateway: self.gateway.clone(),
            agent: self.agent.clone(),
            session_key: self.session_key.clone(),
            session_id: Some(self.session_id.clone()),
            parent_session_key: self.parent_session_key.clone(),
            channel: self.channel.clone(),
            merge: Merge::KeepFirst,
            ..Event::default()
        }
    }

    fn set_model(&mut self, provider: Option<String>, model: Option<String>, api: Option<String>) {
        if provider.is_some() {
            self.provider = provider;
        }
        if model.is_some() {
            self.model = model;
        }
        if api.is_some() {
            self.api = api;
        }
    }

    /// Parse one transcript line and append its events to `out`.
    /// `fallback_ts_ms` dates entries that carry no timestamp (file mtime or row created_at).
    pub fn parse_line(
        &mut self,
        line: &[u8],
        fallback_ts_ms: Option<i64>,
        out: &mut Vec<Event>,
    ) -> Result<(), SkipReason> {
        let entry: Entry = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(_) if std::str::from_utf8(line).is_err() => return Err(SkipReason::InvalidUtf8),
            Err(_) => return Err(SkipReason::InvalidJson),
        };
        let msg_ts = entry
            .message
            .as_ref()
            .and_then(|m| m.timestamp)
            .and_then(timestamp_ms);
        let ts = msg_ts
            .or_else(|| entry.timestamp.and_then(timestamp_ms))
            .or(fallback_ts_ms)
            .ok_or(SkipReason::BadTimestamp)?;
        let entry_id = match entry.id.as_deref() {
            // Current gateways write UUIDs; older transcripts have 8-hex ids that do collide
            // within a long session, so those are qualified by the entry's own timestamp
            // (the same in both layouts, so ids stay stable).
            Some(id) if id.len() >= 32 => id.to_string(),
            Some(id) if !id.is_empty() => match entry.timestamp {
                Some(t) => format!("{id}@{}", t.get().trim_matches('"')),
                None => id.to_string(),
            },
            _ => format!("h{:016x}", xxhash_rust::xxh3::xxh3_64(line)),
        };
        let id = format!("oc:{}:{}", self.session_id, entry_id);
        match entry.kind.as_deref() {
            Some("session") => {
                let mut ev = self.base_event(id, ts, EventKind::SessionStarted);
                ev.attrs = attrs(&[
                    ("cwd", entry.cwd.as_deref().into()),
                    (
                        "version",
                        entry.version.clone().map(serde_json::Value::Number).into(),
                    ),
                ]);
                out.push(ev);
            }
            Some("model_change") => {
                self.set_model(own(&entry.provider), own(&entry.model_id), None);
                let mut ev = self.base_event(id, ts, EventKind::ModelChanged);
                ev.model = self.model_ref();
                out.push(ev);
            }
            Some("thinking_level_change") => {
                let mut ev = self.base_event(id, ts, EventKind::ThinkingLevelChanged);
                ev.text = own(&entry.thinking_level);
                out.push(ev);
            }
            Some("compaction") => {
                let mut ev = self.base_event(id, ts, EventKind::Compaction);
                ev.text = entry.summary.as_deref().map(|s| truncate(s, TEXT_BYTES));
                ev.context_used = entry.tokens_before;
                out.push(ev);
            }
            Some("message") => {
                let Some(msg) = entry.message else {
                    return Err(SkipReason::MissingField);
                };
                self.message(id, entry_id, ts, msg, out);
            }
            other => {
                if entry.custom_type.as_deref() == Some("model-snapshot") {
                    if let Some(data) = entry.data {
                        if let Ok(snap) = serde_json::from_str::<ModelSnapshot>(data.get()) {
                            self.set_model(
                                own(&snap.provider),
                                own(&snap.model_id),
                                own(&snap.model_api),
                            );
                        }
                    }
                }
                let mut ev = self.base_event(id, ts, EventKind::Other);
                ev.attrs = attrs(&[
                    ("type", other.into()),
                    ("customType", entry.custom_type.as_deref().into()),
                ]);
                ev.text = entry.summary.as_deref().map(|s| truncate(s, TEXT_BYTES));
                out.push(ev);
            }
        }
        Ok(())
    }

    fn model_ref(&self) -> ModelRef {
        ModelRef {
            provider: self.provider.clone(),
            model: self.model.clone(),
            api: self.api.clone(),
        }
    }

    fn message(
        &mut self,
        id: String,
        entry_id: String,
        ts: i64,
        msg: Message<'_>,
        out: &mut Vec<Event>,
    ) {
        let run_id = msg.openclaw.as_ref().and_then(|m| own(&m.run_id));
        match msg.role.as_deref() {
            Some("assistant") => self.assistant(id, entry_id, ts, msg, run_id, out),
            Some("toolResult") => {
                let content = read_content(msg.content);
                let details: ToolDetails = msg
                    .details
                    .and_then(|d| serde_json::from_str(d.get()).ok())
                    .unwrap_or_default();
                let is_error = msg.is_error.unwrap_or(false);
                let mut ev = self.base_event(id, ts, EventKind::ToolResult);
                ev.message_id = Some(entry_id.clone());
                ev.run_id = run_id;
                let summary = truncate(&content.text, RESULT_SUMMARY_BYTES);
                ev.tool = Some(ToolInfo {
                    name: own(&msg.tool_name),
                    call_id: own(&msg.tool_call_id),
                    arguments: None,
                    result: non_empty(summary.clone()),
                    is_error,
                    exit_code: details.exit_code,
                });
                ev.timing = Timing {
                    duration_ms: details.duration_ms.map(|d| d as i64),
                    end_ms: Some(ts),
                    ..Timing::default()
                };
                if is_error {
                    ev.error = Some(ErrorInfo {
                        kind: "tool_error".into(),
                        message: non_empty(summary),
                        retriable: None,
                    });
                }
                ev.attrs = attrs(&[("status", details.status.as_deref().into())]);
                let child = details.child_session_key.as_deref().map(str::to_string);
                let spawn_run = own(&details.run_id);
                let tool_name = own(&msg.tool_name);
                out.push(ev);
                if let Some(child) = child {
                    self.push_spawn(out, ts, &entry_id, child, spawn_run, tool_name);
                }
            }
            Some("custom") => {
                let mut ev = self.base_event(id, ts, EventKind::Other);
                ev.message_id = Some(entry_id.clone());
                ev.run_id = run_id;
                let nested: NestedDetails = msg
                    .details
                    .and_then(|d| serde_json::from_str(d.get()).ok())
                    .unwrap_or_default();
                let result_text = nested.result.map(result_text).unwrap_or_default();
                if nested.tool_name.is_some() {
                    ev.tool = Some(ToolInfo {
                        name: own(&nested.tool_name),
                        call_id: own(&nested.tool_call_id),
                        arguments: nested.input.map(|r| r.get().to_string()),
                        result: non_empty(truncate(&result_text, RESULT_SUMMARY_BYTES)),
                        is_error: false,
                        exit_code: None,
                    });
                }
                ev.attrs = attrs(&[
                    ("customType", msg.custom_type.as_deref().into()),
                    (
                        "parentToolCallId",
                        nested.parent_tool_call_id.as_deref().into(),
                    ),
                ]);
                let child = child_from_result(&result_text);
                let tool_name = own(&nested.tool_name);
                out.push(ev);
                if let Some((child, spawn_run)) = child {
                    self.push_spawn(out, ts, &entry_id, child, spawn_run, tool_name);
                }
            }
            role => {
                let content = read_content(msg.content);
                let kind = if role == Some("user") {
                    EventKind::UserMessage
                } else {
                    EventKind::Other
                };
                let mut ev = self.base_event(id, ts, kind);
                ev.message_id = Some(entry_id);
                ev.run_id = run_id;
                ev.text = non_empty(truncate(&content.text, TEXT_BYTES));
                if kind == EventKind::Other {
                    ev.attrs = attrs(&[("role", role.into())]);
                }
                out.push(ev);
            }
        }
    }

    fn push_spawn(
        &self,
        out: &mut Vec<Event>,
        ts: i64,
        entry_id: &str,
        child: String,
        run_id: Option<String>,
        tool_name: Option<String>,
    ) {
        // Named by the run when the result names it, so the state DB's row of the same
        // run is the same event.
        let id = match &run_id {
            Some(run) => super::subagent_spawn_id(run),
            None => format!("oc:{}:{}:spawn", self.session_id, entry_id),
        };
        let mut ev = self.base_event(id, ts, EventKind::SubagentSpawned);
        ev.message_id = Some(entry_id.to_string());
        ev.run_id = run_id;
        ev.attrs = attrs(&[
            ("childSessionKey", child.into()),
            ("tool", tool_name.into()),
        ]);
        out.push(ev);
    }

    fn assistant(
        &mut self,
        id: String,
        entry_id: String,
        ts: i64,
        msg: Message<'_>,
        run_id: Option<String>,
        out: &mut Vec<Event>,
    ) {
        let model = own(&msg.model_id).or_else(|| own(&msg.model));
        self.set_model(own(&msg.provider), model, own(&msg.api));
        let content = read_content(msg.content);
        let usage = msg.usage.unwrap_or_default();
        let mut ev = self.base_event(id.clone(), ts, EventKind::AssistantMessage);
        ev.message_id = Some(entry_id);
        ev.request_id = own(&msg.response_id);
        ev.run_id = run_id.clone();
        ev.model = self.model_ref();
        ev.tokens.input = usage.input;
        ev.tokens.output = usage.output;
        ev.tokens.cache_read = usage.cache_read;
        ev.tokens.cache_write = usage.cache_write;
        ev.tokens.reasoning = usage.reasoning;
        if ev.tokens.total() == 0 {
            // "If totalTokens is the only field, it is taken as output tokens."
            ev.tokens.output = usage.total.unwrap_or(0);
        }
        let prompt = usage.input + usage.cache_read + usage.cache_write;
        if prompt > 0 {
            ev.context_used = Some(prompt);
            ev.context_max = self.context_max;
        }
        if let Some(c) = usage.cost.filter(|c| c.total.is_some()) {
            ev.cost = Cost {
                input: c.input,
                output: c.output,
                cache_read: c.cache_read,
                cache_write: c.cache_write,
                total: c.total,
                source: CostSource::Reported,
                price_version: None,
            };
        }
        ev.stop_reason = own(&msg.stop_reason);
        if ev.stop_reason.as_deref() == Some("error") || msg.error_message.is_some() {
            ev.error = Some(ErrorInfo {
                kind: msg
                    .error_type
                    .as_deref()
                    .map(str::to_string)
                    .unwrap_or_else(|| "api_error".into()),
                message: own(&msg.error_message),
                retriable: None,
            });
        }
        ev.text = non_empty(truncate(&content.text, TEXT_BYTES));
        ev.thinking = non_empty(truncate(&content.thinking, TEXT_BYTES));
        let (message_id, model) = (ev.message_id.clone(), ev.model.clone());
        out.push(ev);
        for (i, call) in content.tool_calls.iter().enumerate() {
            let call_id = own(&call.id);
            let suffix = call_id.clone().unwrap_or_else(|| i.to_string());
            let mut tev = self.base_event(format!("{id}:call:{suffix}"), ts, EventKind::ToolCall);
            tev.message_id = message_id.clone();
            tev.run_id = run_id.clone();
            tev.model = model.clone();
            tev.tool = Some(ToolInfo {
                name: own(&call.name),
                call_id,
                arguments: call.arguments.map(|a| truncate(a.get(), TEXT_BYTES)),
                ..ToolInfo::default()
            });
            out.push(tev);
        }
    }
}

/// The text of a nested tool result `{content:[{type:text,text}]}`.
fn result_text(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    struct R<'a> {
        #[serde(borrow, default)]
        content: Option<&'a RawValue>,
    }
    serde_json::from_str::<R>(raw.get())
        .ok()
        .map(|r| read_content(r.content).text)
        .unwrap_or_default()
}

/// `childSessionKey` (and run id) from a spawn result text that holds JSON.
fn child_from_result(text: &str) -> Option<(String, Option<String>)> {
    #[derive(Deserialize)]
    struct Spawn {
        #[serde(rename = "childSessionKey")]
        child: Option<String>,
        #[serde(rename = "runId")]
        run_id: Option<String>,
    }
    let s: Spawn = serde_json::from_str(text.trim()).ok()?;
    s.child.map(|c| (c, s.run_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TranscriptState {
        TranscriptState {
            agent: Some("main".into()),
            session_key: "agent:main:main".into(),
            session_id: "s1".into(),
            context_max: Some(128_000),
            ..TranscriptState::default()
        }
    }

    #[test]
    fn assistant_with_tool_call_and_usage() {
        let line = br#"{"type":"message","id":"7d28","parentId":"1e38","timestamp":"2026-11-21T16:10:56.924Z","message":{"role":"assistant","content":[{"type":"thinking","thinking":"I should run exec.","thinkingSignature":"reasoning_content"},{"type":"toolCall","id":"call_1","name":"exec","arguments":{"command":"echo hi"}}],"api":"openai-completions","provider":"mock","model":"mock-model","usage":{"input":12877,"output":40,"cacheRead":16,"cacheWrite":0,"reasoningTokens":10,"totalTokens":12933,"cost":{"input":0.038631,"output":0.0006,"cacheRead":0.0000048,"cacheWrite":0,"total":0.0392358}},"stopReason":"toolUse","timestamp":1795277456860,"__openclaw":{"runId":"r1"}}}"#;
        let mut st = state();
        let mut out = Vec::new();
        st.parse_line(line, None, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        let call = &out[1];
        assert_eq!(call.kind, Some(EventKind::ToolCall));
        assert_eq!(call.id, "oc:s1:7d28@2026-11-21T16:10:56.924Z:call:call_1");
        let tool = call.tool.as_ref().unwrap();
        assert_eq!(tool.name.as_deref(), Some("exec"));
        assert_eq!(tool.arguments.as_deref(), Some(r#"{"command":"echo hi"}"#));
        let a = &out[0];
        assert_eq!(a.kind, Some(EventKind::AssistantMessage));
        assert_eq!(a.ts_ms, 1_795_277_456_860);
        assert_eq!(a.tokens.input, 12877);
        assert_eq!(a.tokens.total(), 12933);
        assert_eq!(a.tokens.reasoning, 10);
        assert_eq!(a.cost.total, Some(0.0392358));
        assert_eq!(a.cost.source, CostSource::Reported);
        assert_eq!(a.run_id.as_deref(), Some("r1"));
        assert_eq!(a.model.model.as_deref(), Some("mock-model"));
        assert_eq!(a.context_used, Some(12893));
        assert_eq!(a.thinking.as_deref(), Some("I should run exec."));
    }

    #[test]
    fn tool_result_error_and_duration() {
        let line = br#"{"type":"message","id":"51","timestamp":"2026-11-21T16:10:57.629Z","message":{"role":"toolResult","toolCallId":"call_1","toolName":"read","content":[{"type":"text","text":"File not found"}],"details":{"status":"error","durationMs":148,"exitCode":2},"isError":true,"timestamp":1795277457627}}"#;
        let mut out = Vec::new();
        state().parse_line(line, None, &mut out).unwrap();
        let r = &out[0];
        assert_eq!(r.kind, Some(EventKind::ToolResult));
        let t = r.tool.as_ref().unwrap();
        assert!(t.is_error);
        assert_eq!(t.call_id.as_deref(), Some("call_1"));
        assert_eq!(t.exit_code, Some(2));
        assert_eq!(r.timing.duration_ms, Some(148));
        assert_eq!(r.error.as_ref().unwrap().kind, "tool_error");
    }

    #[test]
    fn nested_spawn_links_child() {
        let line = br#"{"type":"message","id":"c1","timestamp":"2026-11-21T16:11:16.313Z","message":{"role":"custom","customType":"openclaw.nested-tool.v1","content":"","details":{"parentToolCallId":"call_4","toolCallId":"x:sessions_spawn:1","toolName":"sessions_spawn","input":{"task":"t"},"result":{"content":[{"type":"text","text":"{\"status\":\"accepted\",\"childSessionKey\":\"agent:main:subagent:77\",\"runId\":\"74de\"}"}]}},"timestamp":1795277476313}}"#;
        let mut out = Vec::new();
        state().parse_line(line, None, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].kind, Some(EventKind::Other));
        assert_eq!(
            out[0].tool.as_ref().unwrap().name.as_deref(),
            Some("sessions_spawn")
        );
        assert_eq!(out[1].kind, Some(EventKind::SubagentSpawned));
        assert!(out[1]
            .attrs
            .as_deref()
            .unwrap()
            .contains("agent:main:subagent:77"));
        assert_eq!(out[1].run_id.as_deref(), Some("74de"));
    }

    #[test]
    fn model_change_sets_model_for_later_messages() {
        let mut st = state();
        let mut out = Vec::new();
        st.parse_line(
            br#"{"type":"model_change","id":"m","timestamp":"2026-11-21T16:10:28.871Z","provider":"anthro","modelId":"claude-mock"}"#,
            None,
            &mut out,
        )
        .unwrap();
        st.parse_line(
            br#"{"type":"message","id":"a","timestamp":"2026-11-21T16:10:29.871Z","message":{"role":"assistant","content":[],"usage":{"input":5,"output":null,"cacheRead":1}}}"#,
            None,
            &mut out,
        )
        .unwrap();
        let a = out.last().unwrap();
        assert_eq!(a.model.provider.as_deref(), Some("anthro"));
        assert_eq!(a.model.model.as_deref(), Some("claude-mock"));
        assert_eq!(a.tokens.total(), 6);
        assert_eq!(a.cost.source, CostSource::None);
    }

    #[test]
    fn short_ids_are_qualified_by_timestamp() {
        let mut st = state();
        let mut out = Vec::new();
        let a = br#"{"type":"message","id":"8756fb8a","timestamp":"2026-11-12T16:13:16.654Z","message":{"role":"user","content":"a"}}"#;
        let b = br#"{"type":"message","id":"8756fb8a","timestamp":"2026-11-12T18:28:41.202Z","message":{"role":"user","content":"b"}}"#;
        st.parse_line(a, None, &mut out).unwrap();
        st.parse_line(b, None, &mut out).unwrap();
        st.parse_line(a, None, &mut out).unwrap();
        assert_ne!(
            out[0].id, out[1].id,
            "two messages sharing a short id stay apart"
        );
        assert_eq!(out[0].id, out[2].id, "the same line gives the same id");
    }

    #[test]
    fn bad_lines_are_classified() {
        let mut out = Vec::new();
        let mut st = state();
        assert_eq!(
            st.parse_line(b"{\"type\":\"mess", None, &mut out),
            Err(SkipReason::InvalidJson)
        );
        assert_eq!(
            st.parse_line(b"{\"type\":\"mess\xff\xfe\"}", None, &mut out),
            Err(SkipReason::InvalidUtf8)
        );
        assert_eq!(
            st.parse_line(br#"{"type":"message","id":"q"}"#, None, &mut out),
            Err(SkipReason::BadTimestamp)
        );
        assert!(out.is_empty());
    }
}
