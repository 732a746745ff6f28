//! Dashboard rollups on real files: tool figures, hourly activity and flow edges equal a
//! brute-force count over the stored events (transcripts parsed by the real parser, live
//! gateway and native-stream executions, OTLP-shaped executions); re-applying changes
//! nothing; replaced and superseded copies are counted once; the migration's backfill
//! gives what incremental writes give; windows start at day (hour) resolution.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use clawscope_core::live::gateway::map_event;
use clawscope_core::live::native::NativeStream;
use clawscope_core::openclaw::TranscriptState;
use clawscope_core::otel::{SpanClass, SpanRecord, Telemetry};
use clawscope_core::query::{EventFilter, StoredEvent};
use clawscope_core::stats::{ActivityBucket, FlowEdge, ToolError, ToolStat};
use clawscope_core::{Cost, CostSource, ErrorInfo, Event, EventKind, Merge, SourceKind, ToolInfo};
use clawscope_store::{Batch, SqliteStore, Store};
use serde_json::json;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// 2026-09-21 00:00 UTC.
const T0: i64 = 1_790_035_200_000;
/// The histogram estimate's relative error bound: 2^(1/12) - 1.
const REL_ERR: f64 = 0.0595;

/// xorshift64*: reproducible data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

const TOOLS: [&str; 6] = ["exec", "read", "write", "web_search", "edit", "process"];
const MODELS: [&str; 3] = ["claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro"];

/// A tool call of a generated transcript, for live reports of the same call.
#[derive(Clone)]
struct Call {
    session: String,
    agent: String,
    id: String,
    tool: String,
    start: i64,
    end: i64,
    failed: bool,
}

fn batch(events: Vec<Event>) -> Batch {
    Batch {
        events,
        ..Batch::default()
    }
}

/// One OpenClaw session as transcript lines, parsed by the real parser.
fn transcript(rng: &mut Rng, i: usize, calls: &mut Vec<Call>) -> Vec<Event> {
    let agent = ["main", "ops"][i % 2];
    let channel = [Some("telegram"), Some("discord"), None][i % 3];
    let key = format!("agent:{agent}:{}:direct:{i}", channel.unwrap_or("x"));
    let mut st = TranscriptState {
        agent: Some(agent.into()),
        session_key: key.clone(),
        session_id: format!("sess-{i}"),
        channel: channel.map(Into::into),
        ..TranscriptState::default()
    };
    let mut model = rng.pick(&MODELS);
    let mut ts = T0 + i as i64 * 7 * HOUR + rng.below(HOUR as u64) as i64;
    let mut lines = Vec::new();
    for turn in 0..30 {
        ts += 60_000 + rng.below(20 * 60_000) as i64;
        lines.push(json!({"type": "message", "id": rng.id(), "message": {
            "role": "user", "content": format!("turn {turn}"), "timestamp": ts}}));
        if rng.chance(10) {
            model = rng.pick(&MODELS);
        }
        for step in 0..1 + rng.below(3) {
            ts += 1000 + rng.below(30_000) as i64;
            let failed = rng.chance(5);
            let n_calls = if failed || step == 2 { 0 } else { rng.below(3) };
            let mut content = vec![json!({"type": "text", "text": "ok"})];
            let mut these = Vec::new();
            for c in 0..n_calls {
                let id = format!("call_{i}_{turn}_{step}_{c}");
                let tool = rng.pick(&TOOLS).to_string();
                content.push(json!({"type": "toolCall", "id": id, "name": tool, "arguments": {}}));
                these.push((id, tool));
            }
            let mut msg = json!({"role": "assistant", "content": content, "provider": "p",
                "model": model, "usage": {"input": 100 + rng.below(900), "output": 50},
                "stopReason": if failed { "error" } else { "toolUse" }, "timestamp": ts});
            if failed {
                msg["errorMessage"] = json!("429 rate limited");
            }
            lines.push(json!({"type": "message", "id": rng.id(), "message": msg}));
            for (id, tool) in these {
                let start = ts + rng.below(2000) as i64;
                // Log-uniform durations from 1 ms to about 3 minutes; some unknown.
                let dur = (rng.below(1_000_000) as f64 / 1e6 * 12.0).exp() as i64;
                ts = start + dur;
                let is_error = rng.chance(8);
                let text = if is_error {
                    format!(
                        "Error: {tool} failed: {}",
                        "x".repeat(rng.below(500) as usize)
                    )
                } else {
                    "fine".into()
                };
                let mut m = json!({"role": "toolResult", "toolCallId": id, "toolName": tool,
                    "content": [{"type": "text", "text": text}], "isError": is_error,
                    "timestamp": ts});
                if rng.chance(90) {
                    m["details"] = json!({"durationMs": dur});
                }
                lines.push(json!({"type": "message", "id": rng.id(), "message": m}));
                calls.push(Call {
                    session: key.clone(),
                    agent: agent.into(),
                    id,
                    tool,
                    start,
                    end: ts,
                    failed: is_error,
                });
            }
        }
    }
    let mut out = Vec::new();
    for l in lines {
        st.parse_line(l.to_string().as_bytes(), None, &mut out)
            .expect("generated line parses");
    }
    out
}

