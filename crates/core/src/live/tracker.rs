//! Live session state from the event sequence: what each session is doing now.
//!
//! A session is *pending* while a run is open, a tool call has no result yet, or a
//! user message / tool result waits for the model. Pending with progress in the last
//! `hung_after` is **active**; pending without progress for longer is **hung**
//! (OpenClaw's own "session stuck" notion). Not pending, it is **ended** (a finished
//! sub-agent), **errored** (the last run or reply failed) or **idle**.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::model::{Event, EventKind};

/// A session's live status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Working, with recent progress.
    Active,
    /// Waiting for the next message.
    Idle,
    /// Finished for good (a sub-agent that completed).
    Ended,
    /// The last run or reply failed.
    Errored,
    /// Working, but no progress for longer than the hung threshold.
    Hung,
}

impl SessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Idle => "idle",
            SessionStatus::Ended => "ended",
            SessionStatus::Errored => "errored",
            SessionStatus::Hung => "hung",
        }
    }
}

/// One session's live state, as published and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveSession {
    /// Session key.
    pub session_key: String,
    /// Agent.
    pub agent: Option<String>,
    /// Status now.
    pub status: SessionStatus,
    /// What a pending session waits on: `run`, `model`, or `tool:<name>`.
    pub waiting_on: Option<String>,
    /// Runs started and not finished.
    pub open_runs: Vec<String>,
    /// Last event time (epoch ms).
    pub last_event_ms: i64,
    /// Since when the session has been pending.
    pub pending_since_ms: Option<i64>,
    /// Prompt tokens of the last model call.
    pub context_used: Option<u64>,
    /// The model's context window.
    pub context_max: Option<u64>,
    /// `context_used / context_max`, when both are known.
    pub context_ratio: Option<f64>,
    /// Last model.
    pub model: Option<String>,
    /// Parent session (sub-agents).
    pub parent_session_key: Option<String>,
    /// Child sessions (sub-agents spawned here).
    pub children: Vec<String>,
    /// The last error message, while errored.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Track {
    agent: Option<String>,
    open_runs: BTreeSet<String>,
    open_tools: HashMap<String, String>,
    awaiting_model: bool,
    pending_since: Option<i64>,
    last_event: i64,
    ended: bool,
    error: Option<String>,
    context_used: Option<u64>,
    context_max: Option<u64>,
    model: Option<String>,
    parent: Option<String>,
    children: BTreeSet<String>,
    /// A tick already published this session as hung (reset by any progress).
    hung_reported: bool,
}

impl Track {
    fn pending(&self) -> bool {
        !self.open_runs.is_empty() || !self.open_tools.is_empty() || self.awaiting_model
    }

    fn status(&self, now_ms: i64, hung_after_ms: i64) -> SessionStatus {
        if self.pending() {
            if now_ms - self.last_event > hung_after_ms {
                SessionStatus::Hung
            } else {
                SessionStatus::Active
            }
        } else if self.ended {
            SessionStatus::Ended
        } else if self.error.is_some() {
            SessionStatus::Errored
        } else {
            SessionStatus::Idle
        }
    }

    fn view(&self, key: &str, now_ms: i64, hung_after_ms: i64) -> LiveSession {
        let waiting_on = if let Some(name) = self.open_tools.values().next() {
            Some(format!("tool:{name}"))
        } else if self.awaiting_model {
            Some("model".into())
        } else if !self.open_runs.is_empty() {
            Some("run".into())
        } else {
            None
        };
        LiveSession {
            session_key: key.to_string(),
            agent: self.agent.clone(),
            status: self.status(now_ms, hung_after_ms),
            waiting_on,
            open_runs: self.open_runs.iter().cloned().collect(),
            last_event_ms: self.last_event,
            pending_since_ms: self.pending_since,
            context_used: self.context_used,
            context_max: self.context_max,
            context_ratio: self
                .context_used
                .zip(self.context_max.filter(|m| *m > 0))
                .map(|(u, m)| u as f64 / m as f64),
            model: self.model.clone(),
            parent_session_key: self.parent.clone(),
            children: self.children.iter().cloned().collect(),
            last_error: self.error.clone(),
        }
    }
}

