//! Live data: gateway WebSocket frames and native event-stream envelopes mapped to
//! events, and the per-session live state (active / idle / ended / errored / hung).

pub mod gateway;
pub mod native;
pub mod tracker;

use serde::Serialize;
use serde_json::Value;

use crate::model::{Event, SessionMeta};

pub use tracker::{LiveSession, SessionStatus, Tracker};

/// A published-but-not-stored live update: streaming deltas, live output-token
/// counts, command output, run status, gateway health and ticks. The transcript
/// records the durable form of all of these later.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Transient {
    /// `live.assistant`, `live.thinking`, `live.usage`, `live.command_output`,
    /// `live.run_status`, `live.step`, `gateway.health`, `gateway.tick`...
    pub kind: String,
    /// When (epoch ms).
    pub ts_ms: i64,
    /// Session, when it concerns one.
    pub session_key: Option<String>,
    /// Agent.
    pub agent: Option<String>,
    /// Run.
    pub run_id: Option<String>,
    /// The payload (bounded).
    pub data: Value,
}

/// What one live input produced.
#[derive(Debug, Default)]
pub struct LiveOutput {
    /// Events to store (then publish).
    pub events: Vec<Event>,
    /// Session metadata learned (sub-agent parent links).
    pub sessions: Vec<SessionMeta>,
    /// Updates to publish only.
    pub transients: Vec<Transient>,
}
