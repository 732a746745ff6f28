//! Writing the deltas at commit, and counting stored events in when the tables are new.

use std::collections::HashMap;

use rusqlite::{params, Transaction};

use clawscope_core::{Event, EventKind};

use super::super::stored_id::id_in_migration;
use super::{Dashboard, ToolSums, ALL_DAYS};
use crate::Result;

/// Write the deltas of `d`, and the same summed into the whole-history rows.
pub(super) fn write(tx: &Transaction<'_>, d: &Dashboard) -> Result<()> {
    let mut all_tools: HashMap<&str, ToolSums> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dash_tool (day, tool, calls, errors, last_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (day, tool) DO UPDATE SET calls = calls + excluded.calls,
                errors = errors + excluded.errors, last_ms = max(last_ms, excluded.last_ms)",
        )?;
        let rows = d.tools.values().map(|((day, t), x)| (*day, t.as_str(), *x));
        for (day, tool, x) in
            rows.filter(|r| r.2.calls != 0 || r.2.errors != 0 || r.2.last_ms != i64::MIN)
        {
            stmt.execute(params![day, tool, x.calls, x.errors, x.last_ms])?;
            let a = all_tools.entry(tool).or_default();
            a.calls += x.calls;
            a.errors += x.errors;
            a.last_ms = a.last_ms.max(x.last_ms);
        }
        for (tool, x) in &all_tools {
            stmt.execute(params![ALL_DAYS, tool, x.calls, x.errors, x.last_ms])?;
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dash_tool_latency (day, tool, bucket, n) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (day, tool, bucket) DO UPDATE SET n = n + excluded.n",
        )?;
        let mut all: HashMap<(&str, i64), i64> = HashMap::new();
        for ((day, tool, b), n) in d.latency.values().filter(|x| x.1 != 0) {
            stmt.execute(params![day, tool, b, n])?;
            *all.entry((tool.as_str(), *b)).or_default() += n;
        }
        for ((tool, b), n) in all {
            stmt.execute(params![ALL_DAYS, tool, b, n])?;
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dash_flow (day, edge, src, dst, n) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (day, edge, src, dst) DO UPDATE SET n = n + excluded.n",
        )?;
        let mut all: HashMap<(i64, &str, &str), i64> = HashMap::new();
        for ((day, edge, src, dst), n) in d.flow.values().filter(|x| x.1 != 0) {
            stmt.execute(params![day, edge, src, dst, n])?;
            *all.entry((*edge, src.as_str(), dst.as_str())).or_default() += n;
        }
        for ((edge, src, dst), n) in all {
            stmt.execute(params![ALL_DAYS, edge, src, dst, n])?;
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dash_activity (hour, turns, user_messages, tool_calls, errors)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (hour) DO UPDATE SET turns = turns + excluded.turns,
                user_messages = user_messages + excluded.user_messages,
                tool_calls = tool_calls + excluded.tool_calls, errors = errors + excluded.errors",
        )?;
        for (hour, h) in &d.hours {
            if h.turns != 0 || h.users != 0 || h.tools != 0 || h.errors != 0 {
                stmt.execute(params![hour, h.turns, h.users, h.tools, h.errors])?;
            }
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dash_tool_error (tool, ts, session_key, message) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tool) DO UPDATE SET ts = excluded.ts, session_key = excluded.session_key,
                message = excluded.message WHERE excluded.ts >= dash_tool_error.ts",
        )?;
        for (tool, n) in &d.errors {
            stmt.execute(params![tool, n.ts, n.session_key, n.message])?;
        }
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO dash_session_model (session_key, model) VALUES (?1, ?2)
         ON CONFLICT (session_key) DO UPDATE SET model = excluded.model",
    )?;
    for (session, model) in d.models.values() {
        stmt.execute(params![session, model])?;
    }
    Ok(())
}

/// Count the stored events into freshly created dashboard tables (the migration step), in
/// store order and in chunks, exactly as if they were being written now.
pub(in crate::sqlite) fn backfill(tx: &Transaction<'_>) -> Result<()> {
    const CHUNK: i64 = 50_000;
    let mut after = 0i64;
    let id = id_in_migration(tx);
    loop {
        let rows: Vec<(i64, Event)> = tx
            .prepare(&format!(
                "SELECT seq, {id}, ts, kind, agent, session_key, channel, model, tool_name,
                    tool_call_id, CASE WHEN tool_is_error THEN tool_result END, tool_is_error, duration_ms, error_kind, error_message
                 FROM events WHERE seq > ?1 AND kind IN ('message.user', 'message.assistant',
                    'tool.call', 'tool.result', 'tool.finished')
                 ORDER BY seq LIMIT ?2"
            ))?
            .query_map(params![after, CHUNK], backfill_row)?
            .collect::<rusqlite::Result<_>>()?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(());
        };
        let mut d = Dashboard::default();
        for (_, ev) in &rows {
            d.add(ev, 1);
        }
        d.flush(tx)?;
        after = last;
    }
}

fn backfill_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Event)> {
    use clawscope_core::{ErrorInfo, ToolInfo};
    let kind: String = r.get(3)?;
    let tool_name: Option<String> = r.get(8)?;
    let call_id: Option<String> = r.get(9)?;
    let is_error: Option<bool> = r.get(11)?;
    let error_kind: Option<String> = r.get(13)?;
    let mut ev = Event {
        id: r.get(1)?,
        ts_ms: r.get(2)?,
        kind: EventKind::parse(&kind),
        agent: r.get(4)?,
        session_key: r.get(5)?,
        channel: r.get(6)?,
        ..Event::default()
    };
    ev.model.model = r.get(7)?;
    ev.timing.duration_ms = r.get(12)?;
    if tool_name.is_some() || call_id.is_some() || is_error.is_some() {
        ev.tool = Some(ToolInfo {
            name: tool_name,
            call_id,
            result: r.get(10)?,
            is_error: is_error.unwrap_or(false),
            ..ToolInfo::default()
        });
    }
    if let Some(kind) = error_kind {
        ev.error = Some(ErrorInfo {
            kind,
            message: r.get(14)?,
            retriable: None,
        });
    }
    Ok((r.get(0)?, ev))
}
