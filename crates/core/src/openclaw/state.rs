//! Rows of OpenClaw's shared state DB (`state/openclaw.sqlite`) → events.
//! The ingest crate reads the rows; this module only maps them.

use serde_json::{json, Value};

use crate::model::{ErrorInfo, Event, EventKind, Merge, SourceKind, Timing, ToolInfo};

/// `cron_jobs` row.
#[derive(Debug, Clone, Default)]
pub struct CronJobRow {
    /// Job id.
    pub job_id: String,
    /// Job name.
    pub name: String,
    /// Enabled flag.
    pub enabled: bool,
    /// Owning agent.
    pub agent_id: Option<String>,
    /// Schedule (the `schedule_identity` JSON, when present).
    pub schedule: Option<String>,
    /// Runtime state JSON (`nextRunAtMs`...).
    pub state_json: Option<String>,
    /// Last update (epoch ms).
    pub updated_at: i64,
}

/// `cron_run_receipts` row.
#[derive(Debug, Clone, Default)]
pub struct CronRunRow {
    /// Receipt id.
    pub receipt_id: String,
    /// Job id.
    pub job_id: String,
    /// Agent.
    pub agent_id: Option<String>,
    /// Run id that requested it.
    pub request_run_id: Option<String>,
    /// running / ok / error / skipped / interrupted / superseded.
    pub status: String,
    /// Start (epoch ms).
    pub started_at_ms: i64,
    /// End (epoch ms).
    pub finished_at_ms: Option<i64>,
    /// Error text.
    pub error_text: Option<String>,
}

/// `task_runs` row.
#[derive(Debug, Clone, Default)]
pub struct TaskRunRow {
    /// Task id.
    pub task_id: String,
    /// cli / cron / subagent ...
    pub runtime: String,
    /// Requesting session.
    pub requester_session_key: Option<String>,
    /// Session the task ran in.
    pub child_session_key: Option<String>,
    /// Agent.
    pub agent_id: Option<String>,
    /// Run id.
    pub run_id: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Task text.
    pub task: String,
    /// Status.
    pub status: String,
    /// Created (epoch ms).
    pub created_at: i64,
    /// Started.
    pub started_at: Option<i64>,
    /// Ended.
    pub ended_at: Option<i64>,
    /// Tool calls made.
    pub tool_use_count: Option<i64>,
    /// Last tool.
    pub last_tool_name: Option<String>,
    /// Error.
    pub error: Option<String>,
    /// Terminal summary.
    pub terminal_summary: Option<String>,
}

/// `subagent_runs` row.
#[derive(Debug, Clone, Default)]
pub struct SubagentRunRow {
    /// Run id.
    pub run_id: String,
    /// Child session.
    pub child_session_key: String,
    /// Controller session.
    pub controller_session_key: Option<String>,
    /// Requester session (the parent).
    pub requester_session_key: String,
    /// Created (epoch ms).
    pub created_at: i64,
    /// Payload JSON (task, label, model...).
    pub payload_json: String,
}

fn state_event(id: String, ts_ms: i64, kind: EventKind, session_key: String) -> Event {
    Event {
        id,
        ts_ms,
        kind: Some(kind),
        source: Some(SourceKind::OpenClaw),
        session_key,
        merge: Merge::Replace,
        ..Event::default()
    }
}

impl CronJobRow {
    /// The job as a `cron.job` event (latest state replaces earlier).
    pub fn to_event(&self) -> Event {
        let agent = self.agent_id.clone();
        // A job definition belongs to no session (its runs do).
        let mut ev = state_event(
            format!("ocstate:cron_job:{}", self.job_id),
            self.updated_at,
            EventKind::CronJob,
            String::new(),
        );
        ev.agent = agent;
        ev.text = Some(self.name.clone());
        ev.attrs = Some(
            json!({"jobId": self.job_id, "enabled": self.enabled, "schedule": self.schedule, "state": self.state_json})
                .to_string(),
        );
        ev
    }
}

