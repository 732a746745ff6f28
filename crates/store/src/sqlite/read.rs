//! Queries: rollups for reports, sessions, events, search, cursors.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use clawscope_core::excerpt::masked_excerpt;
use clawscope_core::query::{
    EventFilter, SearchHit, SessionFilter, SessionOrder, SessionSummary, StoreStats, StoredEvent,
    UsageFilter,
};
use clawscope_core::report::{UsageEntry, UsageTotals};
use clawscope_core::{
    Cost, CostSource, ErrorInfo, Event, EventKind, Merge, ModelRef, SourceKind, Timing, Tokens,
    ToolInfo,
};

use super::stored_id::stored_id;
use crate::{Result, StoreError};

/// Columns read back into an [`Event`], in [`event_from_row`] order.
pub(super) const EVENT_COLUMNS: &str = concat!(
    stored_id!(""),
    ", ts, kind, source, gateway, agent, project, session_key,
    session_id, parent_session_key, channel, run_id, message_id, request_id, provider, model, api,
    input, output, cache_read, cache_write, cache_write_1h, reasoning, context_used, context_max,
    start_ms, end_ms, duration_ms, ttft_ms, tool_name, tool_call_id, tool_args, tool_result, tool_is_error,
    exit_code, error_kind, error_message, error_retriable, cost_input, cost_output, cost_cache_read,
    cost_cache_write, cost_total, cost_source, price_version, stop_reason, text, thinking, attrs, merge"
);

fn u(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
}

/// Read an event whose columns start at index `o`.
pub(super) fn event_from_row(r: &Row<'_>, o: usize) -> rusqlite::Result<Event> {
    let kind: String = r.get(o + 2)?;
    let source: String = r.get(o + 3)?;
    let tool_name: Option<String> = r.get(o + 29)?;
    let tool_call_id: Option<String> = r.get(o + 30)?;
    let tool_is_error: Option<bool> = r.get(o + 33)?;
    let tool = (tool_name.is_some() || tool_call_id.is_some() || tool_is_error.is_some()).then(
        || -> rusqlite::Result<ToolInfo> {
            Ok(ToolInfo {
                name: tool_name.clone(),
                call_id: tool_call_id.clone(),
                arguments: r.get(o + 31)?,
                result: r.get(o + 32)?,
                is_error: tool_is_error.unwrap_or(false),
                exit_code: r.get(o + 34)?,
            })
        },
    );
    let error_kind: Option<String> = r.get(o + 35)?;
    let merge: i64 = r.get(o + 49)?;
    Ok(Event {
        id: r.get(o)?,
        ts_ms: r.get(o + 1)?,
        kind: EventKind::parse(&kind),
        source: SourceKind::parse(&source),
        gateway: r.get(o + 4)?,
        agent: r.get(o + 5)?,
        project: r.get(o + 6)?,
        session_key: r.get(o + 7)?,
        session_id: r.get(o + 8)?,
        parent_session_key: r.get(o + 9)?,
        channel: r.get(o + 10)?,
        run_id: r.get(o + 11)?,
        message_id: r.get(o + 12)?,
        request_id: r.get(o + 13)?,
        model: ModelRef {
            provider: r.get(o + 14)?,
            model: r.get(o + 15)?,
            api: r.get(o + 16)?,
        },
        tokens: Tokens {
            input: u(r, o + 17)?,
            output: u(r, o + 18)?,
            cache_read: u(r, o + 19)?,
            cache_write: u(r, o + 20)?,
            cache_write_1h: u(r, o + 21)?,
            reasoning: u(r, o + 22)?,
        },
        context_used: r.get::<_, Option<i64>>(o + 23)?.map(|v| v as u64),
        context_max: r.get::<_, Option<i64>>(o + 24)?.map(|v| v as u64),
        timing: Timing {
            start_ms: r.get(o + 25)?,
            end_ms: r.get(o + 26)?,
            duration_ms: r.get(o + 27)?,
            ttft_ms: r.get(o + 28)?,
        },
        tool: tool.transpose()?,
        error: match error_kind {
            Some(kind) => Some(ErrorInfo {
                kind,
                message: r.get(o + 36)?,
                retriable: r.get(o + 37)?,
            }),
            None => None,
        },
        cost: Cost {
            input: r.get(o + 38)?,
            output: r.get(o + 39)?,
            cache_read: r.get(o + 40)?,
            cache_write: r.get(o + 41)?,
            total: r.get(o + 42)?,
            source: CostSource::parse(&r.get::<_, String>(o + 43)?),
            price_version: r.get(o + 44)?,
        },
        stop_reason: r.get(o + 45)?,
        text: r.get(o + 46)?,
        thinking: r.get(o + 47)?,
        attrs: r.get(o + 48)?,
        merge: match merge {
            1 => Merge::KeepLargestUsage,
            2 => Merge::Replace,
            _ => Merge::KeepFirst,
        },
    })
}

