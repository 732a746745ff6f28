//! Query-parameter parsing with clear 4xx errors, and the error type.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API error with its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a parameter is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 401.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// 403: not allowed however the request is made.
    #[error("{0}")]
    Forbidden(String),
    /// 500.
    #[error("internal error: {0}")]
    Internal(String),
    /// 503: a limit is reached or a feature is not running.
    #[error("{0}")]
    Unavailable(String),
}

impl From<clawscope_store::StoreError> for ApiError {
    fn from(e: clawscope_store::StoreError) -> Self {
        match e {
            clawscope_store::StoreError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// The HTTP status this error answers with (JSON or page alike).
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "API request failed");
        }
        let mut r = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

/// Largest page an endpoint returns.
pub const MAX_LIMIT: usize = 1000;

/// A page size within 1..=MAX_LIMIT, `default` when absent.
pub fn limit(v: Option<&str>, name: &str, default: usize) -> Result<usize, ApiError> {
    match v {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "{name} must be a whole number from 1 to {MAX_LIMIT}, got {s:?}"
            ))),
        },
    }
}

/// A non-negative offset.
pub fn offset(v: Option<&str>) -> Result<usize, ApiError> {
    v.map(|s| {
        s.parse::<usize>().map_err(|_| {
            ApiError::BadRequest(format!("offset must be a whole number ≥ 0, got {s:?}"))
        })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

/// A comma-separated list (`tool.call, tool.result`), blanks dropped.
pub fn list(v: Option<&str>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// A time given as epoch ms or RFC 3339.
pub fn time(v: Option<&str>, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Some(ms));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| Some(d.timestamp_millis()))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{name} must be epoch milliseconds or RFC 3339, got {s:?}"
            ))
        })
}

/// A range like `7d`, `24h`, `30d` as milliseconds (1 hour to 3660 days).
pub fn range(v: Option<&str>, default: &str) -> Result<i64, ApiError> {
    let s = v.unwrap_or(default);
    let bad = || ApiError::BadRequest(format!("range must look like 7d or 24h, got {s:?}"));
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let ms = match unit {
        "d" => n.checked_mul(86_400_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(bad)?;
    if !(3_600_000..=3660 * 86_400_000).contains(&ms) {
        return Err(ApiError::BadRequest(format!(
            "range must be between 1h and 3660d, got {s:?}"
        )));
    }
    Ok(ms)
}

/// The start of a `range` parameter (`7d`, `24h`, or `all` for no start) ending now;
/// an empty one means `default`.
pub fn since(range: &str, default: &str, now_ms: i64) -> Result<Option<i64>, ApiError> {
    match if range.is_empty() { default } else { range } {
        "all" => Ok(None),
        r => Ok(Some(now_ms - self::range(Some(r), default)?)),
    }
}

/// A time zone name.
pub fn tz(v: Option<&str>) -> Result<chrono_tz::Tz, ApiError> {
    match v {
        None => Ok(chrono_tz::UTC),
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("unknown time zone {s:?}"))),
    }
}
