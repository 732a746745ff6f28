//! Claude Code transcripts: `<root>/projects/**/*.jsonl` (sub-agent files included).
//! Incremental by file identity and byte offset.

use std::path::{Path, PathBuf};

use clawscope_core::batch::Batch;
use clawscope_core::claude::{parse_line, ClaudeFile, AGENT};
use clawscope_core::{SessionMeta, SourceKind};

use super::appended::Appended;
use crate::cursor::FileStamp;
use crate::unit::{Cursors, Unit, UnitKind, UnitOutput};

/// Every `*.jsonl` under `dir`, recursively, in sorted path order.
pub fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            let is_jsonl = p.extension().is_some_and(|x| x == "jsonl");
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() && is_jsonl => out.push(p),
                // A link to a file is read; a dangling one is reported as unreadable when opened.
                Ok(t) if t.is_symlink() && is_jsonl && !p.is_dir() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// List the transcript files of one Claude config root.
pub fn plan_root(root: &Path, out: &mut Vec<Unit>) {
    let projects = root.join("projects");
    for path in jsonl_files(&projects) {
        let Some(relative) = path
            .strip_prefix(&projects)
            .ok()
            .and_then(|r| r.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let stamp = FileStamp::of(&path);
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
