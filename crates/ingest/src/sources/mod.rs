//! One module per source format.

mod appended;
pub mod claude;
pub mod gateway_log;
pub mod openclaw_db;
pub mod openclaw_legacy;
pub mod openclaw_state;
