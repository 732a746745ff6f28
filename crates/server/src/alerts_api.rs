//! `/api/v1/alerts*`: alerts (firing and history), their deliveries, silences, the
//! effective rules with where each comes from, API rule edits, and gateway actions.
//!
//! Reads pass the usual access check. Writes (POST, PUT, DELETE) need more: the server
//! must have a token and the request must carry it as `Authorization: Bearer`; the
//! dashboard's sign-in cookie alone is not enough here (a cross-site form can send a
//! cookie, never that header), so the JSON write API needs no CSRF token. The
//! dashboard's own forms (`ui::alerts`) use the cookie plus a CSRF token instead.
//! Nothing here shows a channel's configuration: a delivery names its channel only.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat};
use serde::Deserialize;
use serde_json::{json, Value};

use clawscope_alerts::rules::{summary, Action, Rule, RuleEdit};
use clawscope_core::access::bearer_token;
use clawscope_core::alert::{Alert, AlertAction, AlertFilter, AlertState, Delivery, Silence};
use clawscope_core::redact::{mask, same_secret};
use clawscope_store::{Store, StoredRule};

use crate::params::{self, ApiError};
use crate::{AlertsView, AppState};

type Params = Query<HashMap<String, String>>;
type ApiResult = Result<Json<Value>, ApiError>;
type WriteResult = Result<Response, Refused>;

/// Alerts listed when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;
/// The longest silence (90 days).
pub(crate) const MAX_SILENCE_MINUTES: i64 = 90 * 24 * 60;
/// Longest free text kept in a silence reason or an acknowledger's name.
const MAX_TEXT: usize = 500;
/// Longest scope a silence may name.
const MAX_SCOPE: usize = 512;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/alerts", get(list))
        .route("/api/v1/alerts/actions", get(actions))
        .route("/api/v1/alerts/silences", get(silences).post(silence_add))
        .route(
            "/api/v1/alerts/silences/{id}",
            axum::routing::delete(silence_remove),
        )
        .route("/api/v1/alerts/rules", get(rules))
        .route(
            "/api/v1/alerts/rules/{id}",
            put(rule_put).delete(rule_delete),
        )
        .route("/api/v1/alerts/rules/{id}/reset", post(rule_reset))
        .route("/api/v1/alerts/{id}", get(detail))
        .route("/api/v1/alerts/{id}/ack", post(ack))
        .with_state(state)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn p<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(String::as_str)
}

// ---------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------

/// A write refused or failed: an [`ApiError`], or 403 when the server has no token.
pub enum Refused {
    /// The usual error answer.
    Api(ApiError),
    /// 403 with this message.
    Forbidden(&'static str),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Refused {
        Refused::Api(e)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Api(e) => e.into_response(),
            Refused::Forbidden(m) => ApiError::Forbidden(m.into()).into_response(),
        }
    }
}

/// Why writes are refused on a server without a token.
pub(crate) const NEEDS_TOKEN: &str = "alert write endpoints need a token: start the server with --token (or CLAWSCOPE_TOKEN) and send it as `Authorization: Bearer <token>`";

/// A write needs a configured token, carried as a bearer header (not a cookie).
fn check_writer(st: &AppState, headers: &HeaderMap) -> Result<(), Refused> {
    let Some(token) = st.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(Refused::Forbidden(NEEDS_TOKEN));
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match bearer {
        Some(given) if same_secret(given, token) => Ok(()),
        _ => Err(ApiError::Unauthorized.into()),
    }
}

/// A JSON body, or `T::default()` when there is none.
fn body<T: serde::de::DeserializeOwned + Default>(
    bytes: &Bytes,
    what: &str,
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("{what}: {e}")))
}

/// An alert id from a path.
pub(crate) fn alert_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::BadRequest(format!("an alert id is a positive integer, got {s:?}"))
    })
}

/// A silence id from a path.
pub(crate) fn silence_id(s: &str) -> Result<i64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::BadRequest(format!("a silence id is an integer, got {s:?}")))
}

/// Remove silence `id` (404 if there is none).
pub(crate) fn remove_silence(s: &mut dyn Store, id: i64) -> Result<(), ApiError> {
    if s.remove_silence(id)? {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no silence {id}")))
    }
}

/// Free text people typed: trimmed, at most `max` characters.
pub(crate) fn text(s: Option<&str>, max: usize, what: &str) -> Result<Option<String>, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() > max => Err(ApiError::BadRequest(format!(
            "{what} is longer than {max} characters"
        ))),
        Some(s) => Ok(Some(s.to_string())),
    }
}

