//! `/crons`: the gateway's cron jobs (schedule, next run, enabled) and their run
//! history with duration, errors and the cost of each run's session.

use std::collections::HashMap;
use std::time::Instant;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use clawscope_core::model::EventKind;
use clawscope_core::openclaw::state::{CronJobAttrs, CronRunAttrs};
use clawscope_core::query::EventFilter;
use clawscope_core::redact::mask;

use super::act::may_act;
use super::chrome::Chrome;
use super::rows::{seg, session_href};
use super::{fmt, render};
use crate::AppState;

/// Cron events read at most.
const MAX_EVENTS: usize = 5000;
/// Runs listed.
const RUNS_SHOWN: usize = 100;

pub struct JobRow {
    pub id: String,
    /// The id as a URL path segment.
    pub id_seg: String,
    pub name: String,
    pub agent: String,
    pub enabled: bool,
    pub schedule: String,
    pub next_run: String,
    pub runs: u64,
    pub failures: u64,
    pub last_status: String,
    pub cost: String,
}

pub struct RunRow {
    pub when: String,
    pub job: String,
    pub status: String,
    pub duration: String,
    pub error: String,
    pub session: Option<(String, String)>,
    pub cost: String,
}

#[derive(Template)]
#[template(path = "crons.html")]
pub struct CronsPage {
    pub chrome: Chrome,
    pub jobs: Vec<JobRow>,
    pub runs: Vec<RunRow>,
    /// Toggle / run-now links are shown (token, sign-in, gateway actions on).
    pub can_act: bool,
    /// Why not, when they are not.
    pub act_note: &'static str,
}

/// `every 7 d`, `cron 0 9 * * * (Europe/Paris)`, `at 2026-11-21 09:00`.
fn schedule_text(s: &Value, tz: chrono_tz::Tz) -> String {
    match s.get("kind").and_then(Value::as_str) {
        Some("every") => s
            .get("everyMs")
            .and_then(Value::as_i64)
            .map(|ms| format!("every {}", fmt::duration(ms)))
            .unwrap_or_else(|| "every ?".into()),
        Some("cron") => {
            let expr = s.get("expr").and_then(Value::as_str).unwrap_or("?");
            match s.get("tz").and_then(Value::as_str) {
                Some(z) => format!("cron {expr} ({z})"),
                None => format!("cron {expr}"),
            }
        }
        Some("at") => s
            .get("atMs")
            .and_then(Value::as_i64)
            .map(|ms| format!("at {}", fmt::datetime(ms, tz)))
            .or_else(|| {
                s.get("at")
                    .and_then(Value::as_str)
                    .map(|a| format!("at {a}"))
            })
            .unwrap_or_else(|| "once".into()),
        Some(k) => k.to_string(),
        None => String::new(),
    }
}

/// `GET /crons`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "crons", "Crons").live("type=cron.job,cron.run");
    let tz = st.ui.tz;
    let (can_act, act_note) = match may_act(&st, &headers) {
        (true, _) if st.actions.is_none() => (
            false,
            "Toggle and run-now need `clawscope serve --gateway-actions` and a gateway to follow.",
        ),
        other => other,
    };
    let r = st
        .read(move |s| {
            let now = chrono::Utc::now().timestamp_millis();
            let read = |k: EventKind| {
                s.events(&EventFilter {
                    kinds: vec![k.as_str().to_string()],
                    limit: MAX_EVENTS,
                    ..EventFilter::default()
                })
            };
            let job_events = read(EventKind::CronJob)?;
            let run_events = read(EventKind::CronRun)?;
            let mut session_cost: HashMap<String, f64> = HashMap::new();
            let mut per_job: HashMap<String, (u64, u64, String, f64)> = HashMap::new();
            for r in &run_events {
                let a = CronRunAttrs::of(&r.event);
                let job = a.as_ref().map(|a| a.job_id.clone()).unwrap_or_default();
                let cost = match session_cost.get(&r.event.session_key) {
                    Some(c) => *c,
                    None => {
                        let c = s
                            .session(&r.event.session_key)?
                            .map(|x| x.totals.cost_usd)
                            .unwrap_or(0.0);
                        session_cost.insert(r.event.session_key.clone(), c);
                        c
                    }
                };
                let e = per_job.entry(job).or_default();
                e.0 += 1;
                if r.event.error.is_some() {
                    e.1 += 1;
                }
                e.2 = a.map(|a| a.status).unwrap_or_default();
                e.3 += cost;
            }
            let mut names: HashMap<String, String> = HashMap::new();
            let mut jobs: Vec<JobRow> = job_events
                .iter()
                .filter_map(|j| {
                    let a = CronJobAttrs::of(&j.event)?;
                    let id = a.job_id.clone();
                    let name = mask(j.event.text.as_deref().unwrap_or(&id)).into_owned();
                    names.insert(id.clone(), name.clone());
                    let next = a.next_run_ms;
                    let (runs, failures, last_status, cost) =
                        per_job.get(&id).cloned().unwrap_or_default();
                    Some(JobRow {
                        name,
                        agent: j.event.agent.clone().unwrap_or_default(),
                        enabled: a.enabled,
                        schedule: schedule_text(&a.schedule, tz),
                        next_run: next
                            .map(|n| format!("{} ({})", fmt::datetime(n, tz), fmt::ago(n, now)))
                            .unwrap_or_default(),
                        runs,
                        failures,
                        last_status,
                        cost: fmt::money(cost),
                        id_seg: seg(&id),
                        id,
                    })
                })
                .collect();
            jobs.sort_by(|a, b| a.name.cmp(&b.name));
            let runs = run_events
                .iter()
                .rev()
                .take(RUNS_SHOWN)
                .map(|r| {
                    let a = CronRunAttrs::of(&r.event);
                    let job = a.as_ref().map_or("", |a| a.job_id.as_str());
                    let key = &r.event.session_key;
                    RunRow {
                        when: fmt::datetime(r.event.ts_ms, tz),
                        job: names.get(job).cloned().unwrap_or_else(|| job.to_string()),
                        status: a.as_ref().map(|a| a.status.clone()).unwrap_or_default(),
                        duration: r
                            .event
                            .timing
                            .duration_ms
                            .map(fmt::duration)
                            .unwrap_or_default(),
                        error: r
                            .event
                            .error
                            .as_ref()
                            .and_then(|e| e.message.as_deref())
                            .map(|m| mask(&fmt::clip(m, 400)).into_owned())
                            .unwrap_or_default(),
                        session: (!key.is_empty())
                            .then(|| (session_href(key), mask(key).into_owned())),
                        cost: session_cost
                            .get(key)
                            .map(|c| fmt::money(*c))
                            .unwrap_or_default(),
                    }
                })
                .collect();
            Ok(CronsPage {
                chrome,
                jobs,
                runs,
                can_act,
                act_note,
            })
        })
        .await;
    render::page(r, started)
}
