//! Bearer-token check. No request header other than `Authorization` is consulted:
//! X-Forwarded-For, Forwarded or Host never grant access.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clawscope_core::redact::same_secret;

use crate::{ApiError, AppState};

pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = state.token.as_deref() else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if same_secret(g, token) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}
