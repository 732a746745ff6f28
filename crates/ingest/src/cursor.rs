//! File cursors: identity (device, inode, head hash) plus the byte offset read so far,
//! and the transcript state needed to resume mid-file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

/// Bytes at the head of a file hashed to recognise it after a rewrite.
const HEAD_BYTES: u64 = 256;

/// The cursor id of a transcript file.
pub fn file_cursor_id(path: &std::path::Path) -> String {
    match path.to_str() {
        Some(p) => ["file:", p].concat(),
        None => format!("file:{}", path.display()),
    }
}

/// What `stat` says of a file: enough to tell that it has not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size.
    pub len: u64,
    /// Modification time (ns since the epoch).
    pub mtime_ns: u64,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

impl FileStamp {
    /// Stat `path` (following links).
    pub fn of(path: &std::path::Path) -> Option<FileStamp> {
        std::fs::metadata(path)
            .ok()
            .map(|m| FileStamp::from_meta(&m))
    }

    /// The stamp of a directory entry: stat'ed relative to its directory (no second
    /// walk of the whole path), following it only when it is a link.
    pub fn of_entry(e: &std::fs::DirEntry) -> Option<FileStamp> {
        match e.file_type() {
            Ok(t) if !t.is_symlink() => e.metadata().ok().map(|m| FileStamp::from_meta(&m)),
            _ => FileStamp::of(&e.path()),
        }
    }

    fn from_meta(m: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            len: m.len(),
            mtime_ns: mtime_ns(m),
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// Where reading a file stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileCursor {
    /// Device id.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Offset just past the last complete line consumed.
    pub offset: u64,
    /// xxh3 of the first min(offset, 256) bytes.
    pub head: u64,
    /// File size when last read.
    #[serde(default)]
    pub size: u64,
    /// File mtime (ns) when last read.
    #[serde(default)]
    pub mtime_ns: u64,
    /// Provider learned from earlier lines (OpenClaw model_change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model learned from earlier lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// API learned from earlier lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn head_hash(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut buf = vec![0u8; len.min(HEAD_BYTES) as usize];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut buf)?;
    Ok(xxhash_rust::xxh3::xxh3_64(&buf))
}

impl FileCursor {
    /// True when the file is exactly as it was when this cursor was stored (same file,
    /// size and mtime, all of it read): nothing to do, without opening it.
    pub fn unchanged(stored: Option<&str>, now: &FileStamp) -> bool {
        let Some(prev) = stored.and_then(|s| serde_json::from_str::<FileCursor>(s).ok()) else {
            return false;
        };
        prev.size > 0
            && prev.offset == prev.size
            && now.len == prev.size
            && now.mtime_ns == prev.mtime_ns
            && now.dev == prev.dev
            && now.ino == prev.ino
    }

    /// Decide where to resume in `file`: the stored offset if it is still the same
    /// file grown by appends, else 0 (new file, rotated, truncated or rewritten).
    pub fn resume(stored: Option<&str>, file: &mut File) -> std::io::Result<FileCursor> {
        let meta = file.metadata()?;
        let fresh = FileCursor {
            dev: meta.dev(),
            ino: meta.ino(),
            ..FileCursor::default()
        };
        let Some(prev) = stored.and_then(|s| serde_json::from_str::<FileCursor>(s).ok()) else {
            return Ok(fresh);
        };
        let same_file = prev.dev == fresh.dev && prev.ino == fresh.ino;
        if !same_file || prev.offset > meta.len() || head_hash(file, prev.offset)? != prev.head {
            tracing::info!(
                reason = if same_file {
                    "truncated or rewritten"
                } else {
                    "replaced"
                },
                "re-reading file from the start"
            );
            return Ok(fresh);
        }
        Ok(prev)
    }

    /// Record a new offset (recomputing the head hash while it covers less than 256 bytes)
    /// and the file's size and mtime as seen now.
    pub fn advance(&mut self, file: &mut File, offset: u64) -> std::io::Result<()> {
        let meta = file.metadata()?;
        self.size = meta.len();
        self.mtime_ns = mtime_ns(&meta);
        if offset != self.offset && (self.offset < HEAD_BYTES || offset < HEAD_BYTES) {
            self.head = head_hash(file, offset)?;
        }
        self.offset = offset;
        Ok(())
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A cheap change signature of a SQLite file and its WAL (size, mtime, inode):
/// when it equals the stored one, the database has not been written since.
pub fn db_signature(path: &std::path::Path) -> String {
    let part = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                format!("{}:{}:{}", m.len(), mtime, m.ino())
            })
            .unwrap_or_else(|_| "-".into())
    };
    let mut wal = path.as_os_str().to_os_string();
    wal.push("-wal");
    format!("{}|{}", part(path), part(std::path::Path::new(&wal)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn truncation_and_replacement_restart_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, b"line one\nline two\n").unwrap();
        let mut f = File::open(&path).unwrap();
        let mut c = FileCursor::resume(None, &mut f).unwrap();
        c.advance(&mut f, 18).unwrap();
        let stored = c.encode();
        // appended: resume where we were
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"three\n")
            .unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(
            FileCursor::resume(Some(&stored), &mut f).unwrap().offset,
            18
        );
        // truncated: restart
        std::fs::write(&path, b"x\n").unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(FileCursor::resume(Some(&stored), &mut f).unwrap().offset, 0);
        // same length, different head (rewritten in place): restart
        std::fs::write(&path, b"LINE ONE\nline two\nthree\n").unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(FileCursor::resume(Some(&stored), &mut f).unwrap().offset, 0);
        // replaced by another file (rotation): restart
        let other = dir.path().join("b.jsonl");
        std::fs::write(&other, b"line one\nline two\nthree\n").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(FileCursor::resume(Some(&stored), &mut f).unwrap().offset, 0);
    }
}
