//! Units of import work and what reading one yields.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use clawscope_core::batch::Batch;
use clawscope_core::{SessionMeta, SkipCounts, SkipReason, SourceKind};

/// One piece of import work: a file, an agent database, the state database.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Which system.
    pub source: SourceKind,
    /// Path read.
    pub path: PathBuf,
    /// Bytes expected (for progress).
    pub size: u64,
    /// File identity and mtime seen when planning (file units), to skip unchanged files
    /// without opening them.
    pub stamp: Option<crate::cursor::FileStamp>,
    /// What to read.
    pub kind: UnitKind,
}

/// The kinds of units.
#[derive(Debug, Clone)]
pub enum UnitKind {
    /// A legacy `agents/<id>/sessions/<sessionId>.jsonl` transcript.
    LegacyTranscript {
        /// Agent id.
        agent: String,
        /// Sessions from the agent's `sessions.json`, by session id.
        metas: Arc<HashMap<String, SessionMeta>>,
    },
    /// A Claude Code `projects/**.jsonl` file.
    ClaudeFile {
        /// Path relative to `projects/`.
        relative: String,
    },
    /// A per-agent `openclaw-agent.sqlite`.
    AgentDb {
        /// Agent id.
        agent: String,
    },
    /// The shared `state/openclaw.sqlite`.
    StateDb,
    /// A gateway log file.
    GatewayLog,
}

/// Cursor states by source id, as loaded from the store.
pub type Cursors = HashMap<String, String>;

/// A skipped record with where it was.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkipExample {
    /// File or database.
    pub path: String,
    /// Byte offset or row sequence.
    pub position: u64,
    /// Why.
    pub reason: SkipReason,
}

/// What reading one unit produced.
#[derive(Debug, Default)]
pub struct UnitOutput {
    /// Batches to apply in order (each carries the cursors it covers).
    pub batches: Vec<Batch>,
    /// Bytes (or decoded row bytes) read.
    pub bytes: u64,
    /// Records (lines, rows) read.
    pub records: u64,
    /// Skips by reason.
    pub skipped: SkipCounts,
    /// The first few skips with positions.
    pub examples: Vec<SkipExample>,
}

impl UnitOutput {
    /// Count a skip, keeping a few examples.
    pub fn skip(&mut self, path: &str, position: u64, reason: SkipReason) {
        self.skipped.add(reason);
        if self.examples.len() < 5 {
            self.examples.push(SkipExample {
                path: path.to_string(),
                position,
                reason,
            });
        }
    }
}