/// The gateway WebSocket's report of a finished tool execution.
fn gateway_end(c: &Call, run: &str) -> Vec<Event> {
    let payload = json!({"runId": run, "stream": "item", "sessionKey": c.session,
        "agentId": c.agent, "ts": c.end, "data": {"phase": "end", "kind": "tool",
        "toolCallId": c.id, "name": c.tool, "status": if c.failed { "failed" } else { "completed" },
        "startedAt": c.start, "endedAt": c.end}});
    map_event("agent", &payload, c.end).events
}

/// An execution as an OTLP tool span maps it (no model; a call id only if given).
fn otel_tool(id: &str, session: &str, tool: &str, call: Option<&str>, end: i64, dur: i64) -> Event {
    let mut ev = Event {
        id: format!("otel:{id}"),
        ts_ms: end,
        kind: Some(EventKind::ToolFinished),
        source: Some(SourceKind::Otel),
        session_key: session.into(),
        tool: Some(ToolInfo {
            name: Some(tool.into()),
            call_id: call.map(Into::into),
            is_error: dur % 7 == 0,
            ..ToolInfo::default()
        }),
        ..Event::default()
    };
    ev.timing.start_ms = Some(end - dur);
    ev.timing.end_ms = Some(end);
    ev.timing.duration_ms = Some(dur);
    if dur % 7 == 0 {
        ev.error = Some(ErrorInfo {
            kind: "span_error".into(),
            message: Some(format!("{tool} span failed")),
            retriable: None,
        });
    }
    ev
}

fn native(lines: &[serde_json::Value]) -> Vec<Event> {
    let mut ns = NativeStream::default();
    lines
        .iter()
        .flat_map(|l| ns.line(&l.to_string(), T0).expect("envelope").events)
        .collect()
}

/// Batches in write order: transcripts in chunks, live reports before and after their
/// transcript copies, executions no transcript has, native-stream calls without a model.
fn dataset(seed: u64) -> Vec<Batch> {
    let mut rng = Rng(seed);
    let mut batches = Vec::new();
    let mut late = Vec::new();
    for i in 0..12 {
        let mut calls = Vec::new();
        let events = transcript(&mut rng, i, &mut calls);
        // Some executions reach the store before the transcript lines that hold them.
        let mut early = Vec::new();
        for (n, c) in calls.iter().enumerate() {
            match rng.below(10) {
                0 => early.extend(gateway_end(c, &format!("run{i}"))),
                1 => late.extend(gateway_end(c, &format!("run{i}"))),
                2 if n % 3 == 0 => late.push(otel_tool(
                    &format!("dup{i}{n}"),
                    &c.session,
                    &c.tool,
                    Some(&c.id),
                    c.end,
                    c.end - c.start,
                )),
                _ => {}
            }
        }
        batches.push(batch(early));
        let mut rest = events.as_slice();
        while !rest.is_empty() {
            let n = (20 + rng.below(60) as usize).min(rest.len());
            batches.push(batch(rest[..n].to_vec()));
            rest = &rest[n..];
        }
        // Executions no transcript holds: counted once, even when reported twice.
        let last = calls.last().expect("a session with tool calls");
        for k in 0..3 {
            let orphan = Call {
                id: format!("orphan_{i}_{k}"),
                failed: k == 1,
                end: last.end + (k + 1) * 60_000,
                start: last.end + k * 60_000,
                ..last.clone()
            };
            let mut evs = gateway_end(&orphan, &format!("orphan{i}"));
            if k == 2 {
                evs.push(otel_tool(
                    &format!("o{i}"),
                    &orphan.session,
                    &orphan.tool,
                    Some(&orphan.id),
                    orphan.end + 500,
                    1234,
                ));
            }
            late.extend(evs);
        }
        late.push(otel_tool(
            &format!("anon{i}"),
            &format!("otel:svc{i}"),
            rng.pick(&TOOLS),
            None,
            T0 + i as i64 * 5 * HOUR,
            (1 + rng.below(90_000)) as i64,
        ));
    }
    batches.push(batch(native(&[
        json!({"type": "llm.tokens", "ts": T0 + 1000, "session_key": "agent:main:native",
               "run_id": "r1", "step": 1, "model": "native-model", "input_tokens": 10}),
        json!({"type": "tool.call", "ts": T0 + 2000, "session_key": "agent:main:native",
               "run_id": "r1", "call_id": "n1", "tool": "exec"}),
        json!({"type": "tool.output", "ts": T0 + 2500, "session_key": "agent:main:native",
               "run_id": "r1", "call_id": "n1", "output": "ok"}),
    ])));
    // A later batch: the session's model is the stored one.
    batches.push(batch(native(&[
        json!({"type": "tool.call", "ts": T0 + 3000, "session_key": "agent:main:native",
               "run_id": "r1", "call_id": "n2", "tool": "read"}),
        json!({"type": "tool.call", "ts": T0 + 3000, "session_key": "agent:ops:bare",
               "run_id": "r2", "call_id": "n3", "tool": "read"}),
    ])));
    for chunk in late.chunks(7) {
        batches.push(batch(chunk.to_vec()));
    }
    batches
}

