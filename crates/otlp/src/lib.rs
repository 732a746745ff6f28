//! clawscope-otlp: a drop-in OTLP endpoint. OTLP/HTTP (protobuf and JSON, gzip) and
//! OTLP/gRPC requests for traces, metrics and logs are decoded with the
//! `opentelemetry-proto` types, mapped to the stored shapes of
//! `clawscope_core::otel`, and handed to a [`Sink`] that answers once they are
//! durable. The receiver knows nothing of the store behind the sink.
#![forbid(unsafe_code)]

pub mod decode;
pub mod grpc;
pub mod http;
pub mod map;
pub mod signal;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use clawscope_core::otel::{Telemetry, TelemetryStats};

/// Where decoded telemetry goes. The future resolves once it is stored (`Err` with a
/// reason when it could not be, which the receivers report as retryable).
pub type Sink = Arc<
    dyn Fn(Telemetry) -> Pin<Box<dyn Future<Output = Result<TelemetryStats, String>> + Send>>
        + Send
        + Sync,
>;

/// Receiver settings shared by HTTP and gRPC.
#[derive(Clone)]
pub struct Config {
    /// Required token, if any: `Authorization: Bearer <token>`, or the value of
    /// `token_header` when that is set.
    pub token: Option<String>,
    /// Another header that may carry the token (lowercase name).
    pub token_header: Option<String>,
    /// Largest request body, after decompression (bytes).
    pub max_body: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            token_header: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Default body limit: 16 MiB (an exporter batch of 512 spans is well under 1 MiB).
pub const DEFAULT_MAX_BODY: usize = 16 << 20;

impl Config {
    /// Whether a request carrying these header values may pass.
    pub fn authorized<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let Some(token) = self.token.as_deref() else {
            return true;
        };
        let bearer = get("authorization").and_then(clawscope_core::access::bearer_token);
        let header = self.token_header.as_deref().and_then(&get).map(str::trim);
        [bearer, header]
            .into_iter()
            .flatten()
            .any(|g| clawscope_core::redact::same_secret(g, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_bearer_or_the_named_header_only() {
        let cfg = Config {
            token: Some("s3cret".into()),
            token_header: Some("x-otlp-token".into()),
            ..Config::default()
        };
        assert!(cfg.authorized(|h| (h == "authorization").then_some("Bearer s3cret")));
        assert!(cfg.authorized(|h| (h == "x-otlp-token").then_some("s3cret")));
        assert!(!cfg.authorized(|h| (h == "authorization").then_some("Bearer nope")));
        assert!(!cfg.authorized(|h| (h == "x-forwarded-for").then_some("127.0.0.1")));
        assert!(!cfg.authorized(|_| None));
        assert!(Config::default().authorized(|_| None));
    }
}
