//! OpenClaw formats: transcript entries, session entries, state rows.

pub mod log;
pub mod session_entry;
pub mod state;
pub mod transcript;

pub use session_entry::{agent_from_key, parse_entry, parse_sessions_json};
pub use transcript::TranscriptState;

/// The id of a sub-agent run's `subagent.spawned` event. The transcript's spawn result,
/// the state DB's sub-agent row and the gateway's task event all name the run, so all
/// three give one event, counted once (the state DB's copy, the fullest, replaces the
/// others).
pub fn subagent_spawn_id(run_id: &str) -> String {
    format!("ocstate:subagent:{run_id}")
}