fn apply_all(store: &mut SqliteStore, batches: &[Batch]) {
    for b in batches {
        store.apply(b).expect("apply");
    }
}

fn stored(store: &SqliteStore) -> Vec<StoredEvent> {
    let mut all = store
        .events(&EventFilter {
            limit: 1_000_000,
            ..EventFilter::default()
        })
        .expect("events");
    all.sort_by_key(|e| e.seq);
    all
}

/// What the brute force derives from the stored events, in store order.
struct Truth<'a> {
    events: Vec<&'a Event>,
    /// Executions that count as calls (by position in `events`).
    counted: HashSet<usize>,
    /// The model each tool call or counted execution is attributed to.
    model: HashMap<usize, String>,
}

fn unknown(o: &Option<String>) -> String {
    o.clone().unwrap_or_else(|| "unknown".into())
}

fn tool_of(e: &Event) -> String {
    unknown(&e.tool.as_ref().and_then(|t| t.name.clone()))
}

fn failed(e: &Event) -> bool {
    e.tool.as_ref().is_some_and(|t| t.is_error)
}

fn truth(all: &[StoredEvent]) -> Truth<'_> {
    let events: Vec<&Event> = all.iter().map(|s| &s.event).collect();
    let calls: HashSet<(&str, &str, i64)> = events
        .iter()
        .filter(|e| e.kind == Some(EventKind::ToolCall))
        .filter_map(|e| {
            let id = e.tool.as_ref()?.call_id.as_deref()?;
            Some((e.session_key.as_str(), id, e.ts_ms))
        })
        .collect();
    let mut counted = HashSet::new();
    let mut taken = HashSet::new();
    let mut model = HashMap::new();
    let mut last_model: HashMap<&str, String> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            Some(EventKind::AssistantMessage) => {
                if let Some(m) = &e.model.model {
                    last_model.insert(&e.session_key, m.clone());
                }
            }
            Some(EventKind::ToolCall | EventKind::ToolFinished) => {
                let m = e.model.model.clone().unwrap_or_else(|| {
                    last_model
                        .get(e.session_key.as_str())
                        .cloned()
                        .unwrap_or_else(|| "unknown".into())
                });
                model.insert(i, m);
                if e.kind == Some(EventKind::ToolCall) {
                    continue;
                }
                let id = e.tool.as_ref().and_then(|t| t.call_id.as_deref());
                let Some(id) = id else {
                    counted.insert(i);
                    continue;
                };
                let transcript = calls.iter().any(|(s, c, ts)| {
                    *s == e.session_key
                        && *c == id
                        && (e.ts_ms - DAY..=e.ts_ms + 600_000).contains(ts)
                });
                if !transcript && taken.insert((e.session_key.as_str(), id)) {
                    counted.insert(i);
                }
            }
            _ => {}
        }
    }
    Truth {
        events,
        counted,
        model,
    }
}

fn nearest_rank(mut xs: Vec<i64>, pct: i64) -> Option<i64> {
    xs.sort_unstable();
    let n = xs.len() as i64;
    (n > 0).then(|| xs[((pct * n + 99) / 100 - 1).max(0) as usize])
}

fn within(estimate: Option<i64>, exact: Option<i64>) -> bool {
    match (estimate, exact) {
        (Some(e), Some(x)) => ((e - x).abs() as f64) <= REL_ERR * x as f64 + 0.5,
        (None, None) => true,
        _ => false,
    }
}

/// Tool figures by brute force; percentiles exact (the store's are estimates).
fn expected_tools(t: &Truth<'_>, since: Option<i64>) -> Vec<ToolStat> {
    let from_day = since.map_or(i64::MIN, |s| s.div_euclid(DAY));
    let mut stats: BTreeMap<String, ToolStat> = BTreeMap::new();
    let mut durations: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut newest: BTreeMap<String, ToolError> = BTreeMap::new();
    for (i, e) in t.events.iter().enumerate() {
        if e.ts_ms.div_euclid(DAY) < from_day {
            continue;
        }
        let tool = tool_of(e);
        let counted = t.counted.contains(&i);
        match e.kind {
            Some(EventKind::ToolCall) | Some(EventKind::ToolFinished) => {
                let s = stat(&mut stats, &tool);
                s.last_ms = s.last_ms.max(Some(e.ts_ms));
                if e.kind == Some(EventKind::ToolCall) || counted {
                    s.calls += 1;
                }
                if counted && failed(e) {
                    s.errors += 1;
                }
                if counted {
                    if let Some(d) = e.timing.duration_ms {
                        durations.entry(tool.clone()).or_default().push(d);
                    }
                }
            }
            Some(EventKind::ToolResult) => {
                if failed(e) {
                    stat(&mut stats, &tool).errors += 1;
                }
                if let Some(d) = e.timing.duration_ms {
                    durations.entry(tool.clone()).or_default().push(d);
                }
            }
            _ => {}
        }
        let reports_failure = matches!(
            e.kind,
            Some(EventKind::ToolResult) | Some(EventKind::ToolFinished)
        ) && failed(e);
        if reports_failure && newest.get(&tool).is_none_or(|n| e.ts_ms >= n.ts_ms) {
            let err = e.error.as_ref();
            let text = err
                .and_then(|x| x.message.clone())
                .filter(|m| !m.is_empty())
                .or_else(|| e.tool.as_ref().and_then(|x| x.result.clone()))
                .or_else(|| err.map(|x| x.kind.clone()))
                .unwrap_or_default();
            let message = text.chars().take(300).collect();
            let n = ToolError {
                ts_ms: e.ts_ms,
                session_key: e.session_key.clone(),
                message,
            };
            newest.insert(tool.clone(), n);
        }
    }
    for (tool, d) in durations {
        let s = stat(&mut stats, &tool);
        s.p50_ms = nearest_rank(d.clone(), 50);
        s.p95_ms = nearest_rank(d, 95);
    }
    let mut out: Vec<ToolStat> = stats
        .into_values()
        .map(|mut s| {
            s.last_error = newest.get(&s.tool).cloned();
            s
        })
        .filter(|s| s.calls > 0 || s.errors > 0 || s.p50_ms.is_some())
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.tool.cmp(&b.tool)));
    out
}