// ---------------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------------

/// Epoch ms as RFC 3339 (UTC, milliseconds).
pub(crate) fn rfc3339(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn put_time(v: &mut Value, key: &str, ms: Option<i64>) {
    if let Some(o) = v.as_object_mut() {
        o.insert(
            key.into(),
            ms.and_then(rfc3339).map_or(Value::Null, Value::String),
        );
    }
}

fn put_masked(v: &mut Value, key: &str) {
    if let Some(s) = v.get(key).and_then(Value::as_str) {
        let m = mask(s).into_owned();
        v[key] = Value::String(m);
    }
}

/// An alert: the stored fields (message and acknowledger masked) plus RFC 3339 times.
pub(crate) fn alert_json(a: &Alert) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or_default();
    put_masked(&mut v, "message");
    put_masked(&mut v, "acked_by");
    put_time(&mut v, "fired_at", Some(a.fired_ms));
    put_time(&mut v, "resolved_at", a.resolved_ms);
    put_time(&mut v, "last_seen_at", Some(a.last_seen_ms));
    put_time(&mut v, "acked_at", a.acked_ms);
    v
}

/// A delivery: where it stands, never what the channel is configured with.
pub(crate) fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "alert_id": d.alert_id,
        "channel": d.channel,
        "transition": d.notification.transition,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_ms": d.next_attempt_ms,
        "last_error": d.last_error.as_deref().map(|e| mask(e).into_owned()),
        "sent_ms": d.sent_ms,
        "sent_at": d.sent_ms.and_then(rfc3339),
        "created_ms": d.created_ms,
    })
}

pub(crate) fn silence_json(s: &Silence) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    put_masked(&mut v, "reason");
    put_masked(&mut v, "created_by");
    put_time(&mut v, "until", Some(s.until_ms));
    put_time(&mut v, "created_at", Some(s.created_ms));
    v
}

fn action_json(a: &AlertAction) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or_default();
    put_masked(&mut v, "request");
    put_masked(&mut v, "detail");
    put_time(&mut v, "at", Some(a.at_ms));
    v
}

// ---------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------

/// Where an effective rule's definition comes from.
pub(crate) fn origin(view: &AlertsView, stored: &[StoredRule], id: &str) -> &'static str {
    if stored.iter().any(|r| r.id == id) {
        "api"
    } else if view.config.rules.contains_key(id) {
        "config"
    } else {
        "builtin"
    }
}

/// The effective rules: built-ins, the config's edits, then `api` edits.
pub(crate) fn rule_set(
    view: &AlertsView,
    api: &[(String, Option<RuleEdit>)],
) -> Result<Vec<Rule>, String> {
    view.config
        .rule_set(view.budget, api)
        .map(|s| s.rules)
        .map_err(|e| mask(&e.to_string()).into_owned())
}

/// The rules with the usable stored edits and `id` set to `edit` (a deletion marker
/// when `None`): a stale edit of another rule (one the engine skips too) does not
/// block this change; this change itself must fit.
fn rule_set_with(
    view: &AlertsView,
    stored: &[StoredRule],
    id: &str,
    edit: Option<RuleEdit>,
) -> Result<Vec<Rule>, String> {
    let others: Vec<(String, Option<RuleEdit>)> = clawscope_alerts::service::api_edits(stored)
        .into_iter()
        .filter(|(i, _)| i != id)
        .collect();
    let mut api = view.config.usable_edits(view.budget, &others);
    api.push((id.to_string(), edit));
    rule_set(view, &api)
}

/// The effective rules with their origins, from the stored API edits.
pub(crate) fn effective_rules(
    view: &AlertsView,
    stored: &[StoredRule],
) -> Result<Vec<(Rule, &'static str)>, ApiError> {
    let api = clawscope_alerts::service::api_edits(stored);
    let api = view.config.usable_edits(view.budget, &api);
    let rules = rule_set(view, &api)
        .map_err(|e| ApiError::Internal(format!("the alert rules do not build: {e}")))?;
    Ok(rules
        .into_iter()
        .map(|r| {
            let o = origin(view, stored, &r.id);
            (r, o)
        })
        .collect())
}

/// What a rule does besides notifying.
pub(crate) fn action_name(a: Action) -> &'static str {
    match a {
        Action::None => "none",
        Action::Pause => "pause",
    }
}

fn rule_json(r: &Rule, origin: &str) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("origin".into(), Value::String(origin.into()));
        o.insert(
            "summary".into(),
            Value::String(mask(&summary(r)).into_owned()),
        );
    }
    v
}

