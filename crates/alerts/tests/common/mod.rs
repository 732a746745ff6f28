//! A rig for rule tests: a real SQLite store in a temp dir, events parsed from
//! OpenClaw-format transcript lines and state-DB rows by the real parsers, and an
//! engine evaluated at chosen times. Notifications are counted from the store's outbox.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{json, Value};

use clawscope_alerts::engine::{Engine, EngineConfig, GatewayProbe, Inputs, Route};
use clawscope_alerts::rules::{builtins, BudgetAmounts, RuleEdit, RuleSet};
use clawscope_core::alert::{Severity, Silence, Transition};
use clawscope_core::batch::Batch;
use clawscope_core::openclaw::state::{CronJobRow, CronRunRow};
use clawscope_core::openclaw::transcript::TranscriptState;
use clawscope_core::query::EventFilter;
use clawscope_core::Event;
use clawscope_store::{AlertStore, SqliteStore, Store};

/// 2026-11-21 12:00:00 UTC.
pub const T0: i64 = 1_795_262_400_000;
pub const MIN: i64 = 60_000;

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub engine: Engine,
    pub gateway: Option<GatewayProbe>,
    sessions: BTreeMap<String, TranscriptState>,
    seq: u64,
    pub edits: BTreeMap<String, RuleEdit>,
}

pub fn edit(toml_text: &str) -> RuleEdit {
    toml::from_str(toml_text).expect("rule edit parses")
}

fn engine(edits: &BTreeMap<String, RuleEdit>) -> Engine {
    let rules = RuleSet::build(
        builtins(BudgetAmounts {
            day: Some(10.0),
            week: None,
            month: None,
        }),
        edits,
        &[],
    )
    .expect("valid rules");
    Engine::new(
        rules,
        EngineConfig {
            tz: chrono_tz::UTC,
            routes: vec![Route {
                name: "rec".into(),
                min_severity: Severity::Info,
            }],
            default_notify: None,
            dashboard_url: None,
        },
    )
}

impl Rig {
    /// Only `only` (rule ids) enabled, with `edits` applied.
    pub fn new(only: &[&str], extra: &[(&str, &str)]) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("store.db")).expect("open store");
        let mut edits = BTreeMap::new();
        for r in builtins(BudgetAmounts::default()) {
            if !only.contains(&r.id.as_str()) {
                edits.insert(r.id.clone(), edit("enabled = false"));
            }
        }
        for (id, e) in extra {
            edits.insert(id.to_string(), edit(e));
        }
        let mut engine = engine(&edits);
        engine.load(&store, T0).expect("load");
        Rig {
            dir,
            store,
            engine,
            gateway: None,
            sessions: BTreeMap::new(),
            seq: 0,
            edits,
        }
    }

    /// Simulate a restart: a new engine loaded from the same store file.
    pub fn restart(&mut self, now: i64) {
        self.store = SqliteStore::open(&self.dir.path().join("store.db")).expect("reopen");
        self.engine = engine(&self.edits);
        self.engine.load(&self.store, now).expect("load");
    }

    fn state(&mut self, key: &str) -> &mut TranscriptState {
        self.sessions.entry(key.to_string()).or_insert_with(|| {
            let agent = key.split(':').nth(1).unwrap_or("main").to_string();
            TranscriptState {
                agent: Some(agent),
                session_key: key.to_string(),
                session_id: format!("sid-{}", key.replace(':', "-")),
                context_max: Some(200_000),
                ..TranscriptState::default()
            }
        })
    }

    /// Parse OpenClaw transcript entries (`message` objects) into the store.
    pub fn transcript(&mut self, key: &str, messages: &[Value]) {
        let mut events = Vec::new();
        for m in messages {
            self.seq += 1;
            let ts = m["timestamp"].as_i64().expect("message timestamp");
            let line = json!({
                "type": "message",
                "id": format!("{:08x}-0000-4000-8000-{:012x}", self.seq, self.seq),
                "timestamp": chrono::DateTime::from_timestamp_millis(ts).expect("ts").to_rfc3339(),
                "message": m,
            })
            .to_string();
            self.state(key)
                .parse_line(line.as_bytes(), None, &mut events)
                .expect("line parses");
        }
        self.apply(events);
    }

    pub fn apply(&mut self, events: Vec<Event>) {
        self.store
            .apply(&Batch {
                events,
                ..Batch::default()
            })
            .expect("apply");
    }

    /// Feed new stored events to the engine, evaluate at `now`, commit.
    pub fn tick(&mut self, now: i64) {
        let events = self
            .store
            .events(&EventFilter {
                after_seq: Some(self.engine.cursor()),
                limit: 100_000,
                ..EventFilter::default()
            })
            .expect("events");
        self.engine.observe(&events, now);
        let silences = self.store.silences(Some(now)).expect("silences");
        let changes = {
            let inputs = Inputs {
                now_ms: now,
                tz: chrono_tz::UTC,
                store: &self.store,
                gateway: self.gateway.clone(),
            };
            self.engine.evaluate(&inputs, &silences).expect("evaluate")
        };
        if std::env::var("RIG_DEBUG").is_ok() {
            eprintln!("{now}: {changes:?}");
        }
        let ids = self.store.apply_alerts(&changes).expect("apply alerts");
        self.engine.committed(&changes, &ids);
    }

    /// Notifications queued so far for rule `rule` (any scope), by transition.
    pub fn notified(&self, rule: &str, t: Transition) -> usize {
        self.store
            .deliveries(None, 0)
            .expect("deliveries")
            .iter()
            .filter(|d| d.notification.rule_id == rule && d.notification.transition == t)
            .count()
    }

    /// (fired, resolved) notification counts for `rule`.
    pub fn counts(&self, rule: &str) -> (usize, usize) {
        (
            self.notified(rule, Transition::Fire),
            self.notified(rule, Transition::Resolve),
        )
    }

    pub fn firing(&self) -> Vec<String> {
        self.engine
            .open_alerts()
            .iter()
            .map(|a| format!("{} {}", a.rule_id, a.scope))
            .collect()
    }

    pub fn silence(&mut self, rule: Option<&str>, scope: Option<&str>, until: i64) {
        self.store
            .add_silence(&Silence {
                rule_id: rule.map(str::to_string),
                scope: scope.map(str::to_string),
                until_ms: until,
                reason: "test".into(),
                created_by: "test".into(),
                created_ms: T0,
                ..Silence::default()
            })
            .expect("silence");
    }

    pub fn cron_job(&mut self, id: &str, enabled: bool, next_run: i64, at: i64) {
        let row = CronJobRow {
            job_id: id.into(),
            name: format!("job-{id}"),
            enabled,
            agent_id: Some("main".into()),
            schedule: Some(r#"{"kind":"every","everyMs":3600000}"#.into()),
            state_json: Some(json!({"nextRunAtMs": next_run}).to_string()),
            updated_at: at,
        };
        self.apply(vec![row.to_event()]);
    }

    pub fn cron_run(&mut self, job: &str, receipt: &str, status: &str, at: i64) {
        let row = CronRunRow {
            receipt_id: receipt.into(),
            job_id: job.into(),
            agent_id: Some("main".into()),
            status: status.into(),
            started_at_ms: at,
            finished_at_ms: Some(at + 1000),
            error_text: (status == "error").then(|| "tool exec failed: exit 2".to_string()),
            ..CronRunRow::default()
        };
        self.apply(vec![row.to_event()]);
    }
}

