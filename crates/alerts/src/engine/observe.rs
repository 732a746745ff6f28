//! What the engine remembers from the events it has seen: rolling samples (cost,
//! tokens, requests, errors), per-session state (context use, open runs and tool
//! calls, the current tool-call streak) and cron jobs. Rebuilt by replaying recent
//! events at start, so a restart sees what it saw before.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use clawscope_core::openclaw::state::{CronJobAttrs, CronRunAttrs};
use clawscope_core::query::StoredEvent;
use clawscope_core::{Event, EventKind};

/// One event's contribution to the rolling windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// When.
    pub ts_ms: i64,
    /// Session key (shared by the samples of one session).
    pub session_key: Arc<str>,
    /// USD.
    pub cost: f64,
    /// Tokens.
    pub tokens: u64,
    /// 1 for a model reply with usage.
    pub requests: u64,
    /// Model replies and tool results (the error-rate denominator).
    pub outcomes: u64,
    /// Failed ones among them.
    pub errors: u64,
}

/// A session as far as the rules care.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionObs {
    /// Agent id.
    pub agent: Option<String>,
    /// Newest event time.
    pub last_ts_ms: i64,
    /// Latest (context used, context window).
    pub context: Option<(u64, u64)>,
    /// Runs and tool calls started and not finished: id → start time.
    pub open: BTreeMap<String, i64>,
    /// The current streak of identical tool calls: (tool, arguments), length.
    pub streak: Option<(String, String)>,
    /// Length of that streak.
    pub streak_len: u64,
    /// Call ids already counted in the streak (a re-read copy is not a repeat).
    streak_ids: Vec<String>,
    /// Tool calls that finished, with when (a re-stored copy of the call must not reopen
    /// it). Forgotten past the idle horizon, as idle sessions are: bounded by the calls
    /// of that window, also for a session that never goes quiet.
    closed: HashMap<String, i64>,
}

/// A cron job's latest known state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CronObs {
    /// Display name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Next scheduled run (epoch ms).
    pub next_run_ms: Option<i64>,

    /// Latest finished run: (started ms, failed, error text).
    pub last_run: Option<(i64, bool, Option<String>)>,
}

/// Everything observed.
#[derive(Debug, Default)]
pub struct Observed {
    /// Rolling samples by a 128-bit hash of the event id (a re-stored copy replaces its
    /// sample). At a high event rate the window holds many: no id is kept per sample.
    samples: HashMap<u128, Sample>,
    /// The session keys the samples share.
    session_keys: HashSet<Arc<str>>,
    /// Sessions by key.
    pub sessions: HashMap<String, SessionObs>,
    /// Cron jobs by id.
    pub crons: HashMap<String, CronObs>,
    /// Highest store sequence observed.
    pub max_seq: i64,
    /// Newest event time observed.
    pub newest_ts_ms: i64,
    /// The idle horizon of the last prune: what finished before it is forgotten, so a
    /// tool call older than it does not open (it would be a re-stored copy of a call whose
    /// end was forgotten, or old history, not a call hanging now).
    horizon_ms: Option<i64>,
}

fn is_failure(ev: &Event) -> bool {
    ev.error.is_some()
        || ev.stop_reason.as_deref() == Some("error")
        || ev.tool.as_ref().is_some_and(|t| t.is_error)
}

