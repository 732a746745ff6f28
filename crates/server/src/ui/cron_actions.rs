//! Cron actions through the gateway: enable/disable a job (`cron.update`) and run it
//! now (`cron.run`, mode `force`). Each is a confirmation page (GET) and a form (POST)
//! that needs the token, a sign-in and the sign-in's CSRF token.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};

use clawscope_core::model::EventKind;
use clawscope_core::openclaw::state::CronJobAttrs;
use clawscope_core::query::EventFilter;
use clawscope_core::redact::mask;

use super::act::{check_form, may_act, refuse};
use super::chrome::Chrome;
use super::render;
use super::rows::seg;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "cron_action.html")]
pub struct CronActionPage {
    pub chrome: Chrome,
    pub heading: String,
    pub job_id: String,
    pub job_name: String,
    pub question: Option<String>,
    pub action: String,
    pub enabled_value: Option<&'static str>,
    pub button: String,
    pub message: String,
    pub failed: bool,
}

/// A job as stored: (name, enabled).
async fn job(st: &AppState, id: &str) -> Result<(String, bool), ApiError> {
    let id = id.to_string();
    st.read(move |s| {
        let jobs = s.events(&EventFilter {
            kinds: vec![EventKind::CronJob.as_str().to_string()],
            limit: 5000,
            ..EventFilter::default()
        })?;
        for j in jobs {
            match CronJobAttrs::of(&j.event) {
                Some(a) if a.job_id == id => {
                    let name = mask(j.event.text.as_deref().unwrap_or(&id)).into_owned();
                    return Ok((name, a.enabled));
                }
                _ => {}
            }
        }
        Err(ApiError::NotFound(format!(
            "no cron job {id:?} in the gateway's state"
        )))
    })
    .await
}

/// The checks every action page starts with, then the job: (name, enabled), or the
/// page that refuses.
async fn checked_job(
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
    csrf: Option<&str>,
    started: Instant,
) -> Result<(String, bool), Response> {
    let refused = precheck(st, headers, started)
        .or_else(|| csrf.and_then(|c| check_form(st, headers, c, started)));
    if let Some(r) = refused {
        return Err(r);
    }
    job(st, id).await.map_err(|e| render::error(e, started))
}

/// Refusals that apply before anything else: no right to act, or no gateway to act through.
fn precheck(st: &AppState, headers: &HeaderMap, started: Instant) -> Option<Response> {
    let (ok, why) = may_act(st, headers);
    if !ok {
        return Some(refuse(why, started));
    }
    if st.actions.is_none() {
        return Some(refuse(
            "Gateway actions are off: start `clawscope serve --gateway-actions` (with a gateway to follow) to toggle or run jobs from here.",
            started,
        ));
    }
    None
}

fn page(st: &AppState, headers: &HeaderMap, id: &str, name: String) -> CronActionPage {
    CronActionPage {
        chrome: Chrome::new(st, headers, "crons", "Cron action"),
        heading: String::new(),
        job_id: id.to_string(),
        job_name: name,
        question: None,
        action: String::new(),
        enabled_value: None,
        button: String::new(),
        message: String::new(),
        failed: false,
    }
}

/// `GET /crons/{id}/toggle`: "Disable job X?".
pub async fn confirm_toggle(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let started = Instant::now();
    let (name, enabled) = match checked_job(&st, &headers, &id, None, started).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let mut p = page(&st, &headers, &id, name.clone());
    let (verb, what) = if enabled {
        (
            "Disable",
            "It will not run on its schedule until it is enabled again.",
        )
    } else {
        ("Enable", "It will run on its schedule again.")
    };
    p.heading = format!("{verb} a cron job");
    p.question = Some(format!("{verb} the job {name}? {what}"));
    p.action = format!("/crons/{}/toggle", seg(&id));
    p.enabled_value = Some(if enabled { "false" } else { "true" });
    p.button = verb.to_string();
    render::html(&p, started)
}

/// `GET /crons/{id}/run`: "Run job X now?".
pub async fn confirm_run(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let started = Instant::now();
    let (name, enabled) = match checked_job(&st, &headers, &id, None, started).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let mut p = page(&st, &headers, &id, name.clone());
    p.heading = "Run a cron job now".into();
    let note = if enabled {
        ""
    } else {
        " It is disabled; it runs once anyway."
    };
    p.question = Some(format!(
        "Run the job {name} now?{note} The run costs what a scheduled run costs."
    ));
    p.action = format!("/crons/{}/run", seg(&id));
    p.button = "Run now".into();
    render::html(&p, started)
}

#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: String,
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /crons/{id}/toggle`.
pub async fn toggle(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ToggleForm>,
) -> Response {
    let started = Instant::now();
    let name = match checked_job(&st, &headers, &id, Some(&f.csrf), started).await {
        Ok((n, _)) => n,
        Err(r) => return r,
    };
    let enabled = match f.enabled.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return render::error(
                ApiError::BadRequest(format!("enabled is true or false, got {other:?}")),
                started,
            )
        }
    };
    let answer = call(
        &st,
        "cron.update",
        json!({"id": id, "patch": {"enabled": enabled}}),
    )
    .await;
    let mut p = page(&st, &headers, &id, name.clone());
    p.heading = if enabled {
        "Enable a cron job"
    } else {
        "Disable a cron job"
    }
    .into();
    result(
        p,
        answer,
        |_| {
            format!(
                "The job {name} is {}.",
                if enabled { "enabled" } else { "disabled" }
            )
        },
        started,
    )
}

/// `POST /crons/{id}/run`.
pub async fn run(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RunForm>,
) -> Response {
    let started = Instant::now();
    let name = match checked_job(&st, &headers, &id, Some(&f.csrf), started).await {
        Ok((n, _)) => n,
        Err(r) => return r,
    };
    let answer = call(&st, "cron.run", json!({"id": id, "mode": "force"})).await;
    let mut p = page(&st, &headers, &id, name.clone());
    p.heading = "Run a cron job now".into();
    result(
        p,
        answer,
        |v| match v["ran"].as_bool() {
            Some(false) => format!(
                "The gateway did not start the job {name}: {}.",
                v["reason"].as_str().unwrap_or("no reason given")
            ),
            _ => format!(
                "The job {name} was started (run {}); its run appears here when it finishes.",
                v["runId"].as_str().unwrap_or("?")
            ),
        },
        started,
    )
}

async fn call(st: &AppState, method: &str, params: Value) -> Result<Value, String> {
    match &st.actions {
        Some(rpc) => rpc.call(method, params).await,
        None => Err("gateway actions are off".into()),
    }
}

fn result(
    mut p: CronActionPage,
    answer: Result<Value, String>,
    ok: impl FnOnce(&Value) -> String,
    started: Instant,
) -> Response {
    match answer {
        Ok(v) => {
            tracing::info!(job = %p.job_id, "cron action done");
            p.message = ok(&v);
            render::html(&p, started)
        }
        Err(e) => {
            tracing::warn!(job = %p.job_id, error = %e, "cron action refused by the gateway");
            p.message = format!("The gateway refused: {}", mask(&e));
            p.failed = true;
            render::html_status(StatusCode::BAD_GATEWAY, &p, started)
        }
    }
}
