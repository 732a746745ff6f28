//! Claude Code transcripts: `<root>/projects/**/*.jsonl` (sub-agent files included).
//! Incremental by file identity and byte offset.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clawscope_core::batch::Batch;
use clawscope_core::claude::{parse_line, ClaudeFile, AGENT};
use clawscope_core::{SessionMeta, SourceKind};

use super::appended::Appended;
use crate::cursor::FileStamp;
use crate::unit::{Cursors, Unit, UnitKind, UnitOutput};

/// What a directory entry is to the walk.
enum Entry {
    Dir(PathBuf),
    Transcript(PathBuf),
    Other,
}

fn classify(e: &std::fs::DirEntry) -> Entry {
    let p = e.path();
    let is_jsonl = p.extension().is_some_and(|x| x == "jsonl");
    match e.file_type() {
        Ok(t) if t.is_dir() => Entry::Dir(p),
        Ok(t) if t.is_file() && is_jsonl => Entry::Transcript(p),
        // A link to a file is read; a dangling one is reported as unreadable when opened.
        Ok(t) if t.is_symlink() && is_jsonl && !p.is_dir() => Entry::Transcript(p),
        _ => Entry::Other,
    }
}

/// Every `*.jsonl` under `dir` (recursively) with its stamp, unsorted.
fn walk(dir: PathBuf, out: &mut Vec<(PathBuf, Option<FileStamp>)>) {
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            match classify(&e) {
                Entry::Dir(p) => stack.push(p),
                Entry::Transcript(p) => out.push((p, FileStamp::of_entry(&e))),
                Entry::Other => {}
            }
        }
    }
}

/// Threads that list and stat a `projects/` directory: a warm run does little else,
/// and a large history holds thousands of files in hundreds of directories.
const PLAN_THREADS: usize = 2;

/// Every `*.jsonl` under `dir` with its stamp, in sorted path order. The first-level
/// directories are shared out to [`PLAN_THREADS`] threads, each listing and stat-ing its own.
pub fn jsonl_files(dir: &Path) -> Vec<(PathBuf, Option<FileStamp>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut subdirs = Vec::new();
    for e in rd.filter_map(|e| e.ok()) {
        match classify(&e) {
            Entry::Dir(p) => subdirs.push(p),
            Entry::Transcript(p) => out.push((p, FileStamp::of_entry(&e))),
            Entry::Other => {}
        }
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        while let Some(d) = subdirs.get(next.fetch_add(1, Ordering::Relaxed)) {
            walk(d.clone(), &mut mine);
        }
        mine
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..PLAN_THREADS.min(subdirs.len()))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("clawscope-plan".into())
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        out.extend(work());
        for h in helpers {
            match h.join() {
                Ok(found) => out.extend(found),
                // Only a bug can get here; say so rather than silently import less.
                Err(_) => tracing::error!(dir = %dir.display(), "listing transcripts failed"),
            }
        }
    });
    out.sort_by_cached_key(|(p, _)| path_order_key(p));
    out
}

/// A key whose byte order is `Path`'s component order (the separator sorts before
/// every other byte, so `a/b` comes before `a.jsonl` and `a-b`), compared with one
/// `memcmp` instead of walking components: sorting a few thousand paths that share a
/// long prefix component by component was a visible part of a run that found nothing new.
fn path_order_key(p: &Path) -> Vec<u8> {
    let sep = std::path::MAIN_SEPARATOR as u8;
    p.as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|&b| if b == sep { 0 } else { b })
        .collect()
}

/// List the transcript files of one Claude config root.
pub fn plan_root(root: &Path, out: &mut Vec<Unit>) {
    let projects = root.join("projects");
    for (path, stamp) in jsonl_files(&projects) {
        let Some(relative) = path
            .strip_prefix(&projects)
            .ok()
            .and_then(|r| r.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let size = stamp.map(|s| s.len).unwrap_or(0);
        out.push(Unit {
            source: SourceKind::Claude,
            path,
            size,
            stamp,
            kind: UnitKind::ClaudeFile { relative },
        });
    }
}

/// Read new lines of one file.
pub fn read(path: &Path, relative: &str, cursors: &Cursors) -> UnitOutput {
    let mut out = UnitOutput::default();
    let Some(cf) = ClaudeFile::from_relative(relative) else {
        return out; // a file directly under projects/ belongs to no project (ccusage ignores it too)
    };
    let Some(mut file) = Appended::open(path, cursors, &mut out) else {
        return out;
    };
    let label = file.label().to_string();
    let mut events = Vec::new();
    let fresh = file.read_lines(cursors, &mut out, |out, off, line| {
        match line.and_then(|l| parse_line(&cf, off, l)) {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => {}
            Err(reason) => out.skip(&label, off, reason),
        }
    });
    if !fresh {
        return out;
    }
    let meta = SessionMeta {
        session_key: cf.session.clone(),
        session_id: Some(cf.session.clone()),
        source: Some(SourceKind::Claude),
        agent: Some(AGENT.to_string()),
        project: Some(cf.project.clone()),
        ..SessionMeta::default()
    };
    out.batches.push(Batch {
        events,
        sessions: vec![meta],
        cursors: vec![(file.cursor_id.clone(), file.cursor.encode())],
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_key_orders_like_path_components() {
        let paths: Vec<PathBuf> = [
            "p/a.jsonl",
            "p/a/subagents/x.jsonl",
            "p/a-b.jsonl",
            "p/a.b/c.jsonl",
            "p/a/b.jsonl",
            "p/ab.jsonl",
            "p-q/a.jsonl",
            "p/A.jsonl",
            "p/a/subagents/agent-1.jsonl",
            "p/a/subagents/agent-10.jsonl",
            "p/é.jsonl",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let mut by_components = paths.clone();
        by_components.sort();
        let mut by_key = paths;
        by_key.sort_by_cached_key(|p| path_order_key(p));
        assert_eq!(by_key, by_components);
        // The cases where plain byte order differs from component order.
        assert!(path_order_key(Path::new("p/a/b")) < path_order_key(Path::new("p/a.jsonl")));
        assert!(path_order_key(Path::new("p/b")) < path_order_key(Path::new("p-q/a")));
    }
}
