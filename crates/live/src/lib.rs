//! clawscope-live: keeping the store current while serving and publishing what
//! changed. Sources here — the file/store follower, the gateway WebSocket client,
//! the native event stream — all feed one [`writer::Writer`], the only thing that
//! writes the store while serving; it publishes committed events on the bus.
#![forbid(unsafe_code)]

pub mod event_socket;
pub mod follow;
pub mod gateway_rpc;
pub mod gateway_ws;
pub mod writer;

pub use writer::{TrackerConfig, Work, Writer};

/// Wall-clock time in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
