//! OTLP messages → the stored telemetry shapes of `clawscope_core::otel`.

pub mod attrs;
mod logs;
mod metrics;
mod spans;

pub use logs::map_logs;
pub use metrics::map_metrics;
pub use spans::{classify, map_traces};

use opentelemetry_proto::tonic::resource::v1::Resource;

use attrs::{object, Attrs};

/// Attributes that name a session or conversation, most specific first. OpenClaw's
/// exporter may hash its session keys; a hash that matches no known session still
/// groups the spans of one conversation.
const SESSION_KEYS: &[&str] = &[
    "openclaw.sessionKey",
    "openclaw.session.key",
    "openclaw.sessionId",
    "session.id",
    "gen_ai.conversation.id",
    "langfuse.session.id",
];

/// The session or conversation id named by `a`.
pub(crate) fn session_hint(a: &Attrs<'_>) -> Option<String> {
    a.str(SESSION_KEYS)
}

/// What a resource says about where telemetry came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceIdentity {
    pub service: String,
    pub host: Option<String>,
    pub session: Option<String>,
    pub attrs: String,
}

pub(crate) fn resource_identity(res: Option<&Resource>) -> ResourceIdentity {
    let kvs = res.map(|r| r.attributes.as_slice()).unwrap_or(&[]);
    let a = Attrs(kvs);
    ResourceIdentity {
        service: a
            .str(&["service.name"])
            .unwrap_or_else(|| "unknown_service".into()),
        host: a.str(&["host.name", "host.id"]),
        session: session_hint(&a),
        attrs: object(kvs),
    }
}

/// Items refused inside an otherwise accepted request (OTLP partial success).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejected {
    /// How many.
    pub count: i64,
    /// Why (the first reason seen).
    pub message: String,
}

impl Rejected {
    pub(crate) fn add(&mut self, why: &str) {
        if self.count == 0 {
            self.message = why.to_string();
        }
        self.count += 1;
    }
}
