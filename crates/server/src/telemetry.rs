//! Telemetry endpoints: traces (`/api/v1/traces`, `/api/v1/traces/{id}`) and metric
//! series (`/api/v1/metrics`, `/api/v1/metrics/series`). Attribute text is masked:
//! spans may carry captured prompts with secrets in them.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use clawscope_core::otel::{SeriesQuery, TraceDetail, TraceFilter};
use clawscope_core::redact::mask;

use crate::params::{self, ApiError};
use crate::AppState;

type Params = Query<HashMap<String, String>>;
type ApiResult = Result<Json<Value>, ApiError>;

/// Steps one series answer may hold.
const MAX_STEPS: i64 = 10_000;

fn p<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(String::as_str).filter(|s| !s.is_empty())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn bool_param(v: Option<&str>, name: &str) -> Result<Option<bool>, ApiError> {
    match v {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(s) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false, got {s:?}"
        ))),
    }
}

/// A duration like `60`, `30s`, `5m`, `1h`, `1d` as milliseconds (seconds when bare).
pub fn step(v: Option<&str>, default_ms: i64) -> Result<i64, ApiError> {
    let Some(s) = v else { return Ok(default_ms) };
    let bad = || {
        ApiError::BadRequest(format!(
            "step must look like 60, 30s, 5m, 1h or 1d, got {s:?}"
        ))
    };
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1_000),
        Some('m') => (&s[..s.len() - 1], 60_000),
        Some('h') => (&s[..s.len() - 1], 3_600_000),
        Some('d') => (&s[..s.len() - 1], 86_400_000),
        _ => (s, 1_000),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    match n.checked_mul(mult) {
        Some(ms) if ms >= 1_000 => Ok(ms),
        _ => Err(bad()),
    }
}

fn is_trace_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn traces(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let f = TraceFilter {
        service: p(&q, "service").map(str::to_string),
        name: p(&q, "name").map(str::to_string),
        since_ms: params::time(p(&q, "since"), "since")?,
        until_ms: params::time(p(&q, "until"), "until")?,
        min_duration_ms: p(&q, "min_duration_ms")
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "min_duration_ms must be a number ≥ 0, got {s:?}"
                        ))
                    })
            })
            .transpose()?,
        error: bool_param(p(&q, "error"), "error")?,
        session_key: p(&q, "session").map(str::to_string),
        limit: params::limit(p(&q, "limit"), "limit", 100)?,
    };
    let limit = f.limit;
    st.read(move |s| {
        let rows = s.traces(&f)?;
        Ok(Json(json!({ "rows": rows, "limit": limit })))
    })
    .await
}

fn masked(mut d: TraceDetail) -> TraceDetail {
    for s in &mut d.spans {
        s.span.attrs = mask(&s.span.attrs).into_owned();
        s.span.resource = mask(&s.span.resource).into_owned();
        if let Some(e) = &mut s.span.events {
            *e = mask(e).into_owned();
        }
        if let Some(m) = &mut s.span.status_message {
            *m = mask(m).into_owned();
        }
    }
    for l in &mut d.logs {
        l.body = mask(&l.body).into_owned();
        l.attrs = mask(&l.attrs).into_owned();
    }
    d
}

pub async fn trace(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = id.to_ascii_lowercase();
    if !is_trace_id(&id) {
        return Err(ApiError::BadRequest(format!(
            "a trace id is 32 hex digits, got {id:?}"
        )));
    }
    st.read(move |s| match s.trace(&id)? {
        Some(d) => Ok(Json(serde_json::to_value(masked(d)).unwrap_or_default())),
        None => Err(ApiError::NotFound(format!("no trace {id}"))),
    })
    .await
}

pub async fn metrics(State(st): State<AppState>) -> ApiResult {
    st.read(|s| Ok(Json(json!({ "rows": s.metric_names()? }))))
        .await
}

pub async fn series(State(st): State<AppState>, Query(q): Params) -> ApiResult {
    let Some(name) = p(&q, "name") else {
        return Err(ApiError::BadRequest(
            "name is required (GET /api/v1/metrics lists them)".into(),
        ));
    };
    let until = params::time(p(&q, "until"), "until")?.unwrap_or_else(now_ms);
    let since = params::time(p(&q, "since"), "since")?.unwrap_or(until - 3_600_000);
    let step_ms = step(p(&q, "step"), 60_000)?;
    if since >= until {
        return Err(ApiError::BadRequest("since must be before until".into()));
    }
    if (until - since) / step_ms > MAX_STEPS {
        return Err(ApiError::BadRequest(format!(
            "more than {MAX_STEPS} steps: use a larger step or a shorter window"
        )));
    }
    let query = SeriesQuery {
        name: name.to_string(),
        group_by: p(&q, "group_by").map(str::to_string),
        step_ms,
        since_ms: since,
        until_ms: until,
    };
    st.read(move |s| {
        let r = s.metric_series(&query)?;
        Ok(Json(json!({
            "name": r.name, "kind": r.kind, "unit": r.unit, "resolution": r.resolution,
            "step_ms": query.step_ms, "since": query.since_ms, "until": query.until_ms,
            "group_by": query.group_by, "groups": r.groups,
        })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_with_units_and_refuse_nonsense() {
        assert_eq!(step(Some("60"), 1).unwrap(), 60_000);
        assert_eq!(step(Some("5m"), 1).unwrap(), 300_000);
        assert_eq!(step(Some("1h"), 1).unwrap(), 3_600_000);
        assert_eq!(step(None, 7).unwrap(), 7);
        assert!(step(Some("0s"), 1).is_err());
        assert!(step(Some("abc"), 1).is_err());
        assert!(step(Some("99999999999999999d"), 1).is_err());
    }
}