// ---------------------------------------------------------------------------------
// Silences
// ---------------------------------------------------------------------------------

/// `POST /api/v1/alerts/silences` (and the dashboard's form, converted).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SilenceRequest {
    /// Only this rule.
    pub rule: Option<String>,
    /// Only this scope (exact, or a prefix ending in `*`).
    pub scope: Option<String>,
    /// For this long from now.
    pub minutes: Option<i64>,
    /// Or until then (epoch ms).
    pub until_ms: Option<i64>,
    /// Why.
    pub reason: Option<String>,
    /// Who (default: `api`).
    pub by: Option<String>,
}

/// Check a silence request against the rules and turn it into a silence.
pub(crate) fn new_silence(
    req: &SilenceRequest,
    rules: &[(Rule, &'static str)],
    by_default: &str,
    now: i64,
) -> Result<Silence, ApiError> {
    let until_ms = match (req.minutes, req.until_ms) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give either `minutes` or `until_ms`, not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::BadRequest(
                "a silence needs `minutes` (how long from now) or `until_ms` (epoch ms)".into(),
            ))
        }
        (Some(m), None) => {
            if m <= 0 {
                return Err(ApiError::BadRequest(format!(
                    "`minutes` must be at least 1 (a silence that ended already matches nothing), got {m}"
                )));
            }
            if m > MAX_SILENCE_MINUTES {
                return Err(ApiError::BadRequest(format!(
                    "a silence lasts at most 90 days ({MAX_SILENCE_MINUTES} minutes), got {m}"
                )));
            }
            now + m * 60_000
        }
        (None, Some(t)) => {
            if t <= now {
                return Err(ApiError::BadRequest(format!(
                    "`until_ms` must be in the future (a silence that ended already matches nothing), got {t}"
                )));
            }
            if t > now + MAX_SILENCE_MINUTES * 60_000 {
                return Err(ApiError::BadRequest(
                    "a silence lasts at most 90 days".into(),
                ));
            }
            t
        }
    };
    let rule_id = text(req.rule.as_deref(), 64, "rule")?;
    if let Some(r) = &rule_id {
        // A budget's warning (`budget_day.warn`) belongs to its rule.
        let base = r.split_once('.').map_or(r.as_str(), |(b, _)| b);
        if !rules.iter().any(|(x, _)| x.id == base) {
            return Err(ApiError::BadRequest(format!(
                "no rule {r:?} (GET /api/v1/alerts/rules lists them)"
            )));
        }
    }
    Ok(Silence {
        id: 0,
        rule_id,
        scope: text(req.scope.as_deref(), MAX_SCOPE, "scope")?,
        until_ms,
        reason: text(req.reason.as_deref(), MAX_TEXT, "reason")?.unwrap_or_default(),
        created_by: text(req.by.as_deref(), 100, "by")?.unwrap_or_else(|| by_default.into()),
        created_ms: now,
    })
}

/// Store a silence after checking it; returns it with its id.
pub(crate) fn add_silence(
    s: &mut dyn Store,
    view: &AlertsView,
    req: &SilenceRequest,
    by_default: &str,
) -> Result<Silence, ApiError> {
    let now = now_ms();
    let rules = effective_rules(view, &s.stored_rules()?)?;
    let mut silence = new_silence(req, &rules, by_default, now)?;
    silence.id = s.add_silence(&silence)?;
    Ok(silence)
}

/// Acknowledge an alert; the updated alert, or 404.
pub(crate) fn ack_alert(s: &mut dyn Store, id: i64, by: &str) -> Result<Alert, ApiError> {
    if !s.ack_alert(id, by, now_ms())? {
        return Err(ApiError::NotFound(format!("no alert {id}")));
    }
    s.alert(id)?
        .ok_or_else(|| ApiError::NotFound(format!("no alert {id}")))
}

// ---------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------

/// `since`: a range ending now (`7d`, `24h`, `all`), epoch ms or RFC 3339.
fn since(v: Option<&str>, now: i64) -> Result<Option<i64>, ApiError> {
    let Some(s) = v.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let is_range = s == "all"
        || (s.len() > 1
            && (s.ends_with('d') || s.ends_with('h'))
            && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit()));
    if is_range {
        return params::since(s, "all", now);
    }
    params::time(Some(s), "since").map_err(|_| {
        ApiError::BadRequest(format!(
            "since must be a range like 24h or 7d, `all`, epoch milliseconds or RFC 3339, got {s:?}"
        ))
    })
}