fn stat<'a>(stats: &'a mut BTreeMap<String, ToolStat>, tool: &str) -> &'a mut ToolStat {
    stats.entry(tool.to_string()).or_insert_with(|| ToolStat {
        tool: tool.to_string(),
        ..ToolStat::default()
    })
}

/// Hourly activity by brute force in `[hour of since, until)`.
fn expected_activity(t: &Truth<'_>, since: i64, until: Option<i64>) -> Vec<ActivityBucket> {
    let mut hours: BTreeMap<i64, ActivityBucket> = BTreeMap::new();
    for (i, e) in t.events.iter().enumerate() {
        let hour = e.ts_ms.div_euclid(HOUR) * HOUR;
        if hour < since.div_euclid(HOUR) * HOUR || until.is_some_and(|u| hour >= u) {
            continue;
        }
        let counted = t.counted.contains(&i);
        let (turns, users, calls, errors) = match e.kind {
            Some(EventKind::AssistantMessage) => (1, 0, 0, u64::from(e.error.is_some())),
            Some(EventKind::UserMessage) => (0, 1, 0, 0),
            Some(EventKind::ToolCall) => (0, 0, 1, 0),
            Some(EventKind::ToolResult) => (0, 0, 0, u64::from(failed(e))),
            Some(EventKind::ToolFinished) if counted => (0, 0, 1, u64::from(failed(e))),
            _ => continue,
        };
        let b = hours.entry(hour).or_insert_with(|| ActivityBucket {
            hour_ms: hour,
            ..ActivityBucket::default()
        });
        b.turns += turns;
        b.user_messages += users;
        b.tool_calls += calls;
        b.errors += errors;
    }
    hours
        .into_values()
        .filter(|b| b.turns + b.user_messages + b.tool_calls + b.errors > 0)
        .collect()
}

/// Flow edges by brute force, in the store's order.
fn expected_flow(t: &Truth<'_>, since: Option<i64>) -> Vec<FlowEdge> {
    let from_day = since.map_or(i64::MIN, |s| s.div_euclid(DAY));
    let mut edges: BTreeMap<(u8, String, String), u64> = BTreeMap::new();
    for (i, e) in t.events.iter().enumerate() {
        if e.ts_ms.div_euclid(DAY) < from_day {
            continue;
        }
        let key = match e.kind {
            Some(EventKind::UserMessage) => (0, unknown(&e.channel), unknown(&e.agent)),
            Some(EventKind::AssistantMessage) => (1, unknown(&e.agent), unknown(&e.model.model)),
            Some(EventKind::ToolCall) => (2, t.model[&i].clone(), tool_of(e)),
            Some(EventKind::ToolFinished) if t.counted.contains(&i) => {
                (2, t.model[&i].clone(), tool_of(e))
            }
            _ => continue,
        };
        *edges.entry(key).or_default() += 1;
    }
    let kinds = [("channel", "agent"), ("agent", "model"), ("model", "tool")];
    let mut out: Vec<(u8, FlowEdge)> = edges
        .into_iter()
        .map(|((k, from, to), count)| {
            let (fk, tk) = kinds[k as usize];
            let e = FlowEdge {
                from_kind: fk.into(),
                from,
                to_kind: tk.into(),
                to,
                count,
            };
            (k, e)
        })
        .collect();
    out.sort_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then(b.count.cmp(&a.count))
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    out.into_iter().map(|(_, e)| e).collect()
}

/// The windows the checks look through: everything, and from a few points in the data.
fn windows() -> Vec<Option<i64>> {
    vec![
        None,
        Some(T0),
        Some(T0 + DAY + 5 * HOUR),
        Some(T0 + 2 * DAY + 23 * HOUR),
        Some(T0 + 40 * DAY),
    ]
}

