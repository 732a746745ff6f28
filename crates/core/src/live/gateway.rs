//! OpenClaw gateway WebSocket (protocol v4) event frames → normalized events.
//!
//! Run lifecycle, tool items and tasks become stored events whose ids and run /
//! tool-call ids line up with what the transcript records later. They carry no
//! tokens: usage is counted from the transcript only, so live events can never
//! double-count it. Streaming deltas (thinking, assistant text, live output-token
//! counts, command output, run status) become [`Transient`]s: published, not stored.

use serde_json::{json, Value};

use crate::jsonutil::truncate;
use crate::model::{ErrorInfo, Event, EventKind, Merge, ModelRef, SourceKind, Timing, ToolInfo};
use crate::openclaw::state::TaskRunRow;

use super::{LiveOutput, Transient};

/// Bytes of delta or output text kept on a transient.
const DELTA_BYTES: usize = 4000;

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn i(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

/// Map one `{type:"event", event, payload}` frame. Unknown events map to nothing.
pub fn map_event(event: &str, payload: &Value, now_ms: i64) -> LiveOutput {
    let mut out = LiveOutput::default();
    match event {
        "agent" => agent(payload, now_ms, &mut out),
        "task" => task(payload, &mut out),
        "health" | "tick" | "cron" | "shutdown" | "presence" | "heartbeat" => {
            out.transients.push(Transient {
                kind: format!("gateway.{event}"),
                ts_ms: i(payload, "ts").unwrap_or(now_ms),
                data: compact(event, payload),
                ..Transient::default()
            })
        }
        _ => {}
    }
    out
}

/// Keep only the small, useful part of gateway-wide events.
fn compact(event: &str, p: &Value) -> Value {
    match event {
        "health" => json!({"ok": p.get("ok"), "durationMs": p.get("durationMs")}),
        "cron" => json!({"jobId": p.get("jobId"), "action": p.get("action"),
                          "name": p.pointer("/job/name"), "agentId": p.pointer("/job/agentId")}),
        _ => p.clone(),
    }
}

fn base(id: String, ts_ms: i64, kind: EventKind, p: &Value) -> Event {
    Event {
        id,
        ts_ms,
        kind: Some(kind),
        source: Some(SourceKind::OpenClaw),
        agent: s(p, "agentId"),
        session_key: s(p, "sessionKey").unwrap_or_default(),
        session_id: s(p, "sessionId"),
        run_id: s(p, "runId"),
        merge: Merge::KeepFirst,
        ..Event::default()
    }
}

fn agent(p: &Value, now_ms: i64, out: &mut LiveOutput) {
    let (Some(run), Some(stream)) = (s(p, "runId"), s(p, "stream")) else {
        return;
    };
    let empty = Value::Null;
    let d = p.get("data").unwrap_or(&empty);
    let ts = i(p, "ts").unwrap_or(now_ms);
    let phase = s(d, "phase").unwrap_or_default();
    match (stream.as_str(), phase.as_str()) {
        ("lifecycle", "start") => {
            let mut ev = base(
                format!("ocws:run:{run}:start"),
                i(d, "startedAt").unwrap_or(ts),
                EventKind::RunStarted,
                p,
            );
            ev.timing.start_ms = i(d, "startedAt");
            out.events.push(ev);
        }
        ("lifecycle", "end" | "error") => out.events.push(run_finished(&run, p, d, ts)),
        ("item", "start" | "end") if s(d, "kind").as_deref() == Some("tool") => {
            out.events.push(tool_item(&run, p, d, ts, phase == "end"))
        }
        _ => out
            .transients
            .push(agent_transient(&stream, &phase, p, d, ts)),
    }
}

fn run_finished(run: &str, p: &Value, d: &Value, ts: i64) -> Event {
    let mut ev = base(
        format!("ocws:run:{run}:end"),
        i(d, "endedAt").unwrap_or(ts),
        EventKind::RunFinished,
        p,
    );
    ev.timing = Timing::between(i(d, "startedAt"), i(d, "endedAt"));
    ev.stop_reason = s(d, "stopReason");
    if let Some(eff) = d.pointer("/terminalReceipt/effective") {
        ev.model = ModelRef {
            provider: s(eff, "provider"),
            model: s(eff, "model"),
            api: None,
        };
    }
    if let Some(msg) = s(d, "error") {
        ev.stop_reason.get_or_insert_with(|| "error".into());
        ev.error = Some(ErrorInfo {
            kind: "run_error".into(),
            message: Some(truncate(&msg, 2000)),
            retriable: None,
        });
    }
    ev.text = d
        .pointer("/terminalReply/text")
        .and_then(Value::as_str)
        .map(|t| truncate(t, 2000));
    ev.attrs = Some(
        json!({"aborted": d.get("aborted"),
               "tools": d.pointer("/terminalReceipt/successfulToolNames"),
               "failover": d.pointer("/errorObservation/failoverReason")})
        .to_string(),
    );
    ev
}

fn tool_item(run: &str, p: &Value, d: &Value, ts: i64, end: bool) -> Event {
    let call = s(d, "toolCallId").unwrap_or_default();
    let (kind, tag) = if end {
        (EventKind::ToolFinished, "end")
    } else {
        (EventKind::ToolStarted, "start")
    };
    let at = if end {
        i(d, "endedAt")
    } else {
        i(d, "startedAt")
    };
    let mut ev = base(
        format!("ocws:tool:{run}:{call}:{tag}"),
        at.unwrap_or(ts),
        kind,
        p,
    );
    let status = s(d, "status");
    ev.tool = Some(ToolInfo {
        name: s(d, "name"),
        call_id: Some(call),
        is_error: matches!(status.as_deref(), Some("failed" | "error")),
        ..ToolInfo::default()
    });
    if end {
        ev.timing = Timing::between(i(d, "startedAt"), i(d, "endedAt"));
    }
    ev.attrs = Some(json!({"title": d.get("title"), "status": status}).to_string());
    ev
}

fn agent_transient(stream: &str, phase: &str, p: &Value, d: &Value, ts: i64) -> Transient {
    let data = match stream {
        "thinking" | "assistant" => {
            json!({"delta": d.get("delta").and_then(Value::as_str).map(|t| truncate(t, DELTA_BYTES))})
        }
        "usage" => json!({"outputTokens": d.get("outputTokens")}),
        "command_output" => {
            json!({"toolCallId": d.get("toolCallId"), "name": d.get("name"), "phase": phase,
            "output": d.get("output").and_then(Value::as_str).map(|t| truncate(t, DELTA_BYTES)),
            "exitCode": d.get("exitCode"), "durationMs": d.get("durationMs")})
        }
        "item" => {
            json!({"toolCallId": d.get("toolCallId"), "name": d.get("name"), "phase": phase, "status": d.get("status")})
        }
        _ => d.clone(),
    };
    Transient {
        kind: format!("live.{stream}"),
        ts_ms: ts,
        session_key: s(p, "sessionKey"),
        agent: s(p, "agentId"),
        run_id: s(p, "runId"),
        data,
    }
}

fn task(p: &Value, out: &mut LiveOutput) {
    let Some(t) = p.get("task") else { return };
    let Some(id) = s(t, "id").or_else(|| s(t, "taskId")) else {
        return;
    };
    let runtime = s(t, "runtime").unwrap_or_default();
    let row = TaskRunRow {
        task_id: id,
        runtime: runtime.clone(),
        requester_session_key: s(t, "ownerKey").filter(|k| !k.is_empty()),
        child_session_key: s(t, "childSessionKey").filter(|k| !k.is_empty()),
        agent_id: s(t, "agentId"),
        run_id: s(t, "runId"),
        label: s(t, "label"),
        task: s(t, "task").or_else(|| s(t, "title")).unwrap_or_default(),
        status: s(t, "status").unwrap_or_default(),
        created_at: i(t, "createdAt").unwrap_or_default(),
        started_at: i(t, "startedAt"),
        ended_at: i(t, "endedAt"),
        tool_use_count: i(t, "toolUseCount"),
        last_tool_name: s(t, "lastToolName"),
        error: s(t, "error"),
        terminal_summary: s(t, "terminalSummary"),
    };
    let mut ev = row.to_event();
    // The state DB's copy of the same task replaces this one when it is read.
    ev.merge = Merge::Replace;
    out.events.push(ev);
    if runtime == "subagent" {
        subagent(t, &row, out);
    }
}

/// A sub-agent task: spawned in the parent, finished in the child.
fn subagent(t: &Value, row: &TaskRunRow, out: &mut LiveOutput) {
    let (Some(run), Some(parent), Some(child)) = (
        row.run_id.clone(),
        s(t, "sessionKey").filter(|k| !k.is_empty()),
        row.child_session_key.clone(),
    ) else {
        return;
    };
    // Same id as the state DB's sub-agent row: one sub-agent, counted once.
    let mut ev = Event {
        id: crate::openclaw::subagent_spawn_id(&run),
        ts_ms: row.created_at,
        kind: Some(EventKind::SubagentSpawned),
        source: Some(SourceKind::OpenClaw),
        agent: row.agent_id.clone(),
        session_key: parent.clone(),
        run_id: Some(run.clone()),
        text: Some(row.task.clone()).filter(|t| !t.is_empty()),
        attrs: Some(json!({"childSessionKey": child}).to_string()),
        merge: Merge::KeepFirst,
        ..Event::default()
    };
    out.events.push(ev.clone());
    let terminal = !matches!(row.status.as_str(), "running" | "queued" | "pending" | "");
    if terminal {
        ev.id = format!("ocws:subagent:{run}:finished");
        ev.kind = Some(EventKind::SubagentFinished);
        ev.ts_ms = row.ended_at.unwrap_or(row.created_at);
        ev.session_key = child;
        ev.parent_session_key = Some(parent);
        ev.timing = Timing::between(row.started_at, row.ended_at);
        ev.stop_reason = Some(row.status.clone());
        ev.text = row.terminal_summary.clone();
        if let Some(e) = &row.error {
            ev.error = Some(ErrorInfo {
                kind: "subagent_error".into(),
                message: Some(truncate(e, 2000)),
                retriable: None,
            });
        }
        out.events.push(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: &str) -> (String, Value) {
        let v: Value = serde_json::from_str(line).unwrap();
        (
            v["event"].as_str().unwrap().to_string(),
            v["payload"].clone(),
        )
    }

    #[test]
    fn lifecycle_and_tool_items_become_events_without_tokens() {
        let lines = [
            r#"{"type":"event","event":"agent","payload":{"runId":"r1","sessionKey":"agent:main:main","sessionId":"s1","agentId":"main","stream":"lifecycle","data":{"phase":"start","startedAt":1000},"seq":1,"ts":1000}}"#,
            r#"{"type":"event","event":"agent","payload":{"runId":"r1","stream":"item","data":{"itemId":"tool:c1","toolCallId":"c1","name":"exec","kind":"tool","phase":"start","status":"running","startedAt":1100},"sessionKey":"agent:main:main","agentId":"main","seq":5,"ts":1101}}"#,
            r#"{"type":"event","event":"agent","payload":{"runId":"r1","stream":"item","data":{"itemId":"tool:c1","toolCallId":"c1","name":"exec","kind":"tool","phase":"end","status":"completed","startedAt":1100,"endedAt":1350},"sessionKey":"agent:main:main","agentId":"main","seq":7,"ts":1351}}"#,
            r#"{"type":"event","event":"agent","payload":{"runId":"r1","stream":"usage","data":{"outputTokens":47},"sessionKey":"agent:main:main","agentId":"main","seq":8,"ts":1400}}"#,
            r#"{"type":"event","event":"agent","payload":{"runId":"r1","stream":"lifecycle","data":{"phase":"end","startedAt":900,"endedAt":1500,"stopReason":"stop","terminalReceipt":{"effective":{"provider":"mock","model":"mock-model"}}},"sessionKey":"agent:main:main","agentId":"main","seq":9,"ts":1500}}"#,
        ];
        let mut events = Vec::new();
        let mut transients = Vec::new();
        for l in lines {
            let (e, p) = frame(l);
            let o = map_event(&e, &p, 0);
            events.extend(o.events);
            transients.extend(o.transients);
        }
        let kinds: Vec<_> = events.iter().map(|e| e.kind_str()).collect();
        assert_eq!(
            kinds,
            [
                "run.started",
                "tool.started",
                "tool.finished",
                "run.finished"
            ]
        );
        assert!(events.iter().all(|e| e.tokens.is_zero()));
        assert_eq!(events[2].timing.duration_ms, Some(250));
        assert_eq!(
            events[2].tool.as_ref().unwrap().call_id.as_deref(),
            Some("c1")
        );
        assert_eq!(events[3].timing.duration_ms, Some(600));
        assert_eq!(events[3].model.model.as_deref(), Some("mock-model"));
        assert_eq!(events[3].run_id.as_deref(), Some("r1"));
        assert_eq!(transients.len(), 1);
        assert_eq!(transients[0].kind, "live.usage");
        assert_eq!(transients[0].data["outputTokens"], 47);
    }

    #[test]
    fn run_error_carries_the_message() {
        let (e, p) = frame(
            r#"{"event":"agent","payload":{"runId":"r2","stream":"lifecycle","data":{"phase":"error","startedAt":1,"endedAt":9,"error":"HTTP 500"},"sessionKey":"agent:main:main","agentId":"main","ts":9}}"#,
        );
        let o = map_event(&e, &p, 0);
        let ev = &o.events[0];
        assert_eq!(ev.kind, Some(EventKind::RunFinished));
        assert_eq!(ev.stop_reason.as_deref(), Some("error"));
        assert_eq!(
            ev.error.as_ref().unwrap().message.as_deref(),
            Some("HTTP 500")
        );
    }

    #[test]
    fn subagent_task_links_child_to_parent() {
        let (e, p) = frame(
            r#"{"event":"task","payload":{"action":"upserted","task":{"id":"t1","kind":"subagent","runtime":"subagent","status":"completed","title":"child","agentId":"main","sessionKey":"agent:main:main","childSessionKey":"agent:main:subagent:u1","ownerKey":"agent:main:main","runId":"sr1","createdAt":10,"startedAt":11,"endedAt":20,"terminalSummary":"done"}}}"#,
        );
        let o = map_event(&e, &p, 0);
        let kinds: Vec<_> = o.events.iter().map(|e| e.kind_str()).collect();
        assert_eq!(kinds, ["task.run", "subagent.spawned", "subagent.finished"]);
        assert_eq!(o.events[0].id, "ocstate:task:t1");
        assert_eq!(o.events[1].id, "ocstate:subagent:sr1");
        assert_eq!(o.events[1].session_key, "agent:main:main");
        let fin = &o.events[2];
        assert_eq!(fin.session_key, "agent:main:subagent:u1");
        assert_eq!(fin.parent_session_key.as_deref(), Some("agent:main:main"));
        assert_eq!(fin.timing.duration_ms, Some(9));
    }
}
