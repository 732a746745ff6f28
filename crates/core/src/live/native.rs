//! The native event stream: newline-delimited JSON envelopes pushed by a producer
//! (the design OpenClaw's structured event-stream API is heading for) → events.
//!
//! One envelope per line:
//! `{"type":"tool.call","ts":1795279770037,"session_key":"agent:main:main","agent_id":"main",
//!   "run_id":"r1","call_id":"c1","tool":"exec","args":{"command":"ls"}}`.
//! `ts` is epoch milliseconds or RFC 3339; camelCase field names are accepted too.
//! `call_id` pairs `tool.call` with `tool.output` / `tool.error` (the result gets the
//! call's tool name and the duration between them); `parent_session_key` on
//! `subagent.spawned` links the child session to its parent; `llm.reasoning` carries
//! reasoning tokens apart from `llm.tokens` (reasoning is a part of output, so it is
//! counted as output and shown as reasoning).

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::jsonutil::truncate;
use crate::model::{
    ErrorInfo, Event, EventKind, Merge, ModelRef, SessionMeta, SourceKind, Timing, Tokens, ToolInfo,
};

use super::{LiveOutput, Transient};

/// The envelope types this consumer understands.
pub const ENVELOPE_TYPES: [&str; 11] = [
    "agent.started",
    "agent.step_started",
    "agent.finished",
    "tool.call",
    "tool.output",
    "tool.error",
    "subagent.spawned",
    "subagent.output",
    "subagent.finished",
    "llm.tokens",
    "llm.reasoning",
];

/// One envelope as received.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Envelope {
    /// Envelope type (see [`ENVELOPE_TYPES`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// Producer-assigned id (optional; otherwise derived from the fields).
    pub id: Option<String>,
    /// When (epoch ms or RFC 3339).
    pub ts: Option<Value>,
    #[serde(alias = "sessionKey")]
    session_key: Option<String>,
    #[serde(alias = "sessionId")]
    session_id: Option<String>,
    #[serde(alias = "agentId", alias = "agent")]
    agent_id: Option<String>,
    #[serde(alias = "runId")]
    run_id: Option<String>,
    #[serde(alias = "parentSessionKey")]
    parent_session_key: Option<String>,
    #[serde(alias = "callId")]
    call_id: Option<String>,
    #[serde(alias = "name", alias = "toolName")]
    tool: Option<String>,
    #[serde(alias = "arguments")]
    args: Option<Value>,
    output: Option<Value>,
    error: Option<Value>,
    #[serde(alias = "exitCode")]
    exit_code: Option<i64>,
    step: Option<Value>,
    provider: Option<String>,
    model: Option<String>,
    #[serde(alias = "inputTokens")]
    input_tokens: Option<u64>,
    #[serde(alias = "outputTokens")]
    output_tokens: Option<u64>,
    #[serde(alias = "cacheReadTokens")]
    cache_read_tokens: Option<u64>,
    #[serde(alias = "cacheWriteTokens")]
    cache_write_tokens: Option<u64>,
    #[serde(alias = "reasoningTokens")]
    reasoning_tokens: Option<u64>,
    #[serde(alias = "contextTokens")]
    context_tokens: Option<u64>,
    #[serde(alias = "contextWindow")]
    context_window: Option<u64>,
    #[serde(alias = "costUsd")]
    cost_usd: Option<f64>,
    #[serde(alias = "stopReason")]
    stop_reason: Option<String>,
    text: Option<String>,
    status: Option<String>,
}

/// Why an envelope was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvelopeError {
    /// Not JSON, or not an object of the envelope shape.
    #[error("not a JSON envelope: {0}")]
    Json(String),
    /// A type this consumer does not know.
    #[error("unknown envelope type {0:?}")]
    UnknownType(String),
    /// A required field is missing.
    #[error("{kind} envelope without {field}")]
    Missing {
        /// Envelope type.
        kind: String,
        /// Missing field.
        field: &'static str,
    },
}

/// Calls remembered for pairing with their output (bounded).
const MAX_OPEN_CALLS: usize = 10_000;