/// Every query equals its brute-force count over the stored events.
fn check_against_events(store: &SqliteStore) {
    let all = stored(store);
    let t = truth(&all);
    for since in windows() {
        let got = store.tool_stats(since).expect("tool_stats");
        let want = expected_tools(&t, since);
        assert_eq!(got.len(), want.len(), "tools since {since:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (&g.tool, g.calls, g.errors, g.last_ms, &g.last_error),
                (&w.tool, w.calls, w.errors, w.last_ms, &w.last_error),
                "since {since:?}"
            );
            assert!(
                within(g.p50_ms, w.p50_ms),
                "{}: p50 {:?} vs exact {:?}",
                g.tool,
                g.p50_ms,
                w.p50_ms
            );
            assert!(
                within(g.p95_ms, w.p95_ms),
                "{}: p95 {:?} vs exact {:?}",
                g.tool,
                g.p95_ms,
                w.p95_ms
            );
        }
        assert_eq!(
            store.flow(since).expect("flow"),
            expected_flow(&t, since),
            "flow since {since:?}"
        );
        let from = since.unwrap_or(i64::MIN / 2);
        for until in [None, Some(T0 + DAY + 90 * 60_000), Some(T0 + 3 * DAY)] {
            assert_eq!(
                store.activity(from, until).expect("activity"),
                expected_activity(&t, from, until),
                "activity {since:?}..{until:?}"
            );
        }
    }
}

/// Every answer of the store, to compare two stores or two moments.
fn snapshot(store: &SqliteStore) -> Vec<String> {
    let mut out = Vec::new();
    for since in windows() {
        out.push(format!(
            "{:?}",
            store.tool_stats(since).expect("tool_stats")
        ));
        out.push(format!("{:?}", store.flow(since).expect("flow")));
        let from = since.unwrap_or(i64::MIN / 2);
        out.push(format!(
            "{:?}",
            store.activity(from, None).expect("activity")
        ));
    }
    out
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

#[test]
fn queries_equal_a_brute_force_count_over_stored_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir.path().join("s.db"));
    let batches = dataset(7);
    apply_all(&mut store, &batches);
    check_against_events(&store);

    // The data exercises what it should: withdrawn, kept and duplicate executions,
    // calls attributed to a stored model, failures, durations, several days.
    let all = stored(&store);
    let t = truth(&all);
    let finished = t
        .events
        .iter()
        .filter(|e| e.kind == Some(EventKind::ToolFinished))
        .count();
    assert!(finished > 40 && t.counted.len() > 40 && t.counted.len() < finished);
    let tools = store.tool_stats(None).expect("tool_stats");
    assert!(tools.iter().all(|s| s.p95_ms >= s.p50_ms));
    let exec = tools.iter().find(|s| s.tool == "exec").expect("exec");
    assert!(exec.calls > 50 && exec.errors > 0 && exec.p50_ms.is_some());
    assert!(exec
        .last_error
        .as_ref()
        .is_some_and(|e| !e.message.is_empty()));
    assert!(tools
        .iter()
        .filter_map(|s| s.last_error.as_ref())
        .all(|e| e.message.chars().count() <= 300));
    let flow = store.flow(None).expect("flow");
    let edge = |from: &str, to: &str| {
        flow.iter()
            .find(|e| e.from == from && e.to == to)
            .map(|e| e.count)
    };
    assert_eq!(edge("native-model", "exec"), Some(1));
    assert_eq!(edge("native-model", "read"), Some(1));
    assert_eq!(edge("unknown", "read").map(|n| n >= 1), Some(true));
    assert!(flow
        .iter()
        .any(|e| e.from_kind == "channel" && e.from == "unknown"));
    let days: HashSet<i64> = store
        .activity(i64::MIN / 2, None)
        .expect("activity")
        .iter()
        .map(|b| b.hour_ms.div_euclid(DAY))
        .collect();
    assert!(days.len() >= 3);
}

#[test]
fn reapplying_every_batch_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir.path().join("s.db"));
    let batches = dataset(11);
    apply_all(&mut store, &batches);
    let before = snapshot(&store);
    for b in &batches {
        let s = store.apply(b).expect("apply");
        assert_eq!((s.inserted, s.updated), (0, 0));
    }
    assert_eq!(snapshot(&store), before);
    check_against_events(&store);
}