impl CronRunRow {
    /// The run as a `cron.run` event.
    pub fn to_event(&self) -> Event {
        let agent = self.agent_id.clone();
        let key = format!(
            "agent:{}:cron:{}",
            agent.as_deref().unwrap_or("main"),
            self.job_id
        );
        let mut ev = state_event(
            format!("ocstate:cron_run:{}", self.receipt_id),
            self.started_at_ms,
            EventKind::CronRun,
            key,
        );
        ev.agent = agent;
        ev.run_id = self.request_run_id.clone();
        ev.timing = Timing::between(Some(self.started_at_ms), self.finished_at_ms);
        if self.status == "error" || self.error_text.is_some() {
            ev.error = Some(ErrorInfo {
                kind: "cron_error".into(),
                message: self.error_text.clone(),
                retriable: None,
            });
        }
        ev.attrs = Some(json!({"jobId": self.job_id, "status": self.status}).to_string());
        ev
    }
}

impl TaskRunRow {
    /// The task as a `task.run` event.
    pub fn to_event(&self) -> Event {
        // A cron run reports `agent:<a>:cron:<job>:run:<sessionId>`: the run lives in the job's session.
        let key = self
            .child_session_key
            .as_deref()
            .or(self.requester_session_key.as_deref())
            .map(|k| k.split(":run:").next().unwrap_or(k).to_string())
            .unwrap_or_default();
        let mut ev = state_event(
            format!("ocstate:task:{}", self.task_id),
            self.started_at.unwrap_or(self.created_at),
            EventKind::TaskRun,
            key,
        );
        ev.agent = self.agent_id.clone();
        ev.run_id = self.run_id.clone();
        ev.timing = Timing::between(self.started_at, self.ended_at);
        ev.text = Some(crate::jsonutil::truncate(&self.task, 2000));
        if let Some(err) = &self.error {
            ev.error = Some(ErrorInfo {
                kind: "task_error".into(),
                message: Some(err.clone()),
                retriable: None,
            });
        }
        if self.last_tool_name.is_some() {
            ev.tool = Some(ToolInfo {
                name: self.last_tool_name.clone(),
                ..ToolInfo::default()
            });
        }
        ev.attrs = Some(
            json!({"runtime": self.runtime, "status": self.status, "label": self.label,
                   "requesterSessionKey": self.requester_session_key, "toolUseCount": self.tool_use_count,
                   "summary": self.terminal_summary})
            .to_string(),
        );
        ev
    }
}

impl SubagentRunRow {
    /// The sub-agent run as a `subagent.spawned` event in the parent session.
    pub fn to_event(&self) -> Event {
        let payload: serde_json::Value =
            serde_json::from_str(&self.payload_json).unwrap_or_default();
        let mut ev = state_event(
            super::subagent_spawn_id(&self.run_id),
            self.created_at,
            EventKind::SubagentSpawned,
            self.requester_session_key.clone(),
        );
        ev.agent = crate::openclaw::agent_from_key(&self.requester_session_key).map(str::to_string);
        ev.run_id = Some(self.run_id.clone());
        ev.text = payload
            .get("task")
            .and_then(|t| t.as_str())
            .map(str::to_string);
        ev.attrs = Some(
            json!({"childSessionKey": self.child_session_key, "controllerSessionKey": self.controller_session_key,
                   "label": payload.get("label"), "model": payload.get("model")})
            .to_string(),
        );
        ev
    }
}

/// A `cron.job` event's attributes as [`CronJobRow::to_event`] wrote them, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct CronJobAttrs {
    /// Job id.
    pub job_id: String,
    /// Enabled.
    pub enabled: bool,
    /// The schedule as the gateway describes it (`{"kind":"every","everyMs":…}`,
    /// `{"kind":"cron","expr":…}`).
    pub schedule: Value,
    /// Next scheduled run (epoch ms), from the job's state.
    pub next_run_ms: Option<i64>,
}

/// A `cron.run` event's attributes, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct CronRunAttrs {
    /// Job id.
    pub job_id: String,
    /// running / ok / error / skipped / interrupted / superseded.
    pub status: String,
}

fn attrs_of(ev: &Event) -> Value {
    ev.attrs
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or(Value::Null)
}

