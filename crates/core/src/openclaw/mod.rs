//! OpenClaw formats: transcript entries, session entries, state rows.

pub mod log;
pub mod session_entry;
pub mod state;
pub mod transcript;

pub use session_entry::{agent_from_key, parse_entry, parse_sessions_json};
pub use transcript::TranscriptState;