impl Observed {
    /// Take one stored event into account.
    pub fn observe(&mut self, se: &StoredEvent) {
        self.max_seq = self.max_seq.max(se.seq);
        let ev = &se.event;
        self.newest_ts_ms = self.newest_ts_ms.max(ev.ts_ms);
        match ev.kind {
            Some(EventKind::CronJob) => return self.cron_job(ev),
            Some(EventKind::CronRun) => return self.cron_run(ev),
            Some(EventKind::Log) | None => return,
            _ => {}
        }
        self.sample(ev);
        if ev.session_key.is_empty() {
            return;
        }
        let s = self.sessions.entry(ev.session_key.clone()).or_default();
        s.last_ts_ms = s.last_ts_ms.max(ev.ts_ms);
        if ev.agent.is_some() {
            s.agent.clone_from(&ev.agent);
        }
        if let (Some(used), Some(max)) = (ev.context_used, ev.context_max) {
            if max > 0 {
                s.context = Some((used, max));
            }
        }
        let call = ev.tool.as_ref().and_then(|t| t.call_id.clone());
        let current = self.horizon_ms.is_none_or(|h| ev.ts_ms >= h);
        match ev.kind {
            Some(EventKind::RunStarted) => {
                if let Some(r) = &ev.run_id {
                    s.open.insert(format!("run:{r}"), ev.ts_ms);
                }
            }
            Some(EventKind::RunFinished) => {
                if let Some(r) = &ev.run_id {
                    s.open.remove(&format!("run:{r}"));
                }
            }
            Some(EventKind::ToolCall | EventKind::ToolStarted) => {
                if let Some(c) = call
                    .as_ref()
                    .filter(|c| current && !s.closed.contains_key(*c))
                {
                    s.open.insert(format!("tool:{c}"), ev.ts_ms);
                }
                if ev.kind == Some(EventKind::ToolCall) {
                    streak(s, ev, call.as_deref());
                }
            }
            Some(EventKind::ToolResult | EventKind::ToolFinished) => {
                if let Some(c) = &call {
                    s.open.remove(&format!("tool:{c}"));
                    s.closed.insert(c.clone(), ev.ts_ms);
                }
            }
            Some(EventKind::Compaction) => s.context = None,
            _ => {}
        }
    }

    fn sample(&mut self, ev: &Event) {
        let usage = ev.kind == Some(EventKind::AssistantMessage);
        let outcome = matches!(
            ev.kind,
            Some(EventKind::AssistantMessage | EventKind::ToolResult | EventKind::ToolFinished)
        );
        let cost = ev.cost.total.unwrap_or(0.0);
        let tokens = ev.tokens.total();
        if !outcome && cost == 0.0 && tokens == 0 {
            return;
        }
        let session_key = match self.session_keys.get(ev.session_key.as_str()) {
            Some(k) => k.clone(),
            None => {
                let k: Arc<str> = Arc::from(ev.session_key.as_str());
                self.session_keys.insert(k.clone());
                k
            }
        };
        self.samples.insert(
            xxhash_rust::xxh3::xxh3_128(ev.id.as_bytes()),
            Sample {
                ts_ms: ev.ts_ms,
                session_key,
                cost,
                tokens,
                requests: u64::from(usage && tokens > 0),
                outcomes: u64::from(outcome),
                errors: u64::from(outcome && is_failure(ev)),
            },
        );
    }

    fn cron_job(&mut self, ev: &Event) {
        let Some(a) = CronJobAttrs::of(ev) else {
            return;
        };
        let c = self.crons.entry(a.job_id.clone()).or_default();
        c.name = ev.text.clone().unwrap_or_else(|| a.job_id.clone());
        c.enabled = a.enabled;
        c.next_run_ms = a.next_run_ms;
    }

    fn cron_run(&mut self, ev: &Event) {
        let Some(a) = CronRunAttrs::of(ev) else {
            return;
        };
        if matches!(a.status.as_str(), "running" | "skipped" | "superseded") {
            return;
        }
        let failed = a.status == "error" || ev.error.is_some();
        let c = self.crons.entry(a.job_id).or_default();
        if c.last_run.as_ref().is_none_or(|(t, ..)| ev.ts_ms >= *t) {
            let why = ev.error.as_ref().and_then(|e| e.message.clone());
            c.last_run = Some((ev.ts_ms, failed, why));
        }
    }

    /// Forget samples older than `before_ms`, sessions idle since before `idle_ms`, and
    /// tool calls that finished before `idle_ms`; from now on a tool call older than
    /// `idle_ms` does not open (one first seen that late, such as from an import lagging
    /// by more than the horizon, is not watched for hanging).
    pub fn prune(&mut self, before_ms: i64, idle_ms: i64) {
        self.samples.retain(|_, s| s.ts_ms >= before_ms);
        // A key no sample holds any more (only this set does).
        self.session_keys.retain(|k| Arc::strong_count(k) > 1);
        self.sessions.retain(|_, s| {
            s.closed.retain(|_, finished_ms| *finished_ms >= idle_ms);
            s.last_ts_ms >= idle_ms
        });
        self.horizon_ms = Some(idle_ms);
    }

    /// Samples at or after `since_ms`.
    pub fn samples_since(&self, since_ms: i64) -> impl Iterator<Item = &Sample> {
        self.samples.values().filter(move |s| s.ts_ms >= since_ms)
    }
}

