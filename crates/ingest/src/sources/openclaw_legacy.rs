//! OpenClaw's legacy layout: `agents/<id>/sessions/<sessionId>.jsonl` + `sessions.json`.
//! Incremental by file identity and byte offset.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use clawscope_core::batch::Batch;
use clawscope_core::openclaw::{parse_sessions_json, TranscriptState};
use clawscope_core::{SessionMeta, SkipReason, SourceKind};

use super::appended::Appended;
use crate::cursor::FileStamp;
use crate::unit::{Cursors, Unit, UnitKind, UnitOutput};

/// List the legacy transcripts of one agent directory (`agents/<id>`).
pub fn plan_agent(agent_dir: &Path, agent: &str, out: &mut Vec<Unit>) {
    let sessions_dir = agent_dir.join("sessions");
    let Ok(entries) = std::fs::read_dir(&sessions_dir) else {
        return;
    };
    let metas = read_index(&sessions_dir.join("sessions.json"));
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let stamp = FileStamp::of(&path);
        let size = stamp.map(|s| s.len).unwrap_or(0);
        out.push(Unit {
            source: SourceKind::OpenClaw,
            path,
            size,
            stamp,
            kind: UnitKind::LegacyTranscript {
                agent: agent.to_string(),
                metas: metas.clone(),
            },
        });
    }
}

/// `sessions.json` keyed by session id; an unreadable index is logged and treated as empty.
fn read_index(path: &Path) -> Arc<HashMap<String, SessionMeta>> {
    let parsed = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| parse_sessions_json(&b).map_err(|e| e.to_string()));
    let metas = match parsed {
        Ok(m) => m,
        Err(e) => {
            if path.exists() {
                tracing::warn!(path = %path.display(), error = %e, "sessions.json unreadable; session keys fall back to ids");
            }
            Vec::new()
        }
    };
    Arc::new(
        metas
            .into_iter()
            .filter_map(|m| m.session_id.clone().map(|id| (id, m)))
            .collect(),
    )
}

/// Read new lines of one transcript.
pub fn read(
    path: &Path,
    agent: &str,
    metas: &HashMap<String, SessionMeta>,
    cursors: &Cursors,
) -> UnitOutput {
    let mut out = UnitOutput::default();
    let label = path.display().to_string();
    let Some(session_id) = path
        .file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
    else {
        out.skip(&label, 0, SkipReason::Unreadable);
        return out;
    };
    let Some(mut file) = Appended::open(path, cursors, &mut out) else {
        return out;
    };
    let meta = metas
        .get(&session_id)
        .cloned()
        .unwrap_or_else(|| SessionMeta {
            session_key: format!("agent:{agent}:session:{session_id}"),
            session_id: Some(session_id.clone()),
            source: Some(SourceKind::OpenClaw),
            agent: Some(agent.to_string()),
            ..SessionMeta::default()
        });
    let mtime = file.mtime_ms;
    let mut state = TranscriptState {
        agent: Some(agent.to_string()),
        session_key: meta.session_key.clone(),
        session_id,
        parent_session_key: meta.parent_session_key.clone(),
        channel: meta.channel.clone(),
        gateway: None,
        context_max: meta.context_max,
        provider: file.cursor.provider.clone(),
        model: file.cursor.model.clone(),
        api: file.cursor.api.clone(),
    };
    let mut events = Vec::new();
    let fresh = file.read_lines(cursors, &mut out, |out, off, line| match line {
        Ok(line) => {
            if let Err(reason) = state.parse_line(line, mtime, &mut events) {
                out.skip(&label, off, reason);
            }
        }
        Err(reason) => out.skip(&label, off, reason),
    });
    if !fresh {
        return out;
    }
    let mut cursor = file.cursor;
    cursor.provider = state.provider.clone();
    cursor.model = state.model.clone();
    cursor.api = state.api.clone();
    out.batches.push(Batch {
        events,
        sessions: vec![meta],
        cursors: vec![(file.cursor_id, cursor.encode())],
    });
    out
}
