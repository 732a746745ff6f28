//! `clawscope show SESSION`: a readable timeline.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{bail, Result};

use clawscope_core::query::{EventFilter, SessionFilter, SessionSummary, StoredEvent};
use clawscope_core::redact::mask_event;
use clawscope_core::{Event, EventKind};
use clawscope_store::Store;

use crate::args::ShowArgs;
use crate::commands::sessions::when;
use crate::context::Ctx;
use crate::render::{clean, num, usd};

/// Find a session by exact key, or a unique key/label fragment.
pub fn resolve(store: &dyn Store, wanted: &str) -> Result<SessionSummary> {
    if let Some(s) = store.session(wanted)? {
        return Ok(s);
    }
    let found = store.sessions(&SessionFilter {
        key_contains: Some(wanted.to_string()),
        limit: 11,
        ..SessionFilter::default()
    })?;
    match found.len() {
        0 => bail!("no session matches {wanted:?} (see `clawscope sessions`)"),
        1 => Ok(found.into_iter().next().unwrap_or_default()),
        _ => {
            let keys: Vec<_> = found
                .iter()
                .take(10)
                .map(|s| s.session_key.as_str())
                .collect();
            bail!(
                "{wanted:?} matches several sessions:\n  {}",
                keys.join("\n  ")
            )
        }
    }
}

fn tool_line(call: &Event, result: Option<&Event>, full: bool) -> String {
    let max = if full { usize::MAX / 2 } else { 120 };
    let t = call.tool.clone().unwrap_or_default();
    let mut s = format!(
        "  → {} {}",
        clean(t.name.as_deref().unwrap_or("?"), 40),
        clean(t.arguments.as_deref().unwrap_or(""), max)
    );
    match result.and_then(|r| r.tool.as_ref().map(|rt| (r, rt))) {
        Some((r, rt)) => {
            let mark = if rt.is_error { "✗ ERROR" } else { "✓" };
            let dur = r
                .timing
                .duration_ms
                .map(|d| format!(" {d} ms"))
                .unwrap_or_default();
            let exit = rt
                .exit_code
                .filter(|c| *c != 0)
                .map(|c| format!(" exit {c}"))
                .unwrap_or_default();
            s.push_str(&format!(
                "\n      {mark}{dur}{exit}  {}",
                clean(rt.result.as_deref().unwrap_or(""), max)
            ));
        }
        None => s.push_str("\n      … no result recorded"),
    }
    s
}

