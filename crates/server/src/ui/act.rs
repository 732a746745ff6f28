//! Who may act from the dashboard (acknowledge alerts, silence them, toggle or run a
//! cron job): the server must have a token, the browser must be signed in with it,
//! and every form must carry the sign-in's CSRF token.

use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::render;
use crate::AppState;

/// Whether this request may use the forms, and if not, why.
pub fn may_act(st: &AppState, headers: &HeaderMap) -> (bool, &'static str) {
    if st.token.as_deref().is_none_or(str::is_empty) {
        return (
            false,
            "Read-only: set a token (serve --token or CLAWSCOPE_TOKEN) to act from the dashboard.",
        );
    }
    if st.logins.session_of(headers).is_none() {
        return (false, "Read-only: sign in to act from the dashboard.");
    }
    (true, "")
}

/// `None` when the form may proceed; otherwise the 403 page that refuses it.
pub fn check_form(
    st: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    started: Instant,
) -> Option<Response> {
    let (ok, why) = may_act(st, headers);
    let why = if !ok {
        why
    } else if !st.logins.csrf_ok(headers, csrf) {
        "missing or wrong CSRF token"
    } else {
        return None;
    };
    Some(refuse(why, started))
}

/// A 403 page saying why.
pub fn refuse(why: &str, started: Instant) -> Response {
    render::html_status(
        StatusCode::FORBIDDEN,
        &render::ErrorPage {
            status: StatusCode::FORBIDDEN.as_u16(),
            message: why.to_string(),
        },
        started,
    )
}
