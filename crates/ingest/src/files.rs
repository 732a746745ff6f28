//! The files behind the dashboard's log and memory pages, read from the data roots:
//! the tail of the newest gateway log (the same daily files the log source imports)
//! and the workspace notes (`*.md` at a workspace root and in `memory/`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use clawscope_core::files::{FileHead, Files, LogTail, WorkspaceFile};
use clawscope_core::openclaw::log::view_or_raw;

use crate::sources::gateway_log::is_daily_log;

/// Bytes read from the end of the file for a first view.
const TAIL_BYTES: u64 = 256 * 1024;
/// Bytes read per call at most.
const READ_BYTES: u64 = 1024 * 1024;
/// Lines returned at most (the newest).
const MAX_LINES: usize = 500;
/// Files listed per workspace at most.
const MAX_FILES: usize = 500;

/// Log locations and workspaces to read.
#[derive(Debug, Clone, Default)]
pub struct SourceFiles {
    /// Gateway logs: directories of daily files, or single files.
    pub logs: Vec<PathBuf>,
    /// Agent workspaces.
    pub workspaces: Vec<PathBuf>,
}

fn modified(p: &Path) -> std::time::SystemTime {
    p.metadata()
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// The newest log file: a configured file, or the latest daily file of a directory.
fn current_log(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for p in paths {
        if p.is_dir() {
            if let Ok(d) = std::fs::read_dir(p) {
                candidates.extend(d.flatten().map(|e| e.path()).filter(|f| {
                    f.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_daily_log)
                }));
            }
        } else if p.is_file() {
            candidates.push(p.clone());
        }
    }
    candidates.into_iter().max_by_key(|c| modified(c))
}

/// Complete lines of `path` from `from` (or its last [`TAIL_BYTES`]); a partial last line
/// waits for the next call.
fn tail(path: &Path, from: Option<u64>) -> std::io::Result<LogTail> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    // A shorter file was rotated or truncated: start over from its tail.
    let start = match from {
        Some(o) if o <= len => o,
        _ => len.saturating_sub(TAIL_BYTES),
    };
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.take(READ_BYTES).read_to_end(&mut buf)?;
    let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut body = &buf[..complete];
    if from.is_none() && start > 0 {
        // The first line of a tail is probably cut.
        let skip = body
            .iter()
            .position(|b| *b == b'\n')
            .map_or(body.len(), |i| i + 1);
        body = &body[skip..];
    }
    let mut lines: Vec<_> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(view_or_raw)
        .collect();
    if lines.len() > MAX_LINES {
        lines.drain(..lines.len() - MAX_LINES);
    }
    Ok(LogTail {
        file: path.display().to_string(),
        lines,
        offset: start + complete as u64,
    })
}

fn md_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

impl SourceFiles {
    /// Every listed file with its path.
    fn listing(&self) -> Vec<(WorkspaceFile, PathBuf)> {
        let mut out = Vec::new();
        for (i, ws) in self.workspaces.iter().enumerate() {
            let mut files = md_files(ws);
            files.extend(md_files(&ws.join("memory")));
            for f in files.into_iter().take(MAX_FILES) {
                let name = f
                    .strip_prefix(ws)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .into_owned();
                let meta = f.metadata().ok();
                let file = WorkspaceFile {
                    id: format!("{i}:{name}"),
                    workspace: ws.display().to_string(),
                    size: meta.as_ref().map_or(0, |m| m.len()),
                    modified_ms: meta
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_millis() as i64),
                    name,
                };
                out.push((file, f));
            }
        }
        out
    }
}

impl Files for SourceFiles {
    fn log_tail(&self, offset: Option<u64>) -> std::io::Result<Option<LogTail>> {
        current_log(&self.logs)
            .map(|p| tail(&p, offset))
            .transpose()
    }

    fn workspace_files(&self) -> Vec<WorkspaceFile> {
        self.listing().into_iter().map(|(f, _)| f).collect()
    }

    fn workspace_file(&self, id: &str, max: usize) -> std::io::Result<Option<FileHead>> {
        // Only a listed id opens a file: the id is looked up, never joined onto a path.
        let Some((_, path)) = self.listing().into_iter().find(|(f, _)| f.id == id) else {
            return Ok(None);
        };
        let f = std::fs::File::open(&path)?;
        let size = f.metadata()?.len();
        let mut bytes = Vec::new();
        f.take(max as u64).read_to_end(&mut bytes)?;
        Ok(Some(FileHead { bytes, size }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_waits_for_complete_lines_and_restarts_after_truncation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("openclaw-2026-11-21.log");
        std::fs::write(&log, "one\ntwo\npart").expect("write");
        let files = SourceFiles {
            logs: vec![dir.path().to_path_buf()],
            workspaces: Vec::new(),
        };
        let t = files.log_tail(None).expect("read").expect("a log");
        let text: Vec<&str> = t.lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(text, ["one", "two"]);
        assert_eq!(t.offset, 8);
        std::fs::write(&log, "x\n").expect("truncate");
        let t = files.log_tail(Some(8)).expect("read").expect("a log");
        assert_eq!((t.lines.len(), t.offset), (1, 2));
    }

    #[test]
    fn only_listed_workspace_files_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("memory")).expect("mkdir");
        std::fs::write(dir.path().join("AGENTS.md"), "hello").expect("write");
        std::fs::write(dir.path().join("memory/day.md"), "notes").expect("write");
        std::fs::write(dir.path().join("secret.txt"), "no").expect("write");
        let files = SourceFiles {
            logs: Vec::new(),
            workspaces: vec![dir.path().to_path_buf()],
        };
        let ids: Vec<String> = files.workspace_files().into_iter().map(|f| f.id).collect();
        assert_eq!(ids, ["0:AGENTS.md", "0:memory/day.md"]);
        let head = files
            .workspace_file("0:AGENTS.md", 3)
            .expect("read")
            .expect("listed");
        assert_eq!((head.bytes.as_slice(), head.size), (&b"hel"[..], 5));
        assert_eq!(
            files.workspace_file("0:secret.txt", 10).expect("read"),
            None
        );
        assert_eq!(files.workspace_file("0:../x", 10).expect("read"), None);
        assert_eq!(files.log_tail(None).expect("read"), None);
    }
}
