//! OpenClaw ≥ 2026.7.2 per-agent store `agents/<id>/agent/openclaw-agent.sqlite`.
//!
//! Opened read-only beside a live gateway: WAL readers never block the writer, a
//! busy timeout covers checkpoints, each query is a short read transaction, and
//! nothing is ever written. Incremental by `(session_id, seq)`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use clawscope_core::batch::Batch;
use clawscope_core::openclaw::{parse_entry, TranscriptState};
use clawscope_core::{SessionMeta, SkipReason, SourceKind};

use crate::cursor::db_signature;
use crate::unit::{Cursors, UnitOutput};

/// Rows read per query, so no read transaction stays open long.
const PAGE: i64 = 2000;

/// Resume point of one session window.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SeqCursor {
    seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api: Option<String>,
}

/// Cursor id of one session window in one database.
pub fn cursor_id(db: &Path, session_id: &str) -> String {
    format!("ocdb:{}#{}", db.display(), session_id)
}

/// Open a gateway SQLite file read-only with a busy timeout.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(2))?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Map a SQLite error to a skip reason.
pub fn skip_reason(e: &rusqlite::Error) -> SkipReason {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            SkipReason::Locked
        }
        _ => SkipReason::Unreadable,
    }
}

/// A transcript row: seq, event_json, event_zstd, created_at.
type RawRow = (i64, Option<String>, Option<Vec<u8>>, Option<i64>);

struct Window {
    session_id: String,
    session_key: String,
    channel: Option<String>,
    parent: Option<String>,
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

fn read_metas(conn: &Connection) -> rusqlite::Result<HashMap<String, SessionMeta>> {
    let mut stmt = conn.prepare(
        "SELECT session_key, current_session_id, entry_json, parent_session_key, spawned_by, label,
                created_via, status, created_at, updated_at, project_id
         FROM session_nodes",
    )?;
    let rows = stmt.query_map([], |r| {
        let key: String = r.get(0)?;
        let entry: Option<String> = r.get(2)?;
        let mut meta = entry
            .and_then(|e| parse_entry(&key, &e).ok())
            .unwrap_or_else(|| SessionMeta {
                session_key: key.clone(),
                source: Some(SourceKind::OpenClaw),
                agent: clawscope_core::openclaw::agent_from_key(&key).map(str::to_string),
                ..SessionMeta::default()
            });
        meta.session_id = r.get::<_, Option<String>>(1)?.or(meta.session_id);
        meta.parent_session_key = r.get::<_, Option<String>>(3)?.or(meta.parent_session_key);
        meta.spawned_by = r.get::<_, Option<String>>(4)?.or(meta.spawned_by);
        meta.label = r.get::<_, Option<String>>(5)?.or(meta.label);
        meta.created_via = r.get::<_, Option<String>>(6)?.or(meta.created_via);
        meta.status = r.get::<_, Option<String>>(7)?.or(meta.status);
        meta.created_ms = r.get::<_, Option<i64>>(8)?.or(meta.created_ms);
        meta.updated_ms = r.get::<_, Option<i64>>(9)?.or(meta.updated_ms);
        meta.project = r.get::<_, Option<String>>(10)?.or(meta.project);
        if meta.parent_session_key.is_none() {
            meta.parent_session_key = meta.spawned_by.clone();
        }
        Ok((key, meta))
    })?;
    rows.collect()
}

fn read_windows(
    conn: &Connection,
    metas: &HashMap<String, SessionMeta>,
) -> rusqlite::Result<Vec<Window>> {
    if table_exists(conn, "session_windows")? {
        let mut stmt = conn.prepare(
            "SELECT session_id, session_key, channel, coalesce(parent_session_key, spawned_by)
             FROM session_windows ORDER BY created_at, session_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Window {
                session_id: r.get(0)?,
                session_key: r.get(1)?,
                channel: r.get(2)?,
                parent: r.get(3)?,
            })
        })?;
        return rows.collect();
    }
    // Older schema: one window per node's current session.
    Ok(metas
        .values()
        .filter_map(|m| {
            m.session_id.clone().map(|id| Window {
                session_id: id,
                session_key: m.session_key.clone(),
                channel: m.channel.clone(),
                parent: m.parent_session_key.clone(),
            })
        })
        .collect())
}

