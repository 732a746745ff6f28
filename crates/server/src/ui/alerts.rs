//! `/alerts`: firing alerts, recent history, silences in force, deliveries that have not
//! gone out, gateway actions and the effective rules. With a token configured and a
//! signed-in browser, forms acknowledge alerts and add or remove silences (each form
//! carries the sign-in's CSRF token, like sign-out); without a token the page is
//! read-only.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use clawscope_core::alert::{Alert, AlertFilter, AlertState, DeliveryStatus};
use clawscope_core::redact::mask;
use clawscope_store::Store;

use super::act::{check_form, may_act};
use super::chrome::Chrome;
use super::rows::session_href;
use super::{fmt, render};
use crate::alerts_api::{self, SilenceRequest};
use crate::{ApiError, AppState};

/// Firing alerts listed at most.
const FIRING_ROWS: usize = 200;
/// Resolved alerts listed.
const HISTORY_ROWS: usize = 50;
/// Newest deliveries looked at for failed or pending ones.
const DELIVERIES_READ: usize = 200;
/// Failed or pending deliveries listed.
const DELIVERY_ROWS: usize = 50;
/// Actions listed.
const ACTION_ROWS: usize = 20;
/// Firing alerts counted for the overview (more shows as `1000+`).
const FIRING_COUNTED: usize = 1000;

/// Silence lengths the form offers (minutes, label).
const DURATIONS: [(i64, &str); 6] = [
    (60, "1 hour"),
    (240, "4 hours"),
    (1440, "1 day"),
    (4320, "3 days"),
    (10_080, "7 days"),
    (43_200, "30 days"),
];

pub struct FiringRow {
    pub id: i64,
    pub severity: &'static str,
    pub rule: String,
    pub scope: String,
    pub scope_raw: String,
    pub scope_href: Option<String>,
    pub message: String,
    pub value: String,
    pub fired_ago: String,
    pub fired_when: String,
    pub acked: String,
    pub suppressed: String,
}

pub struct HistoryRow {
    pub id: i64,
    pub severity: &'static str,
    pub rule: String,
    pub scope: String,
    pub scope_href: Option<String>,
    pub message: String,
    pub fired_when: String,
    pub resolved_when: String,
    pub lasted: String,
    pub acked: String,
}

pub struct SilenceRow {
    pub id: i64,
    pub rule: String,
    pub scope: String,
    pub until: String,
    pub left: String,
    pub reason: String,
    pub by: String,
}

pub struct DeliveryRow {
    pub alert_id: i64,
    pub channel: String,
    pub status: &'static str,
    pub attempts: u32,
    pub last_error: String,
    pub queued: String,
    pub next: String,
}

pub struct ActionRow {
    pub when: String,
    pub kind: String,
    pub target: String,
    pub outcome: &'static str,
    pub detail: String,
}

pub struct RuleRow {
    pub id: String,
    pub kind: &'static str,
    pub enabled: bool,
    pub severity: &'static str,
    pub summary: String,
    pub notify: String,
    pub action: &'static str,
    pub origin: &'static str,
}

#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    pub chrome: Chrome,
    /// Forms are shown (token configured, signed in with it).
    pub can_act: bool,
    /// Why they are not.
    pub read_only_note: &'static str,
    pub firing: Vec<FiringRow>,
    pub firing_more: bool,
    pub history: Vec<HistoryRow>,
    pub silences: Vec<SilenceRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub actions: Vec<ActionRow>,
    pub rules: Vec<RuleRow>,
    pub rules_error: Option<String>,
    pub rule_ids: Vec<String>,
    pub durations: &'static [(i64, &'static str)],
}

/// A scope as shown, and the page it links to (sessions only).
fn scope_link(scope: &str) -> (String, Option<String>) {
    let href = scope
        .strip_prefix("session:")
        .filter(|k| !k.is_empty())
        .map(session_href);
    (mask(scope).into_owned(), href)
}

fn acked_text(a: &Alert, now: i64) -> String {
    match a.acked_ms {
        Some(ms) => format!(
            "acked by {} {}",
            mask(a.acked_by.as_deref().unwrap_or("someone")),
            fmt::ago(ms, now)
        ),
        None => String::new(),
    }
}