/// `GET /api/v1/alerts`.
async fn list(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let state = match p(&q, "state") {
        None | Some("") => None,
        Some("firing") => Some(AlertState::Firing),
        Some("resolved") => Some(AlertState::Resolved),
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "state must be firing or resolved, got {o:?}"
            )))
        }
    };
    let now = now_ms();
    let since_ms = since(p(&q, "since"), now)?;
    let limit = params::limit(p(&q, "limit"), "limit", DEFAULT_LIMIT)?;
    let rule_id = p(&q, "rule").filter(|r| !r.is_empty()).map(str::to_string);
    st.read(move |s| {
        let read = |want: AlertState| -> Result<Vec<Value>, ApiError> {
            if state.is_some_and(|x| x != want) {
                return Ok(Vec::new());
            }
            let rows = s.alerts(&AlertFilter {
                state: Some(want),
                rule_id: rule_id.clone(),
                since_ms,
                limit,
                ..AlertFilter::default()
            })?;
            Ok(rows.iter().map(alert_json).collect())
        };
        let active = read(AlertState::Firing)?;
        let history = read(AlertState::Resolved)?;
        let silences: Vec<Value> = s.silences(Some(now))?.iter().map(silence_json).collect();
        Ok(Json(json!({
            "active": active,
            "history": history,
            "silences": silences,
            "limit": limit,
        })))
    })
    .await
}

/// `GET /api/v1/alerts/{id}`.
async fn detail(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = alert_id(&id)?;
    st.read(move |s| {
        let Some(a) = s.alert(id)? else {
            return Err(ApiError::NotFound(format!("no alert {id}")));
        };
        let deliveries: Vec<Value> = s
            .deliveries(Some(id), 0)?
            .iter()
            .map(delivery_json)
            .collect();
        Ok(Json(
            json!({ "alert": alert_json(&a), "deliveries": deliveries }),
        ))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckRequest {
    by: Option<String>,
}

/// `POST /api/v1/alerts/{id}/ack`.
async fn ack(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> WriteResult {
    check_writer(&st, &headers)?;
    let id = alert_id(&id)?;
    let req: AckRequest = body(&bytes, "acknowledgement")?;
    let by = text(req.by.as_deref(), 100, "by")?.unwrap_or_else(|| "api".into());
    let a = st.write(move |s| ack_alert(s, id, &by)).await?;
    Ok(Json(json!({ "alert": alert_json(&a) })).into_response())
}

/// `GET /api/v1/alerts/silences`: those in force now.
async fn silences(State(st): State<AppState>) -> ApiResult {
    st.read(|s| {
        let rows: Vec<Value> = s
            .silences(Some(now_ms()))?
            .iter()
            .map(silence_json)
            .collect();
        Ok(Json(json!({ "silences": rows })))
    })
    .await
}

/// `POST /api/v1/alerts/silences`.
async fn silence_add(State(st): State<AppState>, headers: HeaderMap, bytes: Bytes) -> WriteResult {
    check_writer(&st, &headers)?;
    let req: SilenceRequest = body(&bytes, "silence")?;
    let view = st.alerts.clone();
    let s = st
        .write(move |s| add_silence(s, &view, &req, "api"))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "silence": silence_json(&s) })),
    )
        .into_response())
}

/// `DELETE /api/v1/alerts/silences/{id}`.
async fn silence_remove(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> WriteResult {
    check_writer(&st, &headers)?;
    let id = silence_id(&id)?;
    st.write(move |s| remove_silence(s, id)).await?;
    Ok(Json(json!({ "removed": id })).into_response())
}

/// `GET /api/v1/alerts/rules`.
async fn rules(State(st): State<AppState>) -> ApiResult {
    let view = st.alerts.clone();
    st.read(move |s| {
        let rules = effective_rules(&view, &s.stored_rules()?)?;
        Ok(Json(json!({
            "rules": rules.iter().map(|(r, o)| rule_json(r, o)).collect::<Vec<_>>(),
        })))
    })
    .await
}

/// `PUT /api/v1/alerts/rules/{id}`: store an edit (replacing an earlier API edit of the
/// same id) once the whole rule set builds with it.
async fn rule_put(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> WriteResult {
    check_writer(&st, &headers)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(format!(
            "rule {id:?}: send the edit as a JSON object (e.g. {{\"pct\": 90}})"
        ))
        .into());
    }
    let edit: RuleEdit = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("rule {id:?}: {e}")))?;
    let view = st.alerts.clone();
    let rule = st
        .write(move |s| {
            let stored = s.stored_rules()?;
            let rules = rule_set_with(&view, &stored, &id, Some(edit.clone()))
                .map_err(ApiError::BadRequest)?;
            let json = serde_json::to_string(&edit)
                .map_err(|e| ApiError::Internal(format!("rule edit: {e}")))?;
            s.put_rule(&StoredRule {
                id: id.clone(),
                json,
                deleted: false,
                updated_ms: now_ms(),
            })?;
            rules
                .into_iter()
                .find(|r| r.id == id)
                .ok_or_else(|| ApiError::Internal(format!("rule {id:?} vanished")))
        })
        .await?;
    Ok(Json(json!({ "rule": rule_json(&rule, "api") })).into_response())
}

