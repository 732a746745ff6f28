//! clawscope-core: the normalized event model, the parsers that turn source
//! records into events, pricing, and report arithmetic. No IO lives here.
#![forbid(unsafe_code)]

pub mod access;
pub mod alert;
pub mod anomaly;
pub mod batch;
pub mod claude;
pub mod excerpt;
pub mod files;
pub mod jsonutil;
pub mod live;
pub mod model;
pub mod openclaw;
pub mod otel;
pub mod pricing;
pub mod query;
pub mod redact;
pub mod report;
pub mod skip;
pub mod stats;
pub mod text;

pub use model::{
    Cost, CostSource, ErrorInfo, Event, EventKind, Merge, ModelRef, SessionMeta, SourceKind,
    Timing, Tokens, ToolInfo,
};
pub use skip::{SkipCounts, SkipReason};
