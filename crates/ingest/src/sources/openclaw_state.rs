//! OpenClaw's shared state DB `state/openclaw.sqlite`: cron jobs and runs, task runs,
//! sub-agent runs. Small tables, read whole; unchanged rows are no-ops in the store
//! (replace-merge by content fingerprint).

use std::path::Path;

use rusqlite::{Connection, Row};

use clawscope_core::batch::Batch;
use clawscope_core::openclaw::state::{CronJobRow, CronRunRow, SubagentRunRow, TaskRunRow};
use clawscope_core::{Event, SessionMeta, SourceKind};

use super::openclaw_db::{open_read_only, skip_reason};
use crate::cursor::db_signature;
use crate::unit::{Cursors, UnitOutput};

fn read_table<T>(
    conn: &Connection,
    table: &str,
    sql: &str,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let exists = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table])?;
    if !exists {
        tracing::debug!(table, "state table absent (older gateway)");
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], map)?;
    rows.collect()
}

fn read_all(conn: &Connection) -> rusqlite::Result<(Vec<Event>, Vec<SessionMeta>)> {
    let mut events = Vec::new();
    let jobs = read_table(
        conn,
        "cron_jobs",
        "SELECT job_id, name, enabled, agent_id, schedule_identity, state_json, updated_at FROM cron_jobs",
        |r| {
            Ok(CronJobRow {
                job_id: r.get(0)?,
                name: r.get(1)?,
                enabled: r.get::<_, i64>(2)? != 0,
                agent_id: r.get(3)?,
                schedule: r.get(4)?,
                state_json: r.get(5)?,
                updated_at: r.get(6)?,
            })
        },
    )?;
    events.extend(jobs.iter().map(CronJobRow::to_event));
    let runs = read_table(
        conn,
        "cron_run_receipts",
        "SELECT receipt_id, job_id, agent_id, request_run_id, status, started_at_ms, finished_at_ms, error_text
         FROM cron_run_receipts",
        |r| {
            Ok(CronRunRow {
                receipt_id: r.get(0)?,
                job_id: r.get(1)?,
                agent_id: r.get(2)?,
                request_run_id: r.get(3)?,
                status: r.get(4)?,
                started_at_ms: r.get(5)?,
                finished_at_ms: r.get(6)?,
                error_text: r.get(7)?,
            })
        },
    )?;
    events.extend(runs.iter().map(CronRunRow::to_event));
    let tasks = read_table(
        conn,
        "task_runs",
        "SELECT task_id, runtime, requester_session_key, child_session_key, agent_id, run_id, label, task,
                status, created_at, started_at, ended_at, tool_use_count, last_tool_name, error, terminal_summary
         FROM task_runs",
        |r| {
            Ok(TaskRunRow {
                task_id: r.get(0)?,
                runtime: r.get(1)?,
                requester_session_key: r.get(2)?,
                child_session_key: r.get(3)?,
                agent_id: r.get(4)?,
                run_id: r.get(5)?,
                label: r.get(6)?,
                task: r.get(7)?,
                status: r.get(8)?,
                created_at: r.get(9)?,
                started_at: r.get(10)?,
                ended_at: r.get(11)?,
                tool_use_count: r.get(12)?,
                last_tool_name: r.get(13)?,
                error: r.get(14)?,
                terminal_summary: r.get(15)?,
            })
        },
    )?;
    events.extend(tasks.iter().map(TaskRunRow::to_event));
    let subs = read_table(
        conn,
        "subagent_runs",
        "SELECT run_id, child_session_key, controller_session_key, requester_session_key, created_at, payload_json
         FROM subagent_runs",
        |r| {
            Ok(SubagentRunRow {
                run_id: r.get(0)?,
                child_session_key: r.get(1)?,
                controller_session_key: r.get(2)?,
                requester_session_key: r.get(3)?,
                created_at: r.get(4)?,
                payload_json: r.get(5)?,
            })
        },
    )?;
    events.extend(subs.iter().map(SubagentRunRow::to_event));
    // Parent links the sub-agent runs know, in case the agent DB does not.
    let metas = subs
        .iter()
        .map(|s| SessionMeta {
            session_key: s.child_session_key.clone(),
            source: Some(SourceKind::OpenClaw),
            agent: clawscope_core::openclaw::agent_from_key(&s.child_session_key)
                .map(str::to_string),
            parent_session_key: Some(s.requester_session_key.clone()),
            spawned_by: Some(s.requester_session_key.clone()),
            ..SessionMeta::default()
        })
        .collect();
    Ok((events, metas))
}

/// Read the state DB (skipped when unchanged since the last import).
pub fn read(path: &Path, cursors: &Cursors) -> UnitOutput {
    let mut out = UnitOutput::default();
    let label = path.display().to_string();
    let cid = format!("ocstate:{label}");
    let signature = db_signature(path);
    if cursors.get(&cid) == Some(&signature) {
        return out;
    }
    let result = open_read_only(path).and_then(|conn| read_all(&conn));
    match result {
        Ok((events, sessions)) => {
            out.records = events.len() as u64;
            out.bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            out.batches.push(Batch {
                events,
                sessions,
                cursors: vec![(cid, signature)],
            });
        }
        Err(e) => {
            tracing::warn!(path = %label, error = %e, "state database read failed");
            out.skip(&label, 0, skip_reason(&e));
        }
    }
    out
}