pub(super) fn cursor(conn: &Connection, source_id: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT state FROM cursors WHERE source_id = ?1",
            [source_id],
            |r| r.get(0),
        )
        .optional()?)
}

pub(super) fn cursors_with_prefix(
    conn: &Connection,
    prefix: &str,
) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT source_id, state FROM cursors WHERE substr(source_id, 1, length(?1)) = ?1 ORDER BY source_id",
    )?;
    let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// WHERE clauses for a usage filter over a table with `ts_col`, `source`, `agent`.
pub(super) fn usage_where(f: &UsageFilter, ts_col: &str, args: &mut Vec<Value>) -> String {
    let mut w = vec!["1 = 1".to_string()];
    if let Some(s) = f.since_ms {
        args.push(Value::Integer(s));
        w.push(format!("{ts_col} >= ?{}", args.len()));
    }
    if let Some(u) = f.until_ms {
        args.push(Value::Integer(u));
        w.push(format!("{ts_col} < ?{}", args.len()));
    }
    if let Some(s) = &f.source {
        args.push(Value::Text(s.clone()));
        w.push(format!("source = ?{}", args.len()));
    }
    if let Some(a) = &f.agent {
        args.push(Value::Text(a.clone()));
        w.push(format!("agent = ?{}", args.len()));
    }
    w.join(" AND ")
}

pub(super) fn totals_from(r: &Row<'_>, o: usize) -> rusqlite::Result<UsageTotals> {
    let input = u(r, o)?;
    let output = u(r, o + 1)?;
    let cache_read = u(r, o + 2)?;
    let cache_write = u(r, o + 3)?;
    Ok(UsageTotals {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: u(r, o + 4)?,
        total_tokens: input + output + cache_read + cache_write,
        cost_usd: r.get(o + 5)?,
        cost_reported_usd: r.get(o + 6)?,
        cost_computed_usd: r.get(o + 7)?,
        entries: u(r, o + 8)?,
        unpriced_entries: u(r, o + 9)?,
    })
}