/// Per-connection state: open tool calls by `call_id`.
#[derive(Debug, Default)]
pub struct NativeStream {
    calls: HashMap<String, (i64, Option<String>)>,
    order: VecDeque<String>,
}

fn ts_ms(v: Option<&Value>, now_ms: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(now_ms),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .unwrap_or(now_ms),
        _ => now_ms,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

fn step_str(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "0".into(),
    }
}

impl NativeStream {
    /// Parse one line and map it.
    pub fn line(&mut self, line: &str, now_ms: i64) -> Result<LiveOutput, EnvelopeError> {
        let env: Envelope =
            serde_json::from_str(line).map_err(|e| EnvelopeError::Json(e.to_string()))?;
        self.envelope(env, now_ms)
    }

    /// Map one envelope.
    pub fn envelope(&mut self, e: Envelope, now_ms: i64) -> Result<LiveOutput, EnvelopeError> {
        if !ENVELOPE_TYPES.contains(&e.kind.as_str()) {
            return Err(EnvelopeError::UnknownType(e.kind));
        }
        let missing = |field| EnvelopeError::Missing {
            kind: e.kind.clone(),
            field,
        };
        let session = e
            .session_key
            .clone()
            .ok_or_else(|| missing("session_key"))?;
        let ts = ts_ms(e.ts.as_ref(), now_ms);
        let run = e.run_id.clone().unwrap_or_default();
        let call = e.call_id.clone();
        let needs_call = e.kind.starts_with("tool.");
        if needs_call && call.is_none() {
            return Err(missing("call_id"));
        }
        let tail = match e.kind.as_str() {
            k if k.starts_with("tool.") => call.clone().unwrap_or_default(),
            "llm.tokens" | "llm.reasoning" | "agent.step_started" => step_str(&e.step),
            _ => String::new(),
        };
        let id = match &e.id {
            Some(id) => format!("ns:{id}"),
            None => format!("ns:{session}:{run}:{}:{tail}", e.kind),
        };
        let mut ev = Event {
            id,
            ts_ms: ts,
            source: Some(SourceKind::OpenClaw),
            agent: e
                .agent_id
                .clone()
                .or_else(|| crate::openclaw::agent_from_key(&session).map(str::to_string)),
            session_key: session.clone(),
            session_id: e.session_id.clone(),
            parent_session_key: e.parent_session_key.clone(),
            run_id: e.run_id.clone(),
            model: ModelRef {
                provider: e.provider.clone(),
                model: e.model.clone(),
                api: None,
            },
            stop_reason: e.stop_reason.clone(),
            merge: Merge::KeepFirst,
            ..Event::default()
        };
        let mut out = LiveOutput::default();
        match e.kind.as_str() {
            "agent.started" => ev.kind = Some(EventKind::RunStarted),
            "agent.finished" => {
                ev.kind = Some(EventKind::RunFinished);
                ev.error = e.error.as_ref().map(|v| error("run_error", v));
                if ev.error.is_some() {
                    ev.stop_reason.get_or_insert_with(|| "error".into());
                }
                ev.text = e.text.as_deref().map(|t| truncate(t, 2000));
            }
            "agent.step_started" => {
                out.transients.push(Transient {
                    kind: "live.step".into(),
                    ts_ms: ts,
                    session_key: Some(session),
                    agent: ev.agent.clone(),
                    run_id: e.run_id.clone(),
                    data: json!({"step": e.step}),
                });
                return Ok(out);
            }
            "tool.call" => {
                ev.kind = Some(EventKind::ToolCall);
                ev.tool = Some(ToolInfo {
                    name: e.tool.clone(),
                    call_id: call.clone(),
                    arguments: e.args.as_ref().map(|a| truncate(&a.to_string(), 8000)),
                    ..ToolInfo::default()
                });
                self.remember(call.unwrap_or_default(), ts, e.tool.clone());
            }
            "tool.output" | "tool.error" => {
                let failed = e.kind == "tool.error";
                let opened = call.as_ref().and_then(|c| self.calls.remove(c));
                ev.kind = Some(EventKind::ToolResult);
                let result = if failed { &e.error } else { &e.output };
                ev.tool = Some(ToolInfo {
                    name: e.tool.clone().or_else(|| opened.as_ref()?.1.clone()),
                    call_id: call,
                    result: result.as_ref().map(|v| truncate(&text_of(v), 2000)),
                    is_error: failed,
                    exit_code: e.exit_code,
                    ..ToolInfo::default()
                });
                if let Some((start, _)) = opened {
                    ev.timing = Timing::between(Some(start), Some(ts));
                }
                if failed {
                    ev.error = e.error.as_ref().map(|v| error("tool_error", v));
                }
            }
            "subagent.spawned" => {
                let parent = e
                    .parent_session_key
                    .clone()
                    .ok_or_else(|| missing("parent_session_key"))?;
                // Recorded in the parent, naming the child; the child's metadata
                // carries the link so the tree is exact.
                ev.kind = Some(EventKind::SubagentSpawned);
                ev.session_key = parent.clone();
                ev.parent_session_key = None;
                ev.text = e.text.clone();
                ev.attrs = Some(json!({"childSessionKey": session}).to_string());
                out.sessions.push(SessionMeta {
                    session_key: session,
                    source: Some(SourceKind::OpenClaw),
                    agent: ev.agent.clone(),
                    parent_session_key: Some(parent.clone()),
                    spawned_by: Some(parent),
                    created_via: Some("spawn".into()),
                    created_ms: Some(ts),
                    updated_ms: Some(ts),
                    ..SessionMeta::default()
                });
            }
            "subagent.output" => {
                ev.kind = Some(EventKind::Other);
                ev.text = e
                    .text
                    .as_deref()
                    .or(e.output.as_ref().and_then(Value::as_str))
                    .map(|t| truncate(t, 8000));
                ev.attrs = Some(json!({"type": "subagent.output"}).to_string());
                ev.id = format!("{}:{ts}", ev.id);
            }
            "subagent.finished" => {
                ev.kind = Some(EventKind::SubagentFinished);
                ev.error = e.error.as_ref().map(|v| error("subagent_error", v));
                ev.stop_reason = e.status.clone().or(ev.stop_reason);
                ev.text = e.text.as_deref().map(|t| truncate(t, 2000));
            }
            "llm.tokens" => {
                ev.kind = Some(EventKind::AssistantMessage);
                ev.tokens = Tokens {
                    input: e.input_tokens.unwrap_or(0),
                    output: e.output_tokens.unwrap_or(0),
                    cache_read: e.cache_read_tokens.unwrap_or(0),
                    cache_write: e.cache_write_tokens.unwrap_or(0),
                    ..Tokens::default()
                };
                ev.context_used = e.context_tokens;
                ev.context_max = e.context_window;
                if let Some(c) = e.cost_usd {
                    ev.cost.total = Some(c);
                    ev.cost.source = crate::model::CostSource::Reported;
                }
                ev.merge = Merge::KeepLargestUsage;
            }
            "llm.reasoning" => {
                let n = e.reasoning_tokens.unwrap_or(0);
                ev.kind = Some(EventKind::AssistantMessage);
                ev.tokens = Tokens {
                    output: n,
                    reasoning: n,
                    ..Tokens::default()
                };
                ev.thinking = e.text.as_deref().map(|t| truncate(t, 8000));
                ev.attrs = Some(json!({"type": "llm.reasoning"}).to_string());
                ev.merge = Merge::KeepLargestUsage;
            }
            _ => unreachable!("checked against ENVELOPE_TYPES"),
        }
        out.events.push(ev);
        Ok(out)
    }

