//! Gateway logs: daily `openclaw-YYYY-MM-DD.log` files (tslog JSON lines) in the log
//! directory, or the one file `logging.file` names. Warnings and errors become `log`
//! events. Incremental by file identity and byte offset, like transcripts; a new
//! day's file is a new unit.

use std::path::Path;

use clawscope_core::batch::Batch;
use clawscope_core::openclaw::log::parse_log_line;
use clawscope_core::SourceKind;

use super::appended::Appended;
use crate::cursor::FileStamp;
use crate::unit::{Cursors, Unit, UnitKind, UnitOutput};

/// Whether a file name is one of the gateway's daily logs.
pub fn is_daily_log(name: &str) -> bool {
    name.starts_with("openclaw") && name.ends_with(".log")
}

/// List the log files of a log directory (or the single configured file).
pub fn plan(path: &Path, out: &mut Vec<Unit>) {
    let mut files = Vec::new();
    if path.is_dir() {
        if let Ok(rd) = std::fs::read_dir(path) {
            files.extend(
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(is_daily_log)
                    }),
            );
        }
        files.sort();
    } else if path.is_file() {
        files.push(path.to_path_buf());
    }
    for path in files {
        if out.iter().any(|u| u.path == path) {
            continue;
        }
        let stamp = FileStamp::of(&path);
        out.push(Unit {
            source: SourceKind::OpenClaw,
            size: stamp.map(|s| s.len).unwrap_or(0),
            path,
            stamp,
            kind: UnitKind::GatewayLog,
        });
    }
}

/// Read the new lines of one log file.
pub fn read(path: &Path, cursors: &Cursors) -> UnitOutput {
    let mut out = UnitOutput::default();
    let Some(mut file) = Appended::open(path, cursors, &mut out) else {
        return out;
    };
    let label = file.label().to_string();
    let mut events = Vec::new();
    let fresh = file.read_lines(cursors, &mut out, |out, off, line| {
        match line.and_then(parse_log_line) {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => {}
            Err(reason) => out.skip(&label, off, reason),
        }
    });
    if fresh {
        out.batches.push(Batch {
            events,
            sessions: Vec::new(),
            cursors: vec![(file.cursor_id.clone(), file.cursor.encode())],
        });
    }
    out
}