pub(super) fn usage_entries(conn: &Connection, f: &UsageFilter) -> Result<Vec<UsageEntry>> {
    let mut args = vec![Value::Text(EventKind::AssistantMessage.as_str().into())];
    let w = usage_where(f, "ts", &mut args);
    let sql = format!(
        "SELECT ts, coalesce(model, ''), input, output, cache_read, cache_write, reasoning,
                coalesce(cost_total, 0), CASE WHEN cost_source = 'reported' THEN coalesce(cost_total, 0) ELSE 0 END,
                CASE WHEN cost_source = 'computed' THEN coalesce(cost_total, 0) ELSE 0 END,
                1, CASE WHEN cost_source = 'unpriced' THEN 1 ELSE 0 END
         FROM events WHERE kind = ?1 AND {w} ORDER BY ts, seq"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(UsageEntry {
            ts_ms: r.get(0)?,
            model: r.get(1)?,
            totals: totals_from(r, 2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const SESSION_SELECT: &str = "SELECT r.session_key, coalesce(m.session_id, r.session_id), r.source,
    coalesce(r.agent, m.agent), coalesce(r.project, m.project), coalesce(m.parent_session_key, r.parent_session_key),
    m.label, m.channel, m.status, r.first_ts, r.last_ts, r.events, r.user_messages, r.assistant_messages,
    r.tool_calls, r.tool_results, r.tool_errors, r.assistant_errors, r.subagents, r.context_used, m.context_max,
    (SELECT group_concat(model, ',') FROM session_models sm WHERE sm.session_key = r.session_key),
    r.input, r.output, r.cache_read, r.cache_write, r.reasoning, r.cost_total, r.cost_reported,
    r.cost_computed, r.assistant_messages, r.unpriced
    FROM session_rollup r LEFT JOIN sessions_meta m ON m.session_key = r.session_key";

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<SessionSummary> {
    let models: Option<String> = r.get(21)?;
    let mut models: Vec<String> = models
        .map(|m| m.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    models.sort();
    Ok(SessionSummary {
        session_key: r.get(0)?,
        session_id: r.get(1)?,
        source: r.get(2)?,
        agent: r.get(3)?,
        project: r.get(4)?,
        parent_session_key: r.get(5)?,
        label: r.get(6)?,
        channel: r.get(7)?,
        status: r.get(8)?,
        first_ms: r.get(9)?,
        last_ms: r.get(10)?,
        events: u(r, 11)?,
        user_messages: u(r, 12)?,
        assistant_messages: u(r, 13)?,
        tool_calls: u(r, 14)?,
        tool_results: u(r, 15)?,
        tool_errors: u(r, 16)?,
        assistant_errors: u(r, 17)?,
        subagents: u(r, 18)?,
        context_used: r.get::<_, Option<i64>>(19)?.map(|v| v as u64),
        context_max: r.get::<_, Option<i64>>(20)?.map(|v| v as u64),
        models,
        totals: totals_from(r, 22)?,
    })
}

fn session_where(f: &SessionFilter, args: &mut Vec<Value>) -> String {
    let mut w = vec!["r.events > 0".to_string()];
    if let Some(s) = f.usage.since_ms {
        args.push(Value::Integer(s));
        w.push(format!("r.last_ts >= ?{}", args.len()));
    }
    if let Some(u) = f.usage.until_ms {
        args.push(Value::Integer(u));
        w.push(format!("r.first_ts < ?{}", args.len()));
    }
    if let Some(s) = &f.usage.source {
        args.push(Value::Text(s.clone()));
        w.push(format!("r.source = ?{}", args.len()));
    }
    if let Some(a) = &f.usage.agent {
        args.push(Value::Text(a.clone()));
        w.push(format!("coalesce(r.agent, m.agent) = ?{}", args.len()));
    }
    if let Some(k) = &f.key_contains {
        args.push(Value::Text(k.clone()));
        let n = args.len();
        let mut any = format!(
            "instr(r.session_key, ?{n}) > 0 OR instr(coalesce(m.label, ''), ?{n}) > 0
                     OR instr(coalesce(r.session_id, m.session_id, ''), ?{n}) > 0"
        );
        for key in &f.also_keys {
            args.push(Value::Text(key.clone()));
            any.push_str(&format!(" OR r.session_key = ?{}", args.len()));
        }
        w.push(format!("({any})"));
    }
    if let Some(c) = &f.channel {
        args.push(Value::Text(c.clone()));
        w.push(format!("m.channel = ?{}", args.len()));
    }
    if let Some(s) = &f.status {
        args.push(Value::Text(s.clone()));
        w.push(format!("m.status = ?{}", args.len()));
    }
    if let Some(model) = &f.model {
        args.push(Value::Text(model.clone()));
        w.push(format!(
            "EXISTS (SELECT 1 FROM session_models sm WHERE sm.session_key = r.session_key AND sm.model = ?{})",
            args.len()
        ));
    }
    if let Some(p) = &f.parent {
        args.push(Value::Text(p.clone()));
        w.push(format!(
            "coalesce(m.parent_session_key, r.parent_session_key) = ?{}",
            args.len()
        ));
    }
    w.join(" AND ")
}

pub(super) fn sessions(conn: &Connection, f: &SessionFilter) -> Result<Vec<SessionSummary>> {
    let mut args = Vec::new();
    let w = session_where(f, &mut args);
    let (order, desc) = match f.order {
        SessionOrder::LastActivity => ("r.last_ts", true),
        SessionOrder::Cost => ("r.cost_total", true),
        SessionOrder::Tokens => ("(r.input + r.output + r.cache_read + r.cache_write)", true),
        SessionOrder::Events => ("r.events", true),
        SessionOrder::FirstActivity => ("r.first_ts", true),
        SessionOrder::Key => ("r.session_key", false),
    };
    let dir = if desc != f.reverse { "DESC" } else { "ASC" };
    let limit = if f.limit == 0 { -1 } else { f.limit as i64 };
    let sql = format!(
        "{SESSION_SELECT} WHERE {w} ORDER BY {order} {dir}, r.session_key {dir} LIMIT {limit} OFFSET {}",
        f.offset
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), session_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn count_sessions(conn: &Connection, f: &SessionFilter) -> Result<u64> {
    let mut args = Vec::new();
    let w = session_where(f, &mut args);
    let sql = format!(
        "SELECT count(*) FROM session_rollup r LEFT JOIN sessions_meta m ON m.session_key = r.session_key WHERE {w}"
    );
    let n: i64 = conn.query_row(&sql, params_from_iter(args), |r| r.get(0))?;
    Ok(n as u64)
}

pub(super) fn session(conn: &Connection, key: &str) -> Result<Option<SessionSummary>> {
    let sql = format!("{SESSION_SELECT} WHERE r.session_key = ?1");
    Ok(conn.query_row(&sql, [key], session_from_row).optional()?)
}

pub(super) fn events(conn: &Connection, f: &EventFilter) -> Result<Vec<StoredEvent>> {
    let mut args: Vec<Value> = Vec::new();
    let mut w = vec!["1 = 1".to_string()];
    if let Some(k) = &f.session_key {
        args.push(Value::Text(k.clone()));
        w.push(format!("session_key = ?{}", args.len()));
    }
    if let [one] = f.kinds.as_slice() {
        // A single kind goes in as its canonical literal (validated, so safe to inline):
        // only then can SQLite use the partial indexes on rare kinds.
        let kind = EventKind::parse(one)
            .ok_or_else(|| StoreError::Invalid(format!("unknown event type {one:?}")))?;
        w.push(format!("kind = '{}'", kind.as_str()));
    } else if !f.kinds.is_empty() {
        let mut marks = Vec::new();
        for k in &f.kinds {
            if EventKind::parse(k).is_none() {
                return Err(StoreError::Invalid(format!("unknown event type {k:?}")));
            }
            args.push(Value::Text(k.clone()));
            marks.push(format!("?{}", args.len()));
        }
        w.push(format!("kind IN ({})", marks.join(", ")));
    }
    if let Some(s) = f.since_ms {
        args.push(Value::Integer(s));
        w.push(format!("ts >= ?{}", args.len()));
    }
    if let Some(u) = f.until_ms {
        args.push(Value::Integer(u));
        w.push(format!("ts < ?{}", args.len()));
    }
    if let Some(a) = f.after_seq {
        args.push(Value::Integer(a));
        w.push(format!("seq > ?{}", args.len()));
    }
    let order = match (f.after_seq, f.newest_first) {
        (Some(_), _) => "seq",
        (None, false) => "ts, seq",
        (None, true) => "ts DESC, seq DESC",
    };
    let limit = if f.limit == 0 { -1 } else { f.limit as i64 };
    let sql = format!(
        "SELECT seq, {EVENT_COLUMNS} FROM events WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {}",
        w.join(" AND "),
        f.offset
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(StoredEvent {
            seq: r.get(0)?,
            event: event_from_row(r, 1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Turn user text into an FTS5 query of quoted terms (no operator injection).
fn fts_query(q: &str) -> String {
    q.split_whitespace()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Distinct sessions of matching rows, walking the index newest row first: stops after
/// `limit` sessions instead of sorting every match.
pub(super) fn text_sessions(conn: &Connection, q: &str, limit: usize) -> Result<Vec<String>> {
    let query = fts_query(q);
    if query.is_empty() {
        return Err(StoreError::Invalid("empty search text".into()));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT e.session_key FROM events_fts JOIN events e ON e.seq = events_fts.rowid
         WHERE events_fts MATCH ?1 ORDER BY events_fts.rowid DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![query, limit.max(1) as i64], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Words of the search text to mark in snippets.
fn search_words(q: &str) -> Vec<&str> {
    q.split_whitespace()
        .map(|w| w.trim_matches('"'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Characters of message text a search hit shows.
const SNIPPET_CHARS: usize = 120;

pub(super) fn search(
    conn: &Connection,
    q: &str,
    f: &UsageFilter,
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let query = fts_query(q);
    if query.is_empty() {
        return Err(StoreError::Invalid("empty search text".into()));
    }
    let mut args = vec![Value::Text(query)];
    let w = usage_where(f, "e.ts", &mut args);
    args.push(Value::Integer(limit.max(1) as i64));
    let sql = format!(
        "SELECT e.seq, e.session_key, e.kind, e.ts, e.text
         FROM events_fts JOIN events e ON e.seq = events_fts.rowid
         WHERE events_fts MATCH ?1 AND {w} ORDER BY e.ts DESC LIMIT ?{}",
        args.len()
    );
    let words = search_words(q);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        let text: Option<String> = r.get(4)?;
        Ok(SearchHit {
            seq: r.get(0)?,
            session_key: r.get(1)?,
            kind: r.get(2)?,
            ts_ms: r.get(3)?,
            snippet: masked_excerpt(text.as_deref().unwrap_or(""), &words, SNIPPET_CHARS),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn stats(conn: &Connection) -> Result<StoreStats> {
    // The session rollup counts every stored event; summing its rows is constant time
    // where count(*) over millions of events is not.
    let events: i64 = conn.query_row(
        "SELECT coalesce(sum(events), 0) FROM session_rollup",
        [],
        |r| r.get(0),
    )?;
    let last: Option<i64> = conn.query_row("SELECT max(ts) FROM events", [], |r| r.get(0))?;
    let sessions: i64 = conn.query_row(
        "SELECT count(*) FROM session_rollup WHERE events > 0",
        [],
        |r| r.get(0),
    )?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(StoreStats {
        events: events as u64,
        sessions: sessions as u64,
        last_event_ms: last,
        size_bytes: 0,
        schema_version: version,
    })
}
