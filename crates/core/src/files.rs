//! Files the dashboard shows beside the store (the gateway log's tail, workspace notes):
//! their shapes, and the interface a source crate implements so views never open or
//! parse source files themselves.

use crate::openclaw::log::LogView;

/// Lines of the current gateway log file from a byte offset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogTail {
    /// The file read.
    pub file: String,
    /// Complete lines (non-JSON lines as level `raw`, level id 0), oldest first.
    pub lines: Vec<LogView>,
    /// Where the next read continues.
    pub offset: u64,
}

/// A workspace note the dashboard may show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspaceFile {
    /// Stable id: `<workspace index>:<name>`; the only way to ask for the file.
    pub id: String,
    /// The workspace directory.
    pub workspace: String,
    /// Name relative to the workspace (`AGENTS.md`, `memory/2026-11-21.md`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modified (epoch ms).
    pub modified_ms: Option<i64>,
}

/// The head of a workspace file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileHead {
    /// Up to the requested number of bytes.
    pub bytes: Vec<u8>,
    /// The whole file's size.
    pub size: u64,
}

/// Read access to the files behind the dashboard's log and memory pages.
pub trait Files: Send + Sync {
    /// Lines of the newest gateway log from `offset` (from its last part when `None`,
    /// or when the file got shorter); `Ok(None)` when there is no log file.
    fn log_tail(&self, offset: Option<u64>) -> std::io::Result<Option<LogTail>>;
    /// The workspace notes that may be shown.
    fn workspace_files(&self) -> Vec<WorkspaceFile>;
    /// The first `max` bytes of the listed file `id`; `Ok(None)` when `id` is not listed.
    fn workspace_file(&self, id: &str, max: usize) -> std::io::Result<Option<FileHead>>;
}
