//! Turning a template into a response with the security headers every page carries.

use std::time::Instant;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// No inline script or style, nothing from elsewhere, no framing, forms post here only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Headers shared by pages and fragments.
pub fn secure(mut r: Response, started: Instant) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("render;dur={ms:.2}")) {
        h.insert("server-timing", v);
    }
    r
}

/// Render `t` as an HTML page or fragment.
pub fn html<T: Template>(t: &T, started: Instant) -> Response {
    html_status(StatusCode::OK, t, started)
}

/// Render `t` with a status.
pub fn html_status<T: Template>(status: StatusCode, t: &T, started: Instant) -> Response {
    match t.render() {
        Ok(body) => secure(
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response(),
            started,
        ),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

/// An error page: the status and message, escaped, inside the layout-free error frame.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub message: String,
}

/// Render an API error as a page.
pub fn error(e: ApiError, started: Instant) -> Response {
    let status = e.status();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "page failed");
    }
    html_status(
        status,
        &ErrorPage {
            status: status.as_u16(),
            message: e.to_string(),
        },
        started,
    )
}

/// A page handler's result: a response either way.
pub fn page<T: Template>(r: Result<T, ApiError>, started: Instant) -> Response {
    match r {
        Ok(t) => html(&t, started),
        Err(e) => error(e, started),
    }
}