/// Read new transcript rows of every session window in one agent database.
pub fn read(db: &Path, agent: &str, cursors: &Cursors) -> UnitOutput {
    let mut out = UnitOutput::default();
    let label = db.display().to_string();
    let sig_id = format!("ocdbsig:{label}");
    let signature = db_signature(db);
    if cursors.get(&sig_id) == Some(&signature) {
        return out; // not written since the last import
    }
    if let Err(e) = read_inner(db, agent, cursors, &mut out) {
        // A gateway creates the file a moment before its tables: nothing to read yet,
        // and the next write brings the follower back here.
        if e.to_string().starts_with("no such table") {
            tracing::debug!(path = %label, "agent database has no tables yet");
            return UnitOutput::default();
        }
        tracing::warn!(path = %label, error = %e, "agent database read failed");
        out.skip(&label, 0, skip_reason(&e));
        return out;
    }
    // The signature rides with the last batch, so it is stored only once everything before it is.
    if let Some(last) = out.batches.last_mut() {
        last.cursors.push((sig_id, signature));
    }
    out
}

fn decode_row(json: Option<String>, zst: Option<Vec<u8>>) -> Result<Vec<u8>, SkipReason> {
    match (json, zst) {
        (Some(j), _) => Ok(j.into_bytes()),
        (None, Some(z)) => zstd::stream::decode_all(&z[..]).map_err(|_| SkipReason::BadCompression),
        (None, None) => Err(SkipReason::MissingField),
    }
}

fn read_inner(
    db: &Path,
    agent: &str,
    cursors: &Cursors,
    out: &mut UnitOutput,
) -> rusqlite::Result<()> {
    let conn = open_read_only(db)?;
    let label = db.display().to_string();
    let metas = read_metas(&conn)?;
    let windows = read_windows(&conn, &metas)?;
    let mut first_batch = true;
    for w in windows {
        let cid = cursor_id(db, &w.session_id);
        let prev: SeqCursor = cursors
            .get(&cid)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let meta = metas.get(&w.session_key);
        let mut state = TranscriptState {
            agent: Some(agent.to_string()),
            session_key: w.session_key.clone(),
            session_id: w.session_id.clone(),
            parent_session_key: w
                .parent
                .clone()
                .or_else(|| meta.and_then(|m| m.parent_session_key.clone())),
            channel: w
                .channel
                .clone()
                .or_else(|| meta.and_then(|m| m.channel.clone())),
            gateway: None,
            context_max: meta.and_then(|m| m.context_max),
            provider: prev.provider.clone(),
            model: prev.model.clone(),
            api: prev.api.clone(),
        };
        let mut last_seq = prev.seq;
        let mut events = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, event_json, event_zstd, created_at FROM transcript_events
             WHERE session_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        loop {
            let rows: Vec<RawRow> = stmt
                .query_map(rusqlite::params![w.session_id, last_seq, PAGE], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let n = rows.len() as i64;
            for (seq, json, zst, created) in rows {
                out.records += 1;
                last_seq = seq;
                match decode_row(json, zst) {
                    Ok(bytes) => {
                        out.bytes += bytes.len() as u64;
                        if let Err(reason) = state.parse_line(&bytes, created, &mut events) {
                            out.skip(&label, seq as u64, reason);
                        }
                    }
                    Err(reason) => out.skip(&label, seq as u64, reason),
                }
            }
            if n < PAGE {
                break;
            }
        }
        if last_seq == prev.seq && cursors.contains_key(&cid) && !first_batch {
            continue;
        }
        let cursor = SeqCursor {
            seq: last_seq,
            provider: state.provider,
            model: state.model,
            api: state.api,
        };
        let mut batch = Batch {
            events,
            sessions: meta.cloned().into_iter().collect(),
            cursors: vec![(cid, serde_json::to_string(&cursor).unwrap_or_default())],
        };
        if first_batch {
            // Session metadata of keys without a window of their own rides along once.
            batch.sessions = metas.values().cloned().collect();
            first_batch = false;
        }
        out.batches.push(batch);
    }
    Ok(())
}