/// Tracks every recently seen session.
#[derive(Debug)]
pub struct Tracker {
    sessions: HashMap<String, Track>,
    hung_after_ms: i64,
    forget_after_ms: i64,
}

/// A view with the ever-moving fields blanked, to tell real changes apart.
fn shape(v: &LiveSession) -> LiveSession {
    LiveSession {
        last_event_ms: 0,
        ..v.clone()
    }
}

fn child_of(ev: &Event) -> Option<String> {
    let attrs: serde_json::Value = serde_json::from_str(ev.attrs.as_deref()?).ok()?;
    attrs
        .get("childSessionKey")?
        .as_str()
        .filter(|k| !k.is_empty())
        .map(str::to_string)
}

impl Tracker {
    /// A tracker calling a session hung after `hung_after_ms` without progress and
    /// forgetting sessions idle for `forget_after_ms`.
    pub fn new(hung_after_ms: i64, forget_after_ms: i64) -> Tracker {
        Tracker {
            sessions: HashMap::new(),
            hung_after_ms,
            forget_after_ms,
        }
    }

    /// Feed one event (in store order); returns the sessions whose state changed.
    pub fn observe(&mut self, ev: &Event, now_ms: i64) -> Vec<LiveSession> {
        if ev.session_key.is_empty()
            || matches!(
                ev.kind,
                Some(EventKind::CronJob | EventKind::Log | EventKind::TaskRun)
            )
        {
            return Vec::new();
        }
        let key = ev.session_key.clone();
        let mut touched = vec![key.clone()];
        let before: HashMap<String, LiveSession> = self.snapshot_of(&key, ev, now_ms);
        let child = match ev.kind {
            Some(EventKind::SubagentSpawned) => child_of(ev),
            _ => None,
        };
        {
            let t = self.sessions.entry(key.clone()).or_default();
            apply(t, ev);
            if let Some(c) = &child {
                t.children.insert(c.clone());
            }
        }
        if let Some(c) = child {
            let ct = self.sessions.entry(c.clone()).or_default();
            ct.parent.get_or_insert_with(|| key.clone());
            ct.last_event = ct.last_event.max(ev.ts_ms);
            touched.push(c);
        }
        if let Some(parent) = ev.parent_session_key.clone() {
            self.sessions
                .entry(parent.clone())
                .or_default()
                .children
                .insert(key.clone());
            touched.push(parent);
        }
        touched
            .into_iter()
            .filter_map(|k| {
                let now = self.sessions.get(&k)?.view(&k, now_ms, self.hung_after_ms);
                let changed = before.get(&k).is_none_or(|b| shape(b) != shape(&now));
                changed.then_some(now)
            })
            .collect()
    }

    fn snapshot_of(&self, key: &str, ev: &Event, now_ms: i64) -> HashMap<String, LiveSession> {
        let mut keys = vec![key.to_string()];
        keys.extend(child_of(ev));
        keys.extend(ev.parent_session_key.clone());
        keys.into_iter()
            .filter_map(|k| {
                let v = self.sessions.get(&k)?.view(&k, now_ms, self.hung_after_ms);
                Some((k, v))
            })
            .collect()
    }

    /// Progress seen for a session without a stored event (a streaming delta):
    /// keeps a working session from counting as hung.
    pub fn touch(&mut self, key: &str, ts_ms: i64, now_ms: i64) -> Vec<LiveSession> {
        let hung = self.hung_after_ms;
        let Some(t) = self.sessions.get_mut(key) else {
            return Vec::new();
        };
        let was = t.status(now_ms, hung);
        t.last_event = t.last_event.max(ts_ms);
        t.hung_reported = false;
        let is = t.status(now_ms, hung);
        if was == is {
            return Vec::new();
        }
        vec![t.view(key, now_ms, hung)]
    }