fn firing_row(a: &Alert, now: i64, tz: chrono_tz::Tz) -> FiringRow {
    let (scope, scope_href) = scope_link(&a.scope);
    FiringRow {
        id: a.id,
        severity: a.severity.as_str(),
        rule: a.rule_id.clone(),
        scope,
        scope_raw: a.scope.clone(),
        scope_href,
        message: mask(&a.message).into_owned(),
        value: format!("{} (threshold {})", short(a.value), short(a.threshold)),
        fired_ago: fmt::ago(a.fired_ms, now),
        fired_when: fmt::datetime(a.fired_ms, tz),
        acked: acked_text(a, now),
        suppressed: a.suppressed.clone().unwrap_or_default(),
    }
}

/// A value without float noise: `0.95`, `12`, `1234.5`.
fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn history_row(a: &Alert, now: i64, tz: chrono_tz::Tz) -> HistoryRow {
    let (scope, scope_href) = scope_link(&a.scope);
    HistoryRow {
        id: a.id,
        severity: a.severity.as_str(),
        rule: a.rule_id.clone(),
        scope,
        scope_href,
        message: mask(&a.message).into_owned(),
        fired_when: fmt::datetime(a.fired_ms, tz),
        resolved_when: a
            .resolved_ms
            .map(|ms| fmt::datetime(ms, tz))
            .unwrap_or_default(),
        lasted: a
            .resolved_ms
            .map(|ms| fmt::duration((ms - a.fired_ms).max(0)))
            .unwrap_or_default(),
        acked: acked_text(a, now),
    }
}

/// Firing alerts for the overview: how many, and the worst few (worst, then newest).
pub struct FiringSummary {
    pub count: String,
    pub count_value: usize,
    pub top: Vec<FiringLine>,
}

pub struct FiringLine {
    pub href: String,
    pub severity: &'static str,
    pub text: String,
    pub when: String,
}

/// The overview's alert lines.
pub fn firing_summary(s: &dyn Store, top: usize, now: i64) -> Result<FiringSummary, ApiError> {
    let mut firing = s.alerts(&AlertFilter {
        state: Some(AlertState::Firing),
        limit: FIRING_COUNTED,
        ..AlertFilter::default()
    })?;
    let n = firing.len();
    firing.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.fired_ms.cmp(&a.fired_ms))
    });
    Ok(FiringSummary {
        count: if n >= FIRING_COUNTED {
            format!("{}+", fmt::int(n as u64))
        } else {
            fmt::int(n as u64)
        },
        count_value: n,
        top: firing
            .iter()
            .take(top)
            .map(|a| FiringLine {
                href: format!("/alerts#alert-{}", a.id),
                severity: a.severity.as_str(),
                text: format!(
                    "{} on {}: {}",
                    a.rule_id,
                    mask(&a.scope),
                    fmt::clip(&mask(&a.message), 160)
                ),
                when: fmt::ago(a.fired_ms, now),
            })
            .collect(),
    })
}

