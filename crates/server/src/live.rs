//! Live state endpoints: session states (active / idle / ended / errored / hung,
//! context use, the sub-agent tree) and the gateway connection.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use clawscope_core::live::LiveSession;

use crate::params::ApiError;
use crate::AppState;

type ApiResult = Result<Json<Value>, ApiError>;

fn bus_sessions(st: &AppState) -> Result<Vec<LiveSession>, ApiError> {
    st.bus.as_ref().map(|b| b.sessions()).ok_or_else(|| {
        ApiError::Unavailable("live session state runs under `clawscope serve` only".into())
    })
}

/// `GET /api/v1/live/sessions?status=hung&agent=main`.
pub async fn sessions(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let status = q.get("status").map(String::as_str);
    if let Some(s) = status {
        if !["active", "idle", "ended", "errored", "hung"].contains(&s) {
            return Err(ApiError::BadRequest(format!(
                "status must be active, idle, ended, errored or hung, got {s:?}"
            )));
        }
    }
    let all = bus_sessions(&st)?;
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for s in &all {
        *counts.entry(s.status.as_str()).or_default() += 1;
    }
    let rows: Vec<&LiveSession> = all
        .iter()
        .filter(|s| status.is_none_or(|want| s.status.as_str() == want))
        .filter(|s| {
            q.get("agent")
                .is_none_or(|a| s.agent.as_deref() == Some(a.as_str()))
        })
        .collect();
    Ok(Json(json!({"counts": counts, "sessions": rows})))
}

/// `GET /api/v1/live/sessions/{key}`: the session with its sub-agent tree.
pub async fn session(State(st): State<AppState>, Path(key): Path<String>) -> ApiResult {
    let all = bus_sessions(&st)?;
    let by_key: HashMap<&str, &LiveSession> =
        all.iter().map(|s| (s.session_key.as_str(), s)).collect();
    let root = by_key
        .get(key.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no live session {key:?}")))?;
    Ok(Json(tree(root, &by_key, 0)))
}

fn tree(s: &LiveSession, by_key: &HashMap<&str, &LiveSession>, depth: usize) -> Value {
    let children: Vec<Value> = if depth < 16 {
        s.children
            .iter()
            .filter_map(|c| by_key.get(c.as_str()))
            .map(|c| tree(c, by_key, depth + 1))
            .collect()
    } else {
        Vec::new()
    };
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    v["subagents"] = Value::Array(children);
    v
}

/// `GET /api/v1/gateway`: the gateway WebSocket client's state and latest RPC answers.
pub async fn gateway(State(st): State<AppState>) -> ApiResult {
    let f = st.gateway.as_ref().ok_or_else(|| {
        ApiError::Unavailable("no gateway connection configured (serve --gateway)".into())
    })?;
    Ok(Json(f()))
}