    /// Advance the clock: sessions that turned hung, and forget old quiet ones.
    pub fn tick(&mut self, now_ms: i64) -> Vec<LiveSession> {
        let (hung, forget) = (self.hung_after_ms, self.forget_after_ms);
        self.sessions
            .retain(|_, t| t.pending() || now_ms - t.last_event <= forget);
        let mut out: Vec<LiveSession> = self
            .sessions
            .iter_mut()
            .filter(|(_, t)| !t.hung_reported && t.status(now_ms, hung) == SessionStatus::Hung)
            .map(|(k, t)| {
                t.hung_reported = true;
                t.view(k, now_ms, hung)
            })
            .collect();
        out.sort_by(|a, b| a.session_key.cmp(&b.session_key));
        out
    }

    /// Every tracked session, most recent first.
    pub fn sessions(&self, now_ms: i64) -> Vec<LiveSession> {
        let mut v: Vec<LiveSession> = self
            .sessions
            .iter()
            .map(|(k, t)| t.view(k, now_ms, self.hung_after_ms))
            .collect();
        v.sort_by(|a, b| {
            b.last_event_ms
                .cmp(&a.last_event_ms)
                .then_with(|| a.session_key.cmp(&b.session_key))
        });
        v
    }
}

/// Open runs remembered per session at most.
const MAX_OPEN_RUNS: usize = 64;