/// `DELETE /api/v1/alerts/rules/{id}`: a deletion marker (a built-in is switched off,
/// an added rule removed).
async fn rule_delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> WriteResult {
    check_writer(&st, &headers)?;
    let view = st.alerts.clone();
    let rule = st
        .write(move |s| {
            let stored = s.stored_rules()?;
            let current = effective_rules(&view, &stored)?;
            if !current.iter().any(|(r, _)| r.id == id) {
                return Err(ApiError::NotFound(format!("no rule {id:?}")));
            }
            let rules = rule_set_with(&view, &stored, &id, None).map_err(ApiError::BadRequest)?;
            s.put_rule(&StoredRule {
                id: id.clone(),
                json: String::new(),
                deleted: true,
                updated_ms: now_ms(),
            })?;
            Ok((id.clone(), rules.into_iter().find(|r| r.id == id)))
        })
        .await?;
    let (id, left) = rule;
    Ok(Json(json!({
        "id": id,
        "deleted": true,
        "rule": left.map(|r| rule_json(&r, "api")),
    }))
    .into_response())
}

/// `POST /api/v1/alerts/rules/{id}/reset`: forget the API edit (config / built-in again).
async fn rule_reset(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> WriteResult {
    check_writer(&st, &headers)?;
    let view = st.alerts.clone();
    let (id, rule) = st
        .write(move |s| {
            if !s.remove_rule(&id)? {
                return Err(ApiError::NotFound(format!(
                    "rule {id:?} has no API edit to reset"
                )));
            }
            let stored = s.stored_rules()?;
            let rules = effective_rules(&view, &stored)?;
            let rule = rules
                .into_iter()
                .find(|(r, _)| r.id == id)
                .map(|(r, o)| rule_json(&r, o));
            Ok((id, rule))
        })
        .await?;
    Ok(Json(json!({ "id": id, "reset": true, "rule": rule })).into_response())
}

/// `GET /api/v1/alerts/actions`: pause / resume actions, newest first.
async fn actions(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let limit = params::limit(p(&q, "limit"), "limit", DEFAULT_LIMIT)?;
    st.read(move |s| {
        let rows: Vec<Value> = s.actions(limit)?.iter().map(action_json).collect();
        Ok(Json(json!({ "actions": rows })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_ranges_and_times() {
        let now = 10 * 86_400_000;
        assert_eq!(since(None, now).unwrap(), None);
        assert_eq!(since(Some("all"), now).unwrap(), None);
        assert_eq!(since(Some("24h"), now).unwrap(), Some(now - 86_400_000));
        assert_eq!(since(Some("1000"), now).unwrap(), Some(1000));
        assert_eq!(
            since(Some("1970-01-01T00:00:01Z"), now).unwrap(),
            Some(1000)
        );
        assert!(since(Some("soon"), now).is_err());
    }

    #[test]
    fn silences_need_a_future_end_within_90_days() {
        let now = 1_000_000;
        let req = |m: Option<i64>, u: Option<i64>| SilenceRequest {
            minutes: m,
            until_ms: u,
            ..SilenceRequest::default()
        };
        assert!(new_silence(&req(Some(0), None), &[], "t", now).is_err());
        assert!(new_silence(&req(Some(-5), None), &[], "t", now).is_err());
        assert!(new_silence(&req(None, None), &[], "t", now).is_err());
        assert!(new_silence(&req(Some(1), Some(now + 1)), &[], "t", now).is_err());
        assert!(new_silence(&req(None, Some(now)), &[], "t", now).is_err());
        assert!(new_silence(&req(Some(MAX_SILENCE_MINUTES + 1), None), &[], "t", now).is_err());
        let s = new_silence(&req(Some(60), None), &[], "t", now).unwrap();
        assert_eq!(s.until_ms, now + 3_600_000);
        assert_eq!(
            (s.rule_id, s.scope, s.created_by.as_str()),
            (None, None, "t")
        );
    }
}
