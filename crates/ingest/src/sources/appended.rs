//! Reading what was appended to a transcript file since its cursor: shared by the
//! JSONL sources (OpenClaw legacy, Claude Code).

use std::fs::File;
use std::path::Path;

use clawscope_core::SkipReason;

use crate::cursor::{file_cursor_id, FileCursor};
use crate::lines::{for_each_line, MAX_LINE_BYTES};
use crate::unit::{Cursors, UnitOutput};

/// An opened file with its resumed cursor.
pub struct Appended {
    file: File,
    /// The cursor, resumed (offset 0 for a new, rotated or truncated file).
    pub cursor: FileCursor,
    /// The cursor's id.
    pub cursor_id: String,
    /// The file's mtime (epoch ms), for entries without a timestamp.
    pub mtime_ms: Option<i64>,
    label: String,
    start: u64,
}

impl Appended {
    /// Open `path` and resume its cursor; an unreadable file is recorded as a skip.
    pub fn open(path: &Path, cursors: &Cursors, out: &mut UnitOutput) -> Option<Appended> {
        let label = path.display().to_string();
        let cursor_id = file_cursor_id(path);
        let opened = File::open(path).and_then(|mut file| {
            let cursor =
                FileCursor::resume(cursors.get(&cursor_id).map(String::as_str), &mut file)?;
            Ok((file, cursor))
        });
        let (file, cursor) = match opened {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(path = %label, error = %e, "cannot read transcript");
                out.skip(&label, 0, SkipReason::Unreadable);
                return None;
            }
        };
        let mtime_ms = file
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64);
        Some(Appended {
            start: cursor.offset,
            file,
            cursor,
            cursor_id,
            mtime_ms,
            label,
        })
    }

    /// The path, for skip records.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Call `f(out, offset, line)` for every complete new line, then advance the cursor.
    /// Returns `false` when there is nothing to store: the read failed (recorded as a
    /// skip) or nothing new arrived since a stored cursor.
    pub fn read_lines(
        &mut self,
        cursors: &Cursors,
        out: &mut UnitOutput,
        mut f: impl FnMut(&mut UnitOutput, u64, Result<&[u8], SkipReason>),
    ) -> bool {
        let result = for_each_line(&mut self.file, self.start, MAX_LINE_BYTES, |off, line| {
            out.records += 1;
            f(out, off, line);
        });
        let end = match result {
            Ok(end) => end,
            Err(e) => {
                tracing::warn!(path = %self.label, error = %e, "read failed");
                out.skip(&self.label, self.start, SkipReason::Unreadable);
                return false;
            }
        };
        out.bytes = end - self.start;
        if end == self.start && cursors.contains_key(&self.cursor_id) {
            return false;
        }
        if self.cursor.advance(&mut self.file, end).is_err() {
            out.skip(&self.label, end, SkipReason::Unreadable);
            return false;
        }
        true
    }
}