#[test]
fn a_bulk_load_stores_what_plain_transactions_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut batches = dataset(31);
    // Every event again, then better copies of the mergeable ones.
    let again: Vec<Event> = batches.iter().flat_map(|b| b.events.clone()).collect();
    let better: Vec<Event> = again
        .iter()
        .filter(|e| e.merge != Merge::KeepFirst)
        .map(|e| {
            let mut e = e.clone();
            e.tokens.output += 7;
            e.text = Some(format!("{} (final)", e.text.unwrap_or_default()));
            e
        })
        .collect();
    // A second round of better copies meets rows that were themselves replaced.
    let best: Vec<Event> = better
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.tokens.output += 7;
            e
        })
        .collect();
    for chunk in again
        .chunks(13)
        .chain(better.chunks(5))
        .chain(best.chunks(11))
    {
        batches.push(batch(chunk.to_vec()));
    }
    let mut plain = open(&dir.path().join("plain.db"));
    let (mut updated, mut unchanged) = (0, 0);
    for b in &batches {
        let s = plain.apply(b).expect("apply");
        (updated, unchanged) = (updated + s.updated, unchanged + s.unchanged);
    }
    assert!(
        updated > 0 && unchanged > 0,
        "the data repeats ids: {updated} updated, {unchanged} unchanged"
    );
    // Alone with its file, a bulk load drops the unique key index and checks keys in
    // memory: duplicates, larger copies and replaced copies must come out the same.
    let mut bulk = open(&dir.path().join("bulk.db"));
    bulk.begin_bulk().expect("begin bulk");
    let key_index: i64 = rusqlite::Connection::open(dir.path().join("bulk.db"))
        .expect("open")
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'events_idh'",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(key_index, 0, "the load checks keys in memory");
    apply_all(&mut bulk, &batches);
    bulk.end_bulk().expect("end bulk");
    let content = |s: &SqliteStore| -> Vec<String> {
        stored(s)
            .iter()
            .map(|e| format!("{} {:?}", e.seq, e.event))
            .collect()
    };
    // (The brute-force check does not apply: it attributes tools by seq, which the
    // better copies' new seqs reorder; the point here is bulk == plain.)
    assert_eq!(content(&bulk), content(&plain));
    assert_eq!(snapshot(&bulk), snapshot(&plain));
    for b in &batches {
        let s = bulk.apply(b).expect("apply");
        assert_eq!((s.inserted, s.updated), (0, 0), "the unique index is back");
    }
    assert_eq!(content(&bulk), content(&plain));
}

/// Make the store at `path` one from before the dashboard rollups existed (schema 5).
fn downgrade_to_schema_5(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.execute_batch(
        "DROP TABLE dash_tool; DROP TABLE dash_tool_latency; DROP TABLE dash_tool_error;
         DROP TABLE dash_tool_pending; DROP TABLE dash_activity; DROP TABLE dash_flow;
         DROP TABLE dash_session_model; DROP INDEX IF EXISTS events_tool_call;
         DROP INDEX events_kind_cron_job; DROP INDEX events_kind_cron_run;
         DROP INDEX events_kind_task_run; DROP INDEX events_kind_log;
         DROP TABLE alerts; DROP TABLE alert_silences; DROP TABLE alert_deliveries;
         DROP TABLE alert_actions; DROP TABLE alert_rules;
         DELETE FROM store_meta WHERE key = 'alerts_seq';
         PRAGMA user_version = 5;",
    )
    .expect("downgrade");
}

/// A store at `path` holding `batches`, and a schema-5 copy of it at `old`.
fn store_and_old_copy(path: &Path, old: &Path, batches: &[Batch]) -> SqliteStore {
    let mut incremental = open(path);
    apply_all(&mut incremental, batches);
    {
        let mut copy = open(old);
        apply_all(&mut copy, batches);
    }
    downgrade_to_schema_5(old);
    incremental
}

#[test]
fn migration_backfill_equals_incremental_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset(23);
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let incremental = store_and_old_copy(&a, &b, &batches);
    let upgraded = open(&b);
    assert_eq!(
        upgraded.stats().expect("stats").schema_version,
        SqliteStore::supported_version()
    );
    assert_eq!(snapshot(&upgraded), snapshot(&incremental));
    check_against_events(&upgraded);
    let pending = |p: &Path| -> Vec<(i64, i64, i64, String, String)> {
        let conn = rusqlite::Connection::open(p).expect("raw open");
        let mut stmt = conn
            .prepare("SELECT key, event, ts, tool, model FROM dash_tool_pending ORDER BY key")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    };
    let kept = pending(&a);
    assert!(!kept.is_empty());
    assert_eq!(pending(&b), kept);
}

/// Several processes started together on an old store (a `serve` and a `report`, say)
/// all open it, and each migration step (the backfill above all) runs once.
#[test]
fn openers_upgrading_one_old_store_at_once_run_each_step_once() {
    const OPENERS: usize = 4;
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset(29);
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let incremental = store_and_old_copy(&a, &b, &batches);
    let start = std::sync::Barrier::new(OPENERS);
    let opened: Vec<SqliteStore> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..OPENERS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    SqliteStore::open(&b).expect("open during another's upgrade")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("opener thread"))
            .collect()
    });
    for store in &opened {
        assert_eq!(
            store.stats().expect("stats").schema_version,
            SqliteStore::supported_version()
        );
    }
    drop(opened);
    let upgraded = open(&b);
    assert_eq!(snapshot(&upgraded), snapshot(&incremental));
    check_against_events(&upgraded);
}