/// A JSON value stored as JSON text (the state DB keeps some columns as text).
fn nested(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    }
}

impl CronJobAttrs {
    /// The attributes of a `cron.job` event; `None` without a job id.
    pub fn of(ev: &Event) -> Option<CronJobAttrs> {
        let a = attrs_of(ev);
        Some(CronJobAttrs {
            job_id: a.get("jobId")?.as_str()?.to_string(),
            enabled: a
                .get("enabled")
                .and_then(|v| v.as_bool().or_else(|| v.as_i64().map(|n| n != 0)))
                .unwrap_or(true),
            // `schedule_identity` wraps the schedule: `{"version":2,"schedule":{…}}`.
            schedule: a
                .get("schedule")
                .map(nested)
                .map(|id| match id.get("schedule") {
                    Some(inner) => inner.clone(),
                    None => id,
                })
                .unwrap_or(Value::Null),
            next_run_ms: a
                .get("state")
                .map(nested)
                .and_then(|s| s.get("nextRunAtMs").and_then(Value::as_i64)),
        })
    }
}

impl CronRunAttrs {
    /// The attributes of a `cron.run` event; `None` without a job id.
    pub fn of(ev: &Event) -> Option<CronRunAttrs> {
        let a = attrs_of(ev);
        Some(CronRunAttrs {
            job_id: a.get("jobId")?.as_str()?.to_string(),
            status: a
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_run_error_and_duration() {
        let row = CronRunRow {
            receipt_id: "r".into(),
            job_id: "j".into(),
            agent_id: Some("main".into()),
            status: "error".into(),
            started_at_ms: 1000,
            finished_at_ms: Some(3500),
            error_text: Some("boom".into()),
            ..CronRunRow::default()
        };
        let ev = row.to_event();
        assert_eq!(ev.session_key, "agent:main:cron:j");
        assert_eq!(ev.timing.duration_ms, Some(2500));
        assert_eq!(ev.error.unwrap().message.as_deref(), Some("boom"));
        assert_eq!(ev.merge, Merge::Replace);
    }

    #[test]
    fn subagent_run_links_child() {
        let row = SubagentRunRow {
            run_id: "d3".into(),
            child_session_key: "agent:main:subagent:69".into(),
            requester_session_key: "agent:main:main".into(),
            created_at: 5,
            payload_json: r#"{"task":"Say hello","label":"mock-child"}"#.into(),
            ..SubagentRunRow::default()
        };
        let ev = row.to_event();
        assert_eq!(ev.kind, Some(EventKind::SubagentSpawned));
        assert_eq!(ev.agent.as_deref(), Some("main"));
        assert!(ev.attrs.unwrap().contains("agent:main:subagent:69"));
        assert_eq!(ev.text.as_deref(), Some("Say hello"));
    }

    #[test]
    fn cron_attrs_read_back_what_the_rows_wrote() {
        let job = CronJobRow {
            job_id: "j1".into(),
            name: "nightly".into(),
            enabled: false,
            schedule: Some(
                r#"{"version":2,"enabled":false,"schedule":{"kind":"every","everyMs":60000}}"#
                    .into(),
            ),
            state_json: Some(r#"{"nextRunAtMs":1700000000000}"#.into()),
            updated_at: 5,
            ..CronJobRow::default()
        }
        .to_event();
        let a = CronJobAttrs::of(&job).expect("job attrs");
        assert_eq!(a.job_id, "j1");
        assert!(!a.enabled);
        assert_eq!(a.next_run_ms, Some(1_700_000_000_000));
        assert_eq!(a.schedule["everyMs"], 60000);
        let run = CronRunRow {
            receipt_id: "r".into(),
            job_id: "j1".into(),
            status: "error".into(),
            started_at_ms: 1,
            ..CronRunRow::default()
        }
        .to_event();
        let r = CronRunAttrs::of(&run).expect("run attrs");
        assert_eq!((r.job_id.as_str(), r.status.as_str()), ("j1", "error"));
        assert!(CronRunAttrs::of(&Event::default()).is_none());
    }
}
