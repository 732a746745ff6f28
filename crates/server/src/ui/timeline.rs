//! One stored event as a timeline row: text, folded thinking, tool calls paired with
//! their results, errors, tokens and cost. Every string is masked here and escaped by
//! the template.

use std::collections::HashMap;

use askama::Template;

use clawscope_core::model::{EventKind, ToolInfo};
use clawscope_core::query::StoredEvent;
use clawscope_core::redact::mask_event;

use super::fmt;
use super::rows::session_href;

/// Characters of text shown before "show all" folds the rest.
const SHOWN: usize = 1200;
/// Characters kept at most per text field.
const KEPT: usize = 20_000;

pub struct ToolView {
    pub name: String,
    pub call_id: String,
    pub arguments: String,
    pub result: Option<String>,
    pub is_error: bool,
    pub duration: String,
    pub exit_code: String,
}

pub struct EventRow {
    pub seq: i64,
    pub kind: &'static str,
    pub role: &'static str,
    pub css: String,
    pub time: String,
    pub when: String,
    pub head: String,
    pub rest: String,
    pub thinking: String,
    pub tool: Option<ToolView>,
    pub error: String,
    pub usage: String,
    pub cost: String,
    pub model: String,
    pub link: Option<(String, String)>,
    pub is_error: bool,
}

/// Rows for the fragment endpoint (live appends) and the page.
#[derive(Template)]
#[template(path = "_events.html")]
pub struct EventRows {
    pub rows: Vec<EventRow>,
}

fn role(k: Option<EventKind>) -> &'static str {
    match k {
        Some(EventKind::UserMessage) => "user",
        Some(EventKind::AssistantMessage) => "assistant",
        Some(EventKind::ToolCall) | Some(EventKind::ToolStarted) => "tool call",
        Some(EventKind::ToolResult) | Some(EventKind::ToolFinished) => "tool result",
        Some(EventKind::SubagentSpawned) => "sub-agent",
        Some(EventKind::SubagentFinished) => "sub-agent done",
        Some(EventKind::Compaction) => "compaction",
        Some(EventKind::ModelChanged) => "model",
        Some(EventKind::ThinkingLevelChanged) => "thinking level",
        Some(EventKind::SessionStarted) => "session",
        Some(EventKind::CronRun) | Some(EventKind::CronJob) => "cron",
        Some(EventKind::RunStarted) | Some(EventKind::RunFinished) => "run",
        Some(EventKind::Log) => "log",
        _ => "event",
    }
}

fn split(text: &str) -> (String, String) {
    let text = fmt::clip(text, KEPT);
    match text.char_indices().nth(SHOWN) {
        Some((i, _)) => (text[..i].to_string(), text[i..].to_string()),
        None => (text, String::new()),
    }
}

fn tool_view(t: &ToolInfo, duration_ms: Option<i64>) -> ToolView {
    ToolView {
        name: t.name.clone().unwrap_or_else(|| "tool".into()),
        call_id: t.call_id.clone().unwrap_or_default(),
        arguments: fmt::clip(t.arguments.as_deref().unwrap_or(""), KEPT),
        result: t.result.as_deref().map(|r| fmt::clip(r, KEPT)),
        is_error: t.is_error,
        duration: duration_ms.map(fmt::duration).unwrap_or_default(),
        exit_code: t.exit_code.map(|c| c.to_string()).unwrap_or_default(),
    }
}

/// Child session key named in a spawn event's attributes or result.
fn child_key(e: &clawscope_core::model::Event) -> Option<String> {
    let attrs: serde_json::Value = serde_json::from_str(e.attrs.as_deref()?).ok()?;
    ["child_session_key", "childSessionKey"]
        .iter()
        .find_map(|k| attrs.get(*k)?.as_str().map(str::to_string))
}

/// Timeline rows for `events`; tool results whose call is in the same list are folded
/// into the call's row.
pub fn rows(mut events: Vec<StoredEvent>, tz: chrono_tz::Tz) -> Vec<EventRow> {
    events.iter_mut().for_each(|e| mask_event(&mut e.event));
    let mut results: HashMap<String, usize> = HashMap::new();
    let mut calls: HashMap<String, usize> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let Some(id) = e.event.tool.as_ref().and_then(|t| t.call_id.clone()) else {
            continue;
        };
        match e.event.kind {
            Some(EventKind::ToolResult) => {
                results.insert(id, i);
            }
            Some(EventKind::ToolCall) => {
                calls.insert(id, i);
            }
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(events.len());
    for se in &events {
        let e = &se.event;
        let call_id = e.tool.as_ref().and_then(|t| t.call_id.as_deref());
        if e.kind == Some(EventKind::ToolResult) && call_id.is_some_and(|c| calls.contains_key(c)) {
            continue;
        }
        let mut tool = e.tool.as_ref().map(|t| tool_view(t, e.timing.duration_ms));
        if let (Some(tv), Some(EventKind::ToolCall)) = (tool.as_mut(), e.kind) {
            if let Some(r) = call_id
                .and_then(|c| results.get(c))
                .map(|&j| &events[j].event)
            {
                if let Some(rt) = &r.tool {
                    tv.result = rt.result.as_deref().map(|x| fmt::clip(x, KEPT));
                    tv.is_error = rt.is_error;
                    tv.exit_code = rt.exit_code.map(|c| c.to_string()).unwrap_or_default();
                }
                tv.duration = r.timing.duration_ms.map(fmt::duration).unwrap_or_default();
            }
        }
        let (head, rest) = split(e.text.as_deref().unwrap_or(""));
        let t = &e.tokens;
        let usage = if t.is_zero() {
            String::new()
        } else {
            format!(
                "in {} · cache read {} · cache write {} · out {}{}",
                fmt::int(t.input),
                fmt::int(t.cache_read),
                fmt::int(t.cache_write),
                fmt::int(t.output),
                if t.reasoning > 0 {
                    format!(" (reasoning {})", fmt::int(t.reasoning))
                } else {
                    String::new()
                }
            )
        };
        let cost = match e.cost.total {
            Some(c) => format!(
                "{} {}{}",
                fmt::money(c),
                e.cost.source.as_str(),
                e.cost
                    .price_version
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default()
            ),
            None if !t.is_zero() => e.cost.source.as_str().to_string(),
            None => String::new(),
        };
        let error = e
            .error
            .as_ref()
            .map(|er| match &er.message {
                Some(m) => format!("{}: {}", er.kind, fmt::clip(m, 2000)),
                None => er.kind.clone(),
            })
            .unwrap_or_default();
        let tool_failed = tool.as_ref().is_some_and(|t| t.is_error);
        let link = match e.kind {
            Some(EventKind::SubagentSpawned) | Some(EventKind::SubagentFinished) => {
                child_key(e).map(|k| (session_href(&k), k))
            }
            _ => None,
        };
        out.push(EventRow {
            seq: se.seq,
            kind: e.kind_str(),
            role: role(e.kind),
            css: role(e.kind).replace(' ', "-"),
            time: fmt::time(e.ts_ms, tz),
            when: fmt::datetime(e.ts_ms, tz),
            head,
            rest,
            thinking: fmt::clip(e.thinking.as_deref().unwrap_or(""), KEPT),
            is_error: !error.is_empty() || tool_failed,
            tool,
            error,
            usage,
            cost,
            model: e.model.model.clone().unwrap_or_default(),
            link,
        });
    }
    out
}