fn usage(id: &str, ts: i64, tokens: u64, model: &str, error: bool) -> Event {
    let mut ev = Event {
        id: id.into(),
        ts_ms: ts,
        kind: Some(EventKind::AssistantMessage),
        source: Some(SourceKind::Claude),
        agent: Some("claude-code".into()),
        session_key: "c1".into(),
        merge: Merge::KeepLargestUsage,
        cost: Cost {
            total: Some(0.1),
            source: CostSource::Computed,
            ..Cost::default()
        },
        ..Event::default()
    };
    ev.model.model = Some(model.into());
    ev.tokens.input = tokens;
    ev.tokens.output = 10;
    if error {
        ev.error = Some(ErrorInfo {
            kind: "api_error".into(),
            message: Some("overloaded".into()),
            retriable: None,
        });
    }
    ev
}

fn finished(id: &str, call: Option<&str>, ts: i64, dur: i64, is_error: bool) -> Event {
    let mut ev = Event {
        id: id.into(),
        ts_ms: ts,
        kind: Some(EventKind::ToolFinished),
        source: Some(SourceKind::OpenClaw),
        session_key: "c1".into(),
        merge: Merge::Replace,
        tool: Some(ToolInfo {
            name: Some("exec".into()),
            call_id: call.map(Into::into),
            is_error,
            ..ToolInfo::default()
        }),
        ..Event::default()
    };
    ev.timing.duration_ms = Some(dur);
    ev
}

fn one(store: &SqliteStore, tool: &str) -> ToolStat {
    store
        .tool_stats(None)
        .expect("tool_stats")
        .into_iter()
        .find(|s| s.tool == tool)
        .expect("tool listed")
}

fn count_of(store: &SqliteStore, from: &str, to: &str) -> Option<u64> {
    store
        .flow(None)
        .expect("flow")
        .into_iter()
        .find(|e| e.from == from && e.to == to)
        .map(|e| e.count)
}

#[test]
fn replaced_and_superseded_copies_count_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir.path().join("s.db"));
    let ts = T0 + 10 * HOUR;
    // A larger copy of a usage entry replaces the first: its model and error count instead.
    store
        .apply(&batch(vec![usage("u1", ts, 100, "m1", false)]))
        .expect("apply");
    let s = store
        .apply(&batch(vec![usage("u1", ts, 500, "m2", true)]))
        .expect("apply");
    assert_eq!(s.updated, 1);
    let hour = store.activity(T0, None).expect("activity");
    assert_eq!(hour.len(), 1);
    assert_eq!(
        (hour[0].hour_ms, hour[0].turns, hour[0].errors),
        (T0 + 10 * HOUR, 1, 1)
    );
    assert_eq!(count_of(&store, "claude-code", "m1"), None);
    assert_eq!(count_of(&store, "claude-code", "m2"), Some(1));

    // A changed copy of an execution (with and without a call id) replaces the first.
    store
        .apply(&batch(vec![
            finished("f1", None, ts + 1000, 100, false),
            finished("f2", Some("k2"), ts + 2000, 100, false),
        ]))
        .expect("apply");
    let s = store
        .apply(&batch(vec![
            finished("f1", None, ts + 1000, 2000, true),
            finished("f2", Some("k2"), ts + 2000, 2000, true),
        ]))
        .expect("apply");
    assert_eq!(s.updated, 2);
    let exec = one(&store, "exec");
    assert_eq!((exec.calls, exec.errors), (2, 2));
    assert_eq!((exec.p50_ms, exec.p95_ms), (Some(1933), Some(1933)));
    assert!(within(exec.p50_ms, Some(2000)));
    assert_eq!(exec.last_ms, Some(ts + 2000));
    // Both executions ran after the m2 response: attributed to m2.
    assert_eq!(count_of(&store, "m2", "exec"), Some(2));
    let hour = store.activity(T0, None).expect("activity");
    assert_eq!((hour[0].tool_calls, hour[0].errors), (2, 3));

    // The transcript copy of k2 arrives: the execution report stops counting.
    let mut call = usage("u2", ts + 1500, 50, "m2", false);
    call.id = "u2:call".into();
    call.kind = Some(EventKind::ToolCall);
    call.merge = Merge::KeepFirst;
    call.error = None;
    call.tool = Some(ToolInfo {
        name: Some("exec".into()),
        call_id: Some("k2".into()),
        ..ToolInfo::default()
    });
    store.apply(&batch(vec![call])).expect("apply");
    let exec = one(&store, "exec");
    assert_eq!((exec.calls, exec.errors), (2, 1));
    assert_eq!(count_of(&store, "m2", "exec"), Some(2));

    // A usage span stored first is superseded by its transcript copy: one turn, not two.
    let mut rec = SpanRecord {
        trace_id: "ab".repeat(16),
        span_id: "cd".repeat(8),
        name: "openclaw.model.usage".into(),
        kind: "internal",
        service: "openclaw-gateway".into(),
        start_ns: (ts + 3 * HOUR - 1000) * 1_000_000,
        end_ns: (ts + 3 * HOUR) * 1_000_000,
        class: Some(SpanClass::Usage),
        model: Some("claude-sonnet-4-5".into()),
        attrs: "{}".into(),
        resource: r#"{"service.name":"openclaw-gateway"}"#.into(),
        ..SpanRecord::default()
    };
    rec.tokens.input = 777;
    rec.tokens.output = 7;
    let mut span_ev = usage("otel:span", ts + 3 * HOUR, 777, "claude-sonnet-4-5", false);
    span_ev.source = Some(SourceKind::Otel);
    span_ev.agent = None;
    span_ev.session_key = "otel:openclaw-gateway".into();
    span_ev.tokens.output = 7;
    rec.event = Some(span_ev);
    store
        .apply_telemetry(&Telemetry {
            spans: vec![rec],
            ..Telemetry::default()
        })
        .expect("telemetry");
    assert_eq!(count_of(&store, "unknown", "claude-sonnet-4-5"), Some(1));
    let mut transcript = usage("t1", ts + 3 * HOUR + 2000, 777, "claude-sonnet-4-5", false);
    transcript.source = Some(SourceKind::OpenClaw);
    transcript.agent = Some("main".into());
    transcript.tokens.output = 7;
    store.apply(&batch(vec![transcript])).expect("apply");
    assert_eq!(count_of(&store, "unknown", "claude-sonnet-4-5"), None);
    assert_eq!(count_of(&store, "main", "claude-sonnet-4-5"), Some(1));
    let late = store.activity(ts + 3 * HOUR, None).expect("activity");
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].turns, 1);
    check_against_events(&store);
}