/// Count a tool call into its session's streak of identical calls.
fn streak(s: &mut SessionObs, ev: &Event, call: Option<&str>) {
    let Some(tool) = ev.tool.as_ref() else {
        return;
    };
    let sig = (
        tool.name.clone().unwrap_or_default(),
        tool.arguments.clone().unwrap_or_default(),
    );
    if let Some(c) = call {
        if s.streak_ids.iter().any(|x| x == c) {
            return;
        }
    }
    if s.streak.as_ref() == Some(&sig) {
        s.streak_len += 1;
    } else {
        s.streak = Some(sig);
        s.streak_len = 1;
        s.streak_ids.clear();
    }
    if let Some(c) = call {
        s.streak_ids.push(c.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawscope_core::Cost;

    fn usage(id: &str, session: &str, ts_ms: i64, cost: f64, seq: i64) -> StoredEvent {
        let mut event = Event {
            id: id.into(),
            ts_ms,
            kind: Some(EventKind::AssistantMessage),
            session_key: session.into(),
            cost: Cost {
                total: Some(cost),
                ..Cost::default()
            },
            ..Event::default()
        };
        event.tokens.input = 10;
        StoredEvent { seq, event }
    }

    fn spent(o: &Observed, since_ms: i64) -> f64 {
        o.samples_since(since_ms).map(|s| s.cost).sum()
    }

    #[test]
    fn a_re_stored_copy_replaces_its_sample_and_sessions_share_one_key() {
        let mut o = Observed::default();
        o.observe(&usage("a", "s1", 1_000, 1.0, 1));
        o.observe(&usage("b", "s1", 2_000, 2.0, 2));
        o.observe(&usage("c", "s2", 3_000, 4.0, 3));
        assert_eq!(spent(&o, 0), 7.0);
        // A better copy of `a` (same id, stored again) counts once, with its new cost.
        o.observe(&usage("a", "s1", 1_000, 1.5, 4));
        assert_eq!(spent(&o, 0), 7.5);
        let s1: Vec<&Sample> = o
            .samples_since(0)
            .filter(|s| &*s.session_key == "s1")
            .collect();
        assert_eq!(s1.len(), 2);
        assert!(Arc::ptr_eq(&s1[0].session_key, &s1[1].session_key));
        assert_eq!(o.session_keys.len(), 2);
        // Pruning drops old samples and the keys only they held.
        o.prune(2_500, 0);
        assert_eq!(spent(&o, 0), 4.0);
        assert_eq!(o.session_keys.len(), 1);
        assert!(o.session_keys.contains("s2"));
    }

    fn tool(kind: EventKind, call: &str, ts_ms: i64, seq: i64) -> StoredEvent {
        let event = Event {
            id: format!("{call}:{kind:?}:{ts_ms}"),
            ts_ms,
            kind: Some(kind),
            session_key: "busy".into(),
            tool: Some(clawscope_core::ToolInfo {
                name: Some("exec".into()),
                call_id: Some(call.into()),
                ..Default::default()
            }),
            ..Event::default()
        };
        StoredEvent { seq, event }
    }

    #[test]
    fn a_session_that_never_goes_quiet_forgets_old_finished_calls_and_does_not_reopen_them() {
        let mut o = Observed::default();
        o.observe(&tool(EventKind::ToolCall, "c1", 1_000, 1));
        o.observe(&tool(EventKind::ToolResult, "c1", 1_500, 2));
        o.observe(&tool(EventKind::ToolCall, "c2", 9_000, 3));
        o.observe(&tool(EventKind::ToolResult, "c2", 9_500, 4));
        // A re-stored copy of a finished call does not reopen it.
        o.observe(&tool(EventKind::ToolCall, "c1", 1_000, 5));
        assert!(o.sessions["busy"].open.is_empty());
        // The session stays (active at 9.5 s); the call that finished before the idle
        // horizon is forgotten, the later one kept.
        o.prune(0, 5_000);
        let s = &o.sessions["busy"];
        assert_eq!(s.closed.keys().collect::<Vec<_>>(), ["c2"]);
        // A copy of the forgotten call, older than the horizon, stays closed; a copy of
        // the remembered one too; a new call opens.
        o.observe(&tool(EventKind::ToolCall, "c1", 1_000, 6));
        o.observe(&tool(EventKind::ToolCall, "c2", 9_000, 7));
        o.observe(&tool(EventKind::ToolCall, "c3", 10_000, 8));
        let open: Vec<&String> = o.sessions["busy"].open.keys().collect();
        assert_eq!(open, ["tool:c3"]);
    }
}