pub fn run(ctx: &Ctx, a: &ShowArgs, out: &mut impl Write) -> Result<()> {
    let window = a.now.window();
    let store = ctx.report_store(&window)?;
    let tz = ctx.timezone(&window)?;
    let s = resolve(store.as_ref(), &a.session)?;
    let mut events: Vec<StoredEvent> = store.events(&EventFilter {
        session_key: Some(s.session_key.clone()),
        ..EventFilter::default()
    })?;
    for e in &mut events {
        mask_event(&mut e.event);
    }
    if a.now.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &serde_json::json!({ "session": s.to_json(), "events": events }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}  agent {}  {} responses  {} tool calls ({} failed)  {} tokens  {} ({})",
        clean(&s.session_key, 100),
        s.agent.as_deref().unwrap_or("-"),
        s.assistant_messages,
        s.tool_calls,
        s.tool_errors,
        num(s.totals.total_tokens),
        usd(s.totals.cost_usd),
        s.totals.cost_source()
    )?;
    if let Some(p) = &s.parent_session_key {
        writeln!(out, "sub-agent of {}", clean(p, 100))?;
    }
    if let (Some(used), Some(max)) = (s.context_used, s.context_max) {
        writeln!(
            out,
            "context: {} of {} tokens ({:.0}%)",
            num(used),
            num(max),
            used as f64 * 100.0 / max.max(1) as f64
        )?;
    }
    writeln!(out)?;
    let results: HashMap<&str, &Event> = events
        .iter()
        .filter(|e| e.event.kind == Some(EventKind::ToolResult))
        .filter_map(|e| {
            e.event
                .tool
                .as_ref()?
                .call_id
                .as_deref()
                .map(|id| (id, &e.event))
        })
        .collect();
    let called: std::collections::HashSet<&str> = events
        .iter()
        .filter(|e| e.event.kind == Some(EventKind::ToolCall))
        .filter_map(|e| e.event.tool.as_ref()?.call_id.as_deref())
        .collect();
    for se in &events {
        let e = &se.event;
        let at = when(e.ts_ms, tz);
        match e.kind.unwrap_or(EventKind::Other) {
            EventKind::UserMessage => writeln!(
                out,
                "{at}  USER       {}",
                clean(e.text.as_deref().unwrap_or(""), 300)
            )?,
            EventKind::AssistantMessage => {
                let t = &e.tokens;
                writeln!(
                    out,
                    "{at}  ASSISTANT  {}  in {} out {} cache r {} w {}  {} ({}){}",
                    e.model.model.as_deref().unwrap_or("?"),
                    num(t.input),
                    num(t.output),
                    num(t.cache_read),
                    num(t.cache_write),
                    usd(e.cost.total.unwrap_or(0.0)),
                    e.cost.source.as_str(),
                    e.stop_reason
                        .as_deref()
                        .map(|r| format!("  [{r}]"))
                        .unwrap_or_default()
                )?;
                if let Some(th) = &e.thinking {
                    writeln!(out, "                     thinking: {}", clean(th, 200))?;
                }
                if let Some(tx) = &e.text {
                    writeln!(out, "                     {}", clean(tx, 400))?;
                }
                if let Some(err) = &e.error {
                    writeln!(
                        out,
                        "                     ERROR {}: {}",
                        err.kind,
                        clean(err.message.as_deref().unwrap_or(""), 300)
                    )?;
                }
            }
            EventKind::ToolCall => {
                let id = e
                    .tool
                    .as_ref()
                    .and_then(|t| t.call_id.as_deref())
                    .unwrap_or("");
                writeln!(out, "{}", tool_line(e, results.get(id).copied(), a.full))?;
            }
            EventKind::ToolResult => {
                let id = e
                    .tool
                    .as_ref()
                    .and_then(|t| t.call_id.as_deref())
                    .unwrap_or("");
                if !called.contains(id) {
                    let t = e.tool.clone().unwrap_or_default();
                    writeln!(
                        out,
                        "{at}  TOOL RESULT {} {}  {}",
                        t.name.as_deref().unwrap_or("?"),
                        if t.is_error { "✗ ERROR" } else { "✓" },
                        clean(t.result.as_deref().unwrap_or(""), 200)
                    )?;
                }
            }
            EventKind::SubagentSpawned => {
                let child = e
                    .attrs
                    .as_deref()
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
                    .and_then(|v| {
                        v.get("childSessionKey")
                            .and_then(|c| c.as_str())
                            .map(str::to_string)
                    })
                    .unwrap_or_default();
                writeln!(out, "{at}  SPAWN      sub-agent {}", clean(&child, 100))?;
            }
            EventKind::ModelChanged => writeln!(
                out,
                "{at}  model → {}/{}",
                e.model.provider.as_deref().unwrap_or("?"),
                e.model.model.as_deref().unwrap_or("?")
            )?,
            EventKind::Compaction => writeln!(
                out,
                "{at}  COMPACTION {}",
                clean(e.text.as_deref().unwrap_or(""), 200)
            )?,
            EventKind::TaskRun | EventKind::CronRun => writeln!(
                out,
                "{at}  {}  {}{}",
                e.kind_str(),
                clean(e.text.as_deref().unwrap_or(""), 120),
                e.error
                    .as_ref()
                    .map(|x| format!("  ERROR {}", clean(x.message.as_deref().unwrap_or(""), 200)))
                    .unwrap_or_default()
            )?,
            _ => {}
        }
    }
    let children = store.sessions(&SessionFilter {
        parent: Some(s.session_key.clone()),
        ..SessionFilter::default()
    })?;
    if !children.is_empty() {
        writeln!(out, "\nsub-agents:")?;
        for c in children {
            writeln!(
                out,
                "  ↳ {}  {} responses  {}  (clawscope show '{}')",
                clean(&c.session_key, 100),
                c.assistant_messages,
                usd(c.totals.cost_usd),
                clean(&c.session_key, 100)
            )?;
        }
    }
    Ok(())
}
