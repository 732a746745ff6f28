//! Endpoints: ClawTrace's `/api/*` and the Observatory query API `/api/v1/*`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Value};

use clawscope_core::query::{
    Dims, EventFilter, SessionFilter, SessionOrder, SessionSummary, StoredEvent, UsageFilter,
};
use clawscope_core::redact::mask_event;
use clawscope_core::report::{group, period_starts, rows_json, GroupBy, UsageTotals};

use crate::params::{self, ApiError};
use crate::queries::{anomalies as anomalies_since, totals_since};
use crate::AppState;

type Params = Query<HashMap<String, String>>;
type ApiResult = Result<Json<Value>, ApiError>;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/summary", get(summary))
        .route("/api/costs", get(costs))
        .route("/api/models", get(models))
        .route("/api/projects", get(projects))
        .route("/api/sessions", get(top_sessions))
        .route("/api/anomalies", get(anomalies))
        .route("/api/health", get(health))
        .route("/api/v1/health", get(health))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{key}", get(session))
        .route("/api/v1/sessions/{key}/events", get(session_events))
        .route("/api/v1/events", get(events))
        .route("/api/v1/metrics/summary", get(metrics_summary))
        .route("/api/v1/metrics", get(crate::telemetry::metrics))
        .route("/api/v1/metrics/series", get(crate::telemetry::series))
        .route("/api/v1/traces", get(crate::telemetry::traces))
        .route("/api/v1/traces/{id}", get(crate::telemetry::trace))
        .route("/api/v1/stream", get(crate::stream::stream))
        .route("/api/v1/live/sessions", get(crate::live::sessions))
        .route("/api/v1/live/sessions/{key}", get(crate::live::session))
        .route("/api/v1/gateway", get(crate::live::gateway))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .with_state(state)
}

fn p<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(String::as_str)
}

fn events_json(mut evs: Vec<StoredEvent>) -> Vec<StoredEvent> {
    for e in &mut evs {
        mask_event(&mut e.event);
    }
    evs
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

async fn summary(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let tz = params::tz(p(&q, "tz"))?;
    st.read(move |s| {
        let [today, week, month] = period_starts(tz, now_ms());
        let all = s.usage_buckets(&UsageFilter::default())?;
        let stats = s.stats()?;
        let active = s.count_sessions(&SessionFilter {
            usage: UsageFilter {
                since_ms: Some(now_ms() - 10 * 60_000),
                ..UsageFilter::default()
            },
            ..SessionFilter::default()
        })?;
        Ok(Json(json!({
            "today": totals_since(s, today.1)?.to_json(),
            "week": totals_since(s, week.1)?.to_json(),
            "month": totals_since(s, month.1)?.to_json(),
            "all_time": group(&all, GroupBy::Agent, tz).1.to_json(),
            "sessions": stats.sessions,
            "active_sessions": active,
            "events": stats.events,
            "last_activity_ms": stats.last_event_ms,
            "timezone": tz.name(),
        })))
    })
    .await
}

async fn costs(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let range = params::range(p(&q, "range"), "7d")?;
    let tz = params::tz(p(&q, "tz"))?;
    st.read(move |s| {
        let b = s.usage_buckets(&UsageFilter {
            since_ms: Some(now_ms() - range),
            ..UsageFilter::default()
        })?;
        let (rows, total) = group(&b, GroupBy::Day, tz);
        Ok(Json(
            json!({ "rows": rows_json(&rows, "date"), "totals": total.to_json() }),
        ))
    })
    .await
}

async fn grouped(
    st: AppState,
    q: HashMap<String, String>,
    by: GroupBy,
    label: &'static str,
) -> ApiResult {
    let since = params::time(p(&q, "since"), "since")?;
    let until = params::time(p(&q, "until"), "until")?;
    let source = p(&q, "source").map(str::to_string);
    st.read(move |s| {
        let b = s.usage_buckets(&UsageFilter {
            since_ms: since,
            until_ms: until,
            source,
            agent: None,
            keep: match by {
                GroupBy::Model => Dims::Model,
                GroupBy::Project => Dims::ProjectModel,
                _ => Dims::All,
            },
        })?;
        let (mut rows, total) = group(&b, by, chrono_tz::UTC);
        rows.sort_by(|a, b| b.totals.cost_usd.total_cmp(&a.totals.cost_usd));
        Ok(Json(
            json!({ "rows": rows_json(&rows, label), "totals": total.to_json() }),
        ))
    })
    .await
}

async fn models(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    grouped(st, q, GroupBy::Model, "model").await
}

async fn projects(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    grouped(st, q, GroupBy::Project, "project").await
}

async fn top_sessions(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let n = params::limit(p(&q, "n"), "n", 10)?;
    let order = match p(&q, "order") {
        None | Some("cost") => SessionOrder::Cost,
        Some("recent") => SessionOrder::LastActivity,
        Some("tokens") => SessionOrder::Tokens,
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "order must be cost, recent or tokens, got {o:?}"
            )))
        }
    };
    st.read(move |s| {
        let rows = s.sessions(&SessionFilter { order, limit: n, ..SessionFilter::default() })?;
        let mut total = UsageTotals::default();
        rows.iter().for_each(|r| total.add(&r.totals));
        Ok(Json(json!({ "rows": rows.iter().map(SessionSummary::to_json).collect::<Vec<_>>(), "totals": total.to_json() })))
    })
    .await
}

