//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`.
//!
//! Protobuf or JSON (the response uses the request's encoding), gzip bodies, 413 past
//! the body limit, 415 for other content types, 400 for bodies that do not decode,
//! 401 without the configured token, 503 (retryable) when the store cannot take the
//! data. A 200 is sent only after the data is stored.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::decode::{self, DecodeError, Encoding};
use crate::signal::{self, Signal};
use crate::{Config, Sink};

#[derive(Clone)]
struct Receiver {
    sink: Sink,
    cfg: Config,
}

/// The OTLP/HTTP routes.
pub fn router(sink: Sink, cfg: Config) -> Router {
    // Compressed bodies are checked again after inflating; the raw limit only keeps
    // a huge upload from being buffered at all.
    let raw_limit = cfg.max_body;
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .layer(DefaultBodyLimit::max(raw_limit))
        // Outside the handlers' body extractor: a request without the token is refused
        // before any of its body is read (or buffered).
        .route_layer(middleware::from_fn_with_state(cfg.clone(), require_token))
        .with_state(Receiver { sink, cfg })
}

async fn require_token(State(cfg): State<Config>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    // Without a token only this machine may send; a web page elsewhere reaching the port
    // through DNS rebinding names it by its own domain (see `is_local_authority`).
    let local = clawscope_core::access::is_local_request(
        req.uri().authority().map(|a| a.as_str()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    );
    if cfg.token.is_none() && !local {
        return error(
            None,
            StatusCode::FORBIDDEN,
            "without a token this receiver answers only requests to an address or localhost".into(),
        );
    }
    if !cfg.authorized(|name| headers.get(name).and_then(|v| v.to_str().ok())) {
        return error(
            None,
            StatusCode::UNAUTHORIZED,
            "missing or wrong token".into(),
        );
    }
    next.run(req).await
}

async fn traces(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    export(r, Signal::Traces, headers, body).await
}

async fn metrics(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    export(r, Signal::Metrics, headers, body).await
}

async fn logs(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    export(r, Signal::Logs, headers, body).await
}

fn error(enc: Option<Encoding>, status: StatusCode, message: String) -> Response {
    let body = match enc {
        Some(Encoding::Json) => {
            serde_json::json!({ "code": status.as_u16(), "message": message }).to_string()
        }
        _ => message,
    };
    let ct = match enc {
        Some(Encoding::Json) => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

fn decode_status(e: &DecodeError) -> StatusCode {
    match e {
        DecodeError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        DecodeError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        DecodeError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        DecodeError::Malformed(_) => StatusCode::BAD_REQUEST,
    }
}

async fn export(r: Receiver, signal: Signal, headers: HeaderMap, body: Bytes) -> Response {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let enc = match decode::encoding(get("content-type")) {
        Ok(e) => e,
        Err(e) => return error(None, decode_status(&e), e.to_string()),
    };
    let decoded = decode::inflate(get("content-encoding"), &body, r.cfg.max_body)
        .and_then(|bytes| signal::decode(signal, enc, &bytes));
    let (telemetry, rejected) = match decoded {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(error = %e, ?signal, "otlp request refused");
            return error(Some(enc), decode_status(&e), e.to_string());
        }
    };
    if !telemetry.is_empty() {
        if let Err(e) = (r.sink)(telemetry).await {
            tracing::warn!(error = %e, "otlp data not stored");
            return error(
                Some(enc),
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not stored: {e}"),
            );
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, enc.content_type())],
        signal::response_body(signal, enc, &rejected),
    )
        .into_response()
}

/// Serve the OTLP/HTTP routes on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sink: Sink,
    cfg: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sink, cfg))
        .with_graceful_shutdown(shutdown)
        .await
}