/// An assistant reply in OpenClaw's transcript shape, with reported usage and cost.
pub fn assistant(ts: i64, input: u64, output: u64, cost: f64) -> Value {
    json!({
        "role": "assistant",
        "content": [{"type": "text", "text": "ok"}],
        "api": "openai-completions", "provider": "mock", "model": "mock-model",
        "usage": {"input": input, "output": output, "cacheRead": 0, "cacheWrite": 0,
                  "totalTokens": input + output,
                  "cost": {"input": cost * 0.8, "output": cost * 0.2, "cacheRead": 0, "cacheWrite": 0, "total": cost}},
        "stopReason": "stop",
        "timestamp": ts,
    })
}

/// An assistant reply that calls `tool` with `args`.
pub fn tool_call(ts: i64, call_id: &str, tool: &str, args: Value) -> Value {
    json!({
        "role": "assistant",
        "content": [{"type": "toolCall", "id": call_id, "name": tool, "arguments": args}],
        "api": "openai-completions", "provider": "mock", "model": "mock-model",
        "usage": {"input": 100, "output": 10, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 110,
                  "cost": {"input": 0.0003, "output": 0.00015, "cacheRead": 0, "cacheWrite": 0, "total": 0.00045}},
        "stopReason": "toolUse",
        "timestamp": ts,
    })
}

/// A tool result.
pub fn tool_result(ts: i64, call_id: &str, tool: &str, is_error: bool) -> Value {
    json!({
        "role": "toolResult", "toolCallId": call_id, "toolName": tool,
        "content": [{"type": "text", "text": if is_error { "File not found" } else { "done" }}],
        "details": {"status": if is_error { "error" } else { "completed" }, "durationMs": 12},
        "isError": is_error,
        "timestamp": ts,
    })
}

/// An assistant reply that failed (provider error, as OpenClaw stores it).
pub fn failed_reply(ts: i64) -> Value {
    json!({
        "role": "assistant", "content": [],
        "api": "openai-completions", "provider": "mock", "model": "mock-model",
        "usage": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 0,
                  "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": 0}},
        "stopReason": "error", "errorMessage": "500 mock 500: upstream failed",
        "timestamp": ts,
    })
}
