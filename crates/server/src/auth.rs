//! Access check. With a token set, a request needs `Authorization: Bearer <token>` or
//! the dashboard's sign-in cookie. No other header is consulted: X-Forwarded-For,
//! Forwarded or Host never grant access. Browsers asking for a page are sent to the
//! sign-in form; everything else gets 401. Without a token (loopback only), a request
//! must name the server by address or as localhost: a page elsewhere reaching it
//! through DNS rebinding names it by its own domain and gets 403.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use clawscope_core::access::{bearer_token, is_local_request};
use clawscope_core::redact::same_secret;

use crate::{ApiError, AppState};

/// Paths open without a sign-in: the form itself and the static assets it uses.
fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/assets/")
}

/// Whether the request is for the JSON API (401) rather than a page (redirect).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/v1/")
}

pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = state.token.as_deref() else {
        if !names_this_machine(&req) {
            return ApiError::Forbidden(
                "this server answers only requests to an address or localhost (start it with --token to serve a host name)".into(),
            )
            .into_response();
        }
        return next.run(req).await;
    };
    let path = req.uri().path();
    if is_public(path) {
        return next.run(req).await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let ok = match bearer {
        Some(g) => same_secret(g, token),
        None => state.logins.session_of(req.headers()).is_some(),
    };
    if ok {
        return next.run(req).await;
    }
    if is_api(path) || req.method() != axum::http::Method::GET {
        return ApiError::Unauthorized.into_response();
    }
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let next_q: String = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    Redirect::to(&format!("/login?{next_q}")).into_response()
}

/// Whether the request names this machine (see [`is_local_request`]).
fn names_this_machine(req: &Request) -> bool {
    is_local_request(
        req.uri().authority().map(|a| a.as_str()),
        req.headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok()),
    )
}