fn apply(t: &mut Track, ev: &Event) {
    let was_pending = t.pending();
    t.hung_reported = false;
    t.last_event = t.last_event.max(ev.ts_ms);
    if t.agent.is_none() {
        t.agent = ev.agent.clone();
    }
    if t.parent.is_none() {
        t.parent = ev.parent_session_key.clone();
    }
    let call = || ev.tool.as_ref().and_then(|x| x.call_id.clone());
    match ev.kind {
        Some(EventKind::RunStarted) => {
            t.open_runs.extend(ev.run_id.clone());
            // Runs whose finish never arrives must not pile up without bound.
            while t.open_runs.len() > MAX_OPEN_RUNS {
                t.open_runs.pop_first();
            }
            t.ended = false;
            t.error = None;
        }
        Some(EventKind::RunFinished) => {
            if let Some(r) = &ev.run_id {
                t.open_runs.remove(r);
            }
            t.open_tools.clear();
            t.awaiting_model = false;
            t.error = ev
                .error
                .as_ref()
                .map(|e| e.message.clone().unwrap_or_default());
        }
        Some(EventKind::ToolCall | EventKind::ToolStarted) => {
            if let Some(c) = call() {
                let name = ev
                    .tool
                    .as_ref()
                    .and_then(|x| x.name.clone())
                    .unwrap_or_default();
                t.open_tools.insert(c, name);
            }
            t.awaiting_model = false;
        }
        Some(EventKind::ToolResult) => {
            if let Some(c) = call() {
                t.open_tools.remove(&c);
            }
            t.awaiting_model = t.open_tools.is_empty();
        }
        Some(EventKind::ToolFinished) => {
            if let Some(c) = call() {
                t.open_tools.remove(&c);
            }
        }
        Some(EventKind::UserMessage) => {
            t.awaiting_model = true;
            t.ended = false;
            t.error = None;
        }
        Some(EventKind::AssistantMessage) => {
            t.awaiting_model = false;
            let failed = ev.error.is_some() || ev.stop_reason.as_deref() == Some("error");
            t.error = failed.then(|| {
                ev.error
                    .as_ref()
                    .and_then(|e| e.message.clone())
                    .unwrap_or_else(|| "model error".into())
            });
            if ev.context_used.is_some() {
                t.context_used = ev.context_used;
            }
            if ev.context_max.is_some() {
                t.context_max = ev.context_max;
            }
            if ev.model.model.is_some() {
                t.model = ev.model.model.clone();
            }
        }
        Some(EventKind::SubagentFinished) => {
            t.ended = true;
            t.open_runs.clear();
            t.open_tools.clear();
            t.awaiting_model = false;
            if let Some(e) = &ev.error {
                t.error = e.message.clone().or_else(|| Some(e.kind.clone()));
            }
        }
        _ => {}
    }
    if t.pending() && !was_pending {
        t.pending_since = Some(ev.ts_ms);
    } else if !t.pending() {
        t.pending_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorInfo, ToolInfo};

    fn ev(kind: EventKind, key: &str, ts: i64) -> Event {
        Event {
            id: format!("{key}:{ts}"),
            ts_ms: ts,
            kind: Some(kind),
            session_key: key.into(),
            run_id: Some("r1".into()),
            ..Event::default()
        }
    }

    fn tool(kind: EventKind, ts: i64, call: &str) -> Event {
        let mut e = ev(kind, "s", ts);
        e.tool = Some(ToolInfo {
            name: Some("exec".into()),
            call_id: Some(call.into()),
            ..ToolInfo::default()
        });
        e
    }

    #[test]
    fn a_run_goes_active_then_idle_and_a_stalled_tool_turns_hung() {
        let mut t = Tracker::new(10_000, 3_600_000);
        let c = t.observe(&ev(EventKind::RunStarted, "s", 1000), 1000);
        assert_eq!(c[0].status, SessionStatus::Active);
        let c = t.observe(&tool(EventKind::ToolStarted, 2000, "c1"), 2000);
        assert_eq!(c[0].waiting_on.as_deref(), Some("tool:exec"));
        assert!(t.tick(11_000).is_empty(), "not hung yet");
        let hung = t.tick(12_500);
        assert_eq!(hung.len(), 1);
        assert_eq!(hung[0].status, SessionStatus::Hung);
        assert!(t.tick(13_500).is_empty(), "a hung session is reported once");
        assert!(t.tick(30_000).is_empty(), "a hung session is reported once");
        t.observe(&tool(EventKind::ToolFinished, 31_000, "c1"), 31_000);
        let c = t.observe(&ev(EventKind::RunFinished, "s", 32_000), 32_000);
        assert_eq!(c[0].status, SessionStatus::Idle);
        assert_eq!(c[0].pending_since_ms, None);
    }

    #[test]
    fn failed_run_is_errored_until_the_next_message() {
        let mut t = Tracker::new(10_000, 3_600_000);
        t.observe(&ev(EventKind::RunStarted, "s", 1), 1);
        let mut f = ev(EventKind::RunFinished, "s", 2);
        f.error = Some(ErrorInfo {
            kind: "run_error".into(),
            message: Some("HTTP 500".into()),
            retriable: None,
        });
        let c = t.observe(&f, 2);
        assert_eq!(c[0].status, SessionStatus::Errored);
        assert_eq!(c[0].last_error.as_deref(), Some("HTTP 500"));
        let c = t.observe(&ev(EventKind::UserMessage, "s", 3), 3);
        assert_eq!(c[0].status, SessionStatus::Active);
    }

    #[test]
    fn subagent_tree_and_end() {
        let mut t = Tracker::new(10_000, 3_600_000);
        let mut sp = ev(EventKind::SubagentSpawned, "p", 1);
        sp.attrs = Some(r#"{"childSessionKey":"p:sub"}"#.into());
        let c = t.observe(&sp, 1);
        let parent = c.iter().find(|s| s.session_key == "p").unwrap();
        assert_eq!(parent.children, ["p:sub"]);
        let child = c.iter().find(|s| s.session_key == "p:sub").unwrap();
        assert_eq!(child.parent_session_key.as_deref(), Some("p"));
        let c = t.observe(&ev(EventKind::SubagentFinished, "p:sub", 5), 5);
        assert_eq!(c[0].status, SessionStatus::Ended);
    }

    #[test]
    fn context_ratio_and_quiet_events_do_not_republish() {
        let mut t = Tracker::new(10_000, 3_600_000);
        let mut a = ev(EventKind::AssistantMessage, "s", 1);
        a.context_used = Some(96_000);
        a.context_max = Some(128_000);
        let c = t.observe(&a, 1);
        assert_eq!(c[0].context_ratio, Some(0.75));
        a.ts_ms = 2;
        assert!(t.observe(&a, 2).is_empty());
        assert_eq!(t.sessions(2)[0].last_event_ms, 2);
    }
}