    fn remember(&mut self, call: String, ts: i64, tool: Option<String>) {
        if self.calls.insert(call.clone(), (ts, tool)).is_none() {
            self.order.push_back(call);
        }
        while self.order.len() > MAX_OPEN_CALLS {
            if let Some(old) = self.order.pop_front() {
                self.calls.remove(&old);
            }
        }
    }
}

fn error(kind: &str, v: &Value) -> ErrorInfo {
    ErrorInfo {
        kind: kind.into(),
        message: Some(truncate(&text_of(v), 2000)),
        retriable: v.get("retriable").and_then(Value::as_bool),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(ns: &mut NativeStream, line: &str) -> LiveOutput {
        ns.line(line, 5).unwrap()
    }

    #[test]
    fn call_is_paired_with_output_and_error_by_call_id() {
        let mut ns = NativeStream::default();
        map(
            &mut ns,
            r#"{"type":"tool.call","ts":1000,"session_key":"agent:main:main","run_id":"r","call_id":"a","tool":"exec","args":{"command":"ls"}}"#,
        );
        map(
            &mut ns,
            r#"{"type":"tool.call","ts":1010,"session_key":"agent:main:main","run_id":"r","call_id":"b","tool":"read"}"#,
        );
        let err = map(
            &mut ns,
            r#"{"type":"tool.error","ts":1100,"session_key":"agent:main:main","run_id":"r","call_id":"b","error":"ENOENT"}"#,
        );
        let ok = map(
            &mut ns,
            r#"{"type":"tool.output","ts":1300,"sessionKey":"agent:main:main","runId":"r","callId":"a","output":"file.txt","exitCode":0}"#,
        );
        let e = &err.events[0];
        let t = e.tool.as_ref().unwrap();
        assert_eq!((t.name.as_deref(), t.is_error), (Some("read"), true));
        assert_eq!(e.timing.duration_ms, Some(90));
        assert_eq!(e.error.as_ref().unwrap().message.as_deref(), Some("ENOENT"));
        let o = &ok.events[0];
        let t = o.tool.as_ref().unwrap();
        assert_eq!(
            (t.name.as_deref(), t.is_error, t.exit_code),
            (Some("exec"), false, Some(0))
        );
        assert_eq!(o.timing.duration_ms, Some(300));
        assert_eq!(o.agent.as_deref(), Some("main"));
    }

    #[test]
    fn subagent_tree_and_reasoning_apart() {
        let mut ns = NativeStream::default();
        let sp = map(
            &mut ns,
            r#"{"type":"subagent.spawned","ts":"2026-11-21T10:00:00Z","session_key":"agent:main:subagent:x","parent_session_key":"agent:main:main","text":"do it"}"#,
        );
        assert_eq!(sp.events[0].session_key, "agent:main:main");
        assert_eq!(
            sp.sessions[0].parent_session_key.as_deref(),
            Some("agent:main:main")
        );
        assert_eq!(sp.events[0].ts_ms, 1_795_255_200_000);
        let r = map(
            &mut ns,
            r#"{"type":"llm.reasoning","session_key":"agent:main:subagent:x","run_id":"r","step":1,"reasoning_tokens":40,"text":"hmm"}"#,
        );
        let t = map(
            &mut ns,
            r#"{"type":"llm.tokens","session_key":"agent:main:subagent:x","run_id":"r","step":1,"input_tokens":100,"output_tokens":20}"#,
        );
        assert_eq!(r.events[0].tokens.reasoning, 40);
        assert_eq!(t.events[0].tokens.reasoning, 0);
        assert_eq!(t.events[0].tokens.output, 20);
        assert_ne!(r.events[0].id, t.events[0].id);
    }

    #[test]
    fn bad_envelopes_are_refused_with_reasons() {
        let mut ns = NativeStream::default();
        assert!(matches!(ns.line("{nope", 0), Err(EnvelopeError::Json(_))));
        assert_eq!(
            ns.line(r#"{"type":"weird","session_key":"k"}"#, 0).err(),
            Some(EnvelopeError::UnknownType("weird".into()))
        );
        assert!(matches!(
            ns.line(r#"{"type":"tool.call","session_key":"k"}"#, 0),
            Err(EnvelopeError::Missing {
                field: "call_id",
                ..
            })
        ));
        assert!(matches!(
            ns.line(r#"{"type":"agent.started"}"#, 0),
            Err(EnvelopeError::Missing {
                field: "session_key",
                ..
            })
        ));
    }

    #[test]
    fn same_envelope_twice_has_the_same_id() {
        let mut ns = NativeStream::default();
        let l = r#"{"type":"agent.started","ts":1,"session_key":"k","run_id":"r"}"#;
        assert_eq!(map(&mut ns, l).events[0].id, map(&mut ns, l).events[0].id);
    }
}