/// `GET /alerts`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "alerts", "Alerts").live("type=event,session");
    let (can_act, read_only_note) = may_act(&st, &headers);
    let tz = st.ui.tz;
    let view = st.alerts.clone();
    let r = st
        .read(move |s| {
            let now = chrono::Utc::now().timestamp_millis();
            let list = |state: AlertState, limit: usize| {
                s.alerts(&AlertFilter {
                    state: Some(state),
                    limit,
                    ..AlertFilter::default()
                })
            };
            let mut firing = list(AlertState::Firing, FIRING_ROWS + 1)?;
            let firing_more = firing.len() > FIRING_ROWS;
            firing.truncate(FIRING_ROWS);
            firing.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then(b.fired_ms.cmp(&a.fired_ms))
            });
            let history = list(AlertState::Resolved, HISTORY_ROWS)?;
            let silences = s.silences(Some(now))?;
            let deliveries = s.deliveries(None, DELIVERIES_READ)?;
            let actions = s.actions(ACTION_ROWS)?;
            let (rules, rules_error) = match alerts_api::effective_rules(&view, &s.stored_rules()?)
            {
                Ok(r) => (r, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            Ok(AlertsPage {
                chrome,
                can_act,
                read_only_note,
                firing: firing.iter().map(|a| firing_row(a, now, tz)).collect(),
                firing_more,
                history: history.iter().map(|a| history_row(a, now, tz)).collect(),
                silences: silences
                    .iter()
                    .map(|x| SilenceRow {
                        id: x.id,
                        rule: x.rule_id.clone().unwrap_or_else(|| "any rule".into()),
                        scope: x
                            .scope
                            .as_deref()
                            .map(|sc| mask(sc).into_owned())
                            .unwrap_or_else(|| "any scope".into()),
                        until: fmt::datetime(x.until_ms, tz),
                        left: fmt::ago(x.until_ms, now),
                        reason: mask(&x.reason).into_owned(),
                        by: mask(&x.created_by).into_owned(),
                    })
                    .collect(),
                deliveries: deliveries
                    .iter()
                    .filter(|d| d.status != DeliveryStatus::Sent)
                    .take(DELIVERY_ROWS)
                    .map(|d| DeliveryRow {
                        alert_id: d.alert_id,
                        channel: d.channel.clone(),
                        status: d.status.as_str(),
                        attempts: d.attempts,
                        last_error: d
                            .last_error
                            .as_deref()
                            .map(|e| mask(e).into_owned())
                            .unwrap_or_default(),
                        queued: fmt::ago(d.created_ms, now),
                        next: if d.status == DeliveryStatus::Pending {
                            fmt::ago(d.next_attempt_ms, now)
                        } else {
                            String::new()
                        },
                    })
                    .collect(),
                actions: actions
                    .iter()
                    .map(|a| ActionRow {
                        when: fmt::datetime(a.at_ms, tz),
                        kind: a.kind.clone(),
                        target: mask(&a.target).into_owned(),
                        outcome: match (a.dry_run, a.ok) {
                            (true, _) => "dry run",
                            (false, true) => "done",
                            (false, false) => "failed",
                        },
                        detail: mask(&a.detail).into_owned(),
                    })
                    .collect(),
                rule_ids: rules.iter().map(|(r, _)| r.id.clone()).collect(),
                rules: rules
                    .iter()
                    .map(|(r, origin)| RuleRow {
                        id: r.id.clone(),
                        kind: r.kind.as_str(),
                        enabled: r.enabled,
                        severity: r.severity.as_str(),
                        summary: mask(&clawscope_alerts::rules::summary(r)).into_owned(),
                        notify: r
                            .notify
                            .as_ref()
                            .map(|l| {
                                if l.is_empty() {
                                    "nobody".to_string()
                                } else {
                                    l.join(", ")
                                }
                            })
                            .unwrap_or_else(|| "default channels".into()),
                        action: alerts_api::action_name(r.action),
                        origin,
                    })
                    .collect(),
                rules_error,
                durations: &DURATIONS,
            })
        })
        .await;
    render::page(r, started)
}

fn done(r: Result<(), ApiError>, started: Instant) -> Response {
    match r {
        Ok(()) => Redirect::to("/alerts").into_response(),
        Err(e) => render::error(e, started),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /alerts/{id}/ack`.
pub async fn ack(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let started = Instant::now();
    if let Some(r) = check_form(&st, &headers, &f.csrf, started) {
        return r;
    }
    let id = match alerts_api::alert_id(&id) {
        Ok(id) => id,
        Err(e) => return render::error(e, started),
    };
    let r = st
        .write(move |s| alerts_api::ack_alert(s, id, "dashboard").map(|_| ()))
        .await;
    done(r, started)
}

#[derive(Deserialize)]
pub struct SilenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
}

/// `POST /alerts/silences`.
pub async fn silence(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<SilenceForm>,
) -> Response {
    let started = Instant::now();
    if let Some(r) = check_form(&st, &headers, &f.csrf, started) {
        return r;
    }
    let Ok(minutes) = f.minutes.trim().parse::<i64>() else {
        return render::error(
            ApiError::BadRequest(format!(
                "minutes must be a whole number, got {:?}",
                f.minutes
            )),
            started,
        );
    };
    let req = SilenceRequest {
        rule: Some(f.rule),
        scope: Some(f.scope),
        minutes: Some(minutes),
        until_ms: None,
        reason: Some(f.reason),
        by: None,
    };
    let view = st.alerts.clone();
    let r = st
        .write(move |s| alerts_api::add_silence(s, &view, &req, "dashboard").map(|_| ()))
        .await;
    done(r, started)
}

/// `POST /alerts/silences/{id}/remove`.
pub async fn unsilence(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let started = Instant::now();
    if let Some(r) = check_form(&st, &headers, &f.csrf, started) {
        return r;
    }
    let id = match alerts_api::silence_id(&id) {
        Ok(id) => id,
        Err(e) => return render::error(e, started),
    };
    let r = st.write(move |s| alerts_api::remove_silence(s, id)).await;
    done(r, started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_scopes_link_to_their_page() {
        assert_eq!(
            scope_link("session:agent:main:main").1.as_deref(),
            Some("/sessions/agent%3Amain%3Amain")
        );
        assert_eq!(scope_link("agent:main").1, None);
        assert_eq!(scope_link("session:").1, None);
        assert_eq!(short(0.95), "0.95");
        assert_eq!(short(12.0), "12");
    }
}