#[test]
fn windows_start_at_the_day_or_hour_holding_since() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir.path().join("s.db"));
    let day = T0 + 3 * DAY;
    let call = |id: &str, ts: i64, tool: &str| Event {
        id: id.into(),
        ts_ms: ts,
        kind: Some(EventKind::ToolCall),
        source: Some(SourceKind::OpenClaw),
        agent: Some("main".into()),
        session_key: "s".into(),
        tool: Some(ToolInfo {
            name: Some(tool.into()),
            call_id: Some(id.into()),
            ..ToolInfo::default()
        }),
        ..Event::default()
    };
    store
        .apply(&batch(vec![
            call("a", day - HOUR, "exec"),
            call("b", day + HOUR, "exec"),
            call("c", day + 5 * HOUR + 10, "read"),
            call("d", day + 5 * HOUR + 20, "read"),
        ]))
        .expect("apply");
    let names = |since| -> Vec<(String, u64)> {
        store
            .tool_stats(since)
            .expect("tool_stats")
            .into_iter()
            .map(|s| (s.tool, s.calls))
            .collect()
    };
    assert_eq!(names(None), vec![("exec".into(), 2), ("read".into(), 2)]);
    // Day resolution: the whole day of `since` counts, the day before does not.
    assert_eq!(
        names(Some(day + 3 * HOUR)),
        vec![("read".into(), 2), ("exec".into(), 1)]
    );
    assert_eq!(names(Some(day + DAY)), vec![]);
    // A failure the day before is outside the window; its tool's newest error is not shown.
    let mut failure = call("e", day - 2 * HOUR, "exec");
    failure.kind = Some(EventKind::ToolResult);
    failure.tool = Some(ToolInfo {
        name: Some("exec".into()),
        result: Some("boom".into()),
        is_error: true,
        ..ToolInfo::default()
    });
    store.apply(&batch(vec![failure])).expect("apply");
    let exec = |since| {
        store
            .tool_stats(since)
            .expect("tool_stats")
            .into_iter()
            .find(|s| s.tool == "exec")
            .expect("exec")
    };
    let all = exec(None);
    assert_eq!((all.calls, all.errors), (2, 1));
    let e = all.last_error.expect("newest error");
    assert_eq!(
        (e.ts_ms, e.session_key.as_str(), e.message.as_str()),
        (day - 2 * HOUR, "s", "boom")
    );
    let window = exec(Some(day + 3 * HOUR));
    assert_eq!(
        (window.calls, window.errors, window.last_error),
        (1, 0, None)
    );
    assert_eq!(
        store.flow(Some(day + 3 * HOUR)).expect("flow"),
        vec![
            FlowEdge {
                from_kind: "model".into(),
                from: "unknown".into(),
                to_kind: "tool".into(),
                to: "read".into(),
                count: 2
            },
            FlowEdge {
                from_kind: "model".into(),
                from: "unknown".into(),
                to_kind: "tool".into(),
                to: "exec".into(),
                count: 1
            },
        ]
    );
    // Hour resolution, `until` exclusive.
    let hours = |since, until| -> Vec<(i64, u64)> {
        store
            .activity(since, until)
            .expect("activity")
            .into_iter()
            .map(|b| (b.hour_ms, b.tool_calls))
            .collect()
    };
    assert_eq!(
        hours(day + 5 * HOUR + 59 * 60_000, None),
        vec![(day + 5 * HOUR, 2)]
    );
    assert_eq!(hours(day, Some(day + 5 * HOUR)), vec![(day + HOUR, 1)]);
    assert_eq!(
        hours(day - DAY, Some(day + 5 * HOUR + 1)),
        vec![
            (day - 2 * HOUR, 0),
            (day - HOUR, 1),
            (day + HOUR, 1),
            (day + 5 * HOUR, 2)
        ]
    );
}