async fn anomalies(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let range = params::range(p(&q, "range"), "7d")?;
    st.read(move |s| {
        let found = anomalies_since(s, now_ms() - range)?;
        Ok(Json(
            json!({ "rows": found, "totals": { "anomalies": found.len() } }),
        ))
    })
    .await
}

async fn health(State(st): State<AppState>) -> ApiResult {
    let started = st.started_ms;
    st.read(move |s| {
        let stats = s.stats()?;
        Ok(Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_ms": now_ms() - started,
            "store": stats,
        })))
    })
    .await
}

fn session_filter(q: &HashMap<String, String>) -> Result<SessionFilter, ApiError> {
    let order = match p(q, "order") {
        None | Some("recent") => SessionOrder::LastActivity,
        Some("cost") => SessionOrder::Cost,
        Some("tokens") => SessionOrder::Tokens,
        Some(o) => {
            return Err(ApiError::BadRequest(format!(
                "order must be recent, cost or tokens, got {o:?}"
            )))
        }
    };
    Ok(SessionFilter {
        usage: UsageFilter {
            since_ms: params::time(p(q, "since"), "since")?,
            until_ms: params::time(p(q, "until"), "until")?,
            source: p(q, "source").map(str::to_string),
            agent: p(q, "agent").map(str::to_string),
            keep: Dims::All,
        },
        key_contains: p(q, "q").map(str::to_string),
        parent: p(q, "parent").map(str::to_string),
        order,
        limit: params::limit(p(q, "limit"), "limit", 50)?,
        offset: params::offset(p(q, "offset"))?,
        channel: p(q, "channel").map(str::to_string),
        model: p(q, "model").map(str::to_string),
        status: p(q, "status").map(str::to_string),
        ..SessionFilter::default()
    })
}

async fn sessions(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let f = session_filter(&q)?;
    st.read(move |s| {
        let rows = s.sessions(&f)?;
        let total = s.count_sessions(&f)?;
        Ok(Json(json!({
            "rows": rows.iter().map(SessionSummary::to_json).collect::<Vec<_>>(),
            "total": total, "limit": f.limit, "offset": f.offset,
        })))
    })
    .await
}

async fn session(State(st): State<AppState>, Path(key): Path<String>) -> ApiResult {
    st.read(move |s| {
        let Some(sess) = s.session(&key)? else {
            return Err(ApiError::NotFound(format!("no session {key:?}")));
        };
        let children = s.sessions(&SessionFilter {
            parent: Some(key.clone()),
            ..SessionFilter::default()
        })?;
        let mut tree_cost = sess.totals.cost_usd;
        children.iter().for_each(|c| tree_cost += c.totals.cost_usd);
        Ok(Json(json!({
            "session": sess.to_json(),
            "children": children.iter().map(SessionSummary::to_json).collect::<Vec<_>>(),
            "cost_with_children_usd": tree_cost,
        })))
    })
    .await
}

fn kinds(q: &HashMap<String, String>) -> Vec<String> {
    params::list(p(q, "type"))
}

fn event_filter(
    q: &HashMap<String, String>,
    session: Option<String>,
) -> Result<EventFilter, ApiError> {
    let after_seq = p(q, "after_seq")
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("after_seq must be an integer, got {s:?}"))
            })
        })
        .transpose()?;
    Ok(EventFilter {
        session_key: session.or_else(|| p(q, "session").map(str::to_string)),
        kinds: kinds(q),
        since_ms: params::time(p(q, "since"), "since")?,
        until_ms: params::time(p(q, "until"), "until")?,
        after_seq,
        limit: params::limit(p(q, "limit"), "limit", 200)?,
        offset: params::offset(p(q, "offset"))?,
        newest_first: false,
    })
}

async fn session_events(
    State(st): State<AppState>,
    Path(key): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let f = event_filter(&q, Some(key.clone()))?;
    st.read(move |s| {
        if s.session(&key)?.is_none() {
            return Err(ApiError::NotFound(format!("no session {key:?}")));
        }
        let rows = events_json(s.events(&f)?);
        Ok(Json(
            json!({ "rows": rows, "limit": f.limit, "offset": f.offset }),
        ))
    })
    .await
}

async fn events(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let f = event_filter(&q, None)?;
    st.read(move |s| {
        let rows = events_json(s.events(&f)?);
        Ok(Json(
            json!({ "rows": rows, "limit": f.limit, "offset": f.offset }),
        ))
    })
    .await
}

async fn metrics_summary(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let since = params::time(p(&q, "since"), "since")?;
    let until = params::time(p(&q, "until"), "until")?;
    st.read(move |s| {
        let usage = UsageFilter {
            since_ms: since,
            until_ms: until,
            ..UsageFilter::default()
        };
        let b = s.usage_buckets(&usage)?;
        let (by_model, total) = group(&b, GroupBy::Model, chrono_tz::UTC);
        let (by_agent, _) = group(&b, GroupBy::Agent, chrono_tz::UTC);
        let sessions = s.sessions(&SessionFilter {
            usage,
            ..SessionFilter::default()
        })?;
        let (mut tool_calls, mut tool_errors, mut errors) = (0u64, 0u64, 0u64);
        for x in &sessions {
            tool_calls += x.tool_calls;
            tool_errors += x.tool_errors;
            errors += x.assistant_errors;
        }
        Ok(Json(json!({
            "totals": total.to_json(),
            "sessions": sessions.len(),
            "tool_calls": tool_calls,
            "tool_errors": tool_errors,
            "assistant_errors": errors,
            "by_model": rows_json(&by_model, "model"),
            "by_agent": rows_json(&by_agent, "agent"),
        })))
    })
    .await
}
