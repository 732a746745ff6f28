//! Dashboard rollups (tool figures, hourly activity, flow edges), maintained like the
//! usage rollups: each applied event adds (or, when replaced, subtracts) its share to
//! in-memory deltas of the transaction, written as additive upserts at commit.
//!
//! Tool calls are counted from `tool.call` events (the model's request; transcripts and
//! the native stream). A `tool.finished` event (gateway WebSocket, OTLP span) counts as a
//! call only while no `tool.call` of the same session and call id is stored: it is then
//! kept in `dash_tool_pending`, and the transcript copy withdraws it when it arrives.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::{params, OptionalExtension, Transaction};

use clawscope_core::{Event, EventKind};

use crate::Result;

/// One UTC day (ms).
pub(super) const DAY_MS: i64 = 86_400_000;
/// One hour (ms).
pub(super) const HOUR_MS: i64 = 3_600_000;
/// The `day` of the rows that hold the whole history.
pub(super) const ALL_DAYS: i64 = i64::MAX;
/// The migration that creates these tables; its step counts stored events in.
pub(super) const MIGRATION: usize = 6;
/// Flow edge: user messages per channel and agent.
pub(super) const CHANNEL_AGENT: i64 = 0;
/// Flow edge: model responses per agent and model.
pub(super) const AGENT_MODEL: i64 = 1;
/// Flow edge: tool calls per model and tool.
pub(super) const MODEL_TOOL: i64 = 2;
/// Histogram buckets per doubling of the duration (bucket width 2^(1/6) ≈ 1.12).
pub(super) const STEPS_PER_DOUBLING: f64 = 6.0;
/// A transcript's tool call and an execution report are the same call when the call is
/// at most this long before the execution's end...
const CALL_BEFORE_MS: i64 = DAY_MS;
/// ...or at most this long after it (clock skew).
const CALL_AFTER_MS: i64 = 10 * 60_000;
/// Longest error message kept.
const MESSAGE_CHARS: usize = 300;
/// The name of whatever a source did not name.
pub(super) const UNKNOWN: &str = "unknown";

/// The histogram bucket of a duration: 0 for less than 1 ms, else b with
/// 2^((b-1)/6) <= ms < 2^(b/6).
pub(super) fn latency_bucket(ms: i64) -> i64 {
    if ms < 1 {
        0
    } else {
        1 + ((ms as f64).log2() * STEPS_PER_DOUBLING).floor() as i64
    }
}

/// A hash of a number and some strings (xxh3, chained through the seed): the key the
/// in-memory deltas are kept under, so a key's strings are cloned only when it is new.
fn hash(n: i64, parts: &[&str]) -> u64 {
    parts.iter().fold(n as u64, |seed, p| {
        xxhash_rust::xxh3::xxh3_64_with_seed(p.as_bytes(), seed)
    })
}

/// The key of a call in `dash_tool_pending`: session key and call id.
fn call_key(session_key: &str, call_id: &str) -> i64 {
    hash(0, &[session_key, call_id]) as i64
}

/// A hasher for keys that are hashes already (used as they are) or small integers
/// (multiplied out): the in-memory deltas are hashed once, not twice.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map whose keys are hashes already (or small integers).
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Prehashed>>;

fn event_hash(id: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes()) as i64
}

fn name(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or(UNKNOWN)
}

fn tool_name(ev: &Event) -> &str {
    ev.tool
        .as_ref()
        .and_then(|t| t.name.as_deref())
        .unwrap_or(UNKNOWN)
}

/// What a failure says: the error message, else the result text, else the error kind.
fn error_message(ev: &Event) -> String {
    let err = ev.error.as_ref();
    let text = err
        .and_then(|e| e.message.as_deref())
        .filter(|m| !m.is_empty())
        .or_else(|| ev.tool.as_ref().and_then(|t| t.result.as_deref()))
        .or_else(|| err.map(|e| e.kind.as_str()))
        .unwrap_or("");
    text.chars().take(MESSAGE_CHARS).collect()
}

#[derive(Clone, Copy)]
struct ToolSums {
    calls: i64,
    errors: i64,
    last_ms: i64,
}

impl Default for ToolSums {
    fn default() -> Self {
        ToolSums {
            calls: 0,
            errors: 0,
            last_ms: i64::MIN,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct HourSums {
    turns: i64,
    users: i64,
    tools: i64,
    errors: i64,
}

struct Newest {
    ts: i64,
    session_key: String,
    message: String,
}

/// An execution reported by a live or OTLP source, settled at flush.
struct Finished {
    sign: i64,
    session_key: String,
    /// The call key and call id, when the source gave a call id.
    call: Option<(i64, String)>,
    event: i64,
    ts: i64,
    tool: String,
    model: Option<String>,
    is_error: bool,
    duration_ms: Option<i64>,
}

/// The share of a counted execution (also a row of `dash_tool_pending`).
struct Execution {
    ts: i64,
    tool: String,
    model: String,
    is_error: bool,
    duration_ms: Option<i64>,
}

/// Work that needs the database, done at flush in event order.
enum Deferred {
    Finished(Finished),
    /// A tool call without a model: the session's stored model is its model.
    Attribute {
        sign: i64,
        day: i64,
        session_key: String,
        tool: String,
    },
}

/// Deltas keyed by a hash of their key's parts (the key is cloned only when new).
type Deltas<K, V> = FastMap<u64, (K, V)>;

/// Day, edge kind, source and target of a flow edge.
type FlowKey = (i64, i64, String, String);

/// Pending dashboard rollup changes of one transaction.
#[derive(Default)]
pub(super) struct Dashboard {
    tools: Deltas<(i64, String), ToolSums>,
    latency: Deltas<(i64, String, i64), i64>,
    flow: Deltas<FlowKey, i64>,
    hours: FastMap<i64, HourSums>,
    errors: HashMap<String, Newest>,
    /// The newest model of each session in this batch, by a hash of its key.
    models: FastMap<u64, (String, String)>,
    /// Tool calls (call key, time) that may withdraw a counted execution of their call.
    calls: Vec<(i64, i64)>,
    deferred: Vec<Deferred>,
}

fn tool_slot<'a>(
    map: &'a mut Deltas<(i64, String), ToolSums>,
    day: i64,
    tool: &str,
) -> &'a mut ToolSums {
    &mut map
        .entry(hash(day, &[tool]))
        .or_insert_with(|| ((day, tool.to_string()), ToolSums::default()))
        .1
}

/// The newest model of a session in this batch.
fn model_of<'a>(models: &'a FastMap<u64, (String, String)>, session_key: &str) -> Option<&'a str> {
    let m = models.get(&hash(0, &[session_key]))?;
    Some(m.1.as_str())
}

fn add_edge(map: &mut Deltas<FlowKey, i64>, day: i64, edge: i64, src: &str, dst: &str, sign: i64) {
    map.entry(hash(day.wrapping_mul(4).wrapping_add(edge), &[src, dst]))
        .or_insert_with(|| ((day, edge, src.to_string(), dst.to_string()), 0))
        .1 += sign;
}

impl Dashboard {
    /// Count `ev` in (sign = 1) or out (sign = -1).
    pub(super) fn add(&mut self, ev: &Event, sign: i64) {
        let Some(kind) = ev.kind else { return };
        let ts = ev.ts_ms;
        let day = ts.div_euclid(DAY_MS);
        match kind {
            EventKind::UserMessage => {
                self.hour(ts).users += sign;
                let (channel, agent) = (name(&ev.channel), name(&ev.agent));
                add_edge(&mut self.flow, day, CHANNEL_AGENT, channel, agent, sign);
            }
            EventKind::AssistantMessage => {
                let h = self.hour(ts);
                h.turns += sign;
                if ev.error.is_some() {
                    h.errors += sign;
                }
                let (agent, model) = (name(&ev.agent), name(&ev.model.model));
                add_edge(&mut self.flow, day, AGENT_MODEL, agent, model, sign);
                if let Some(m) = ev.model.model.as_ref().filter(|_| sign > 0) {
                    let slot = self
                        .models
                        .entry(hash(0, &[&ev.session_key]))
                        .or_insert_with(|| (ev.session_key.clone(), String::new()));
                    if &slot.1 != m {
                        slot.1.clone_from(m);
                    }
                }
            }
            EventKind::ToolCall => {
                let tool = tool_name(ev);
                let t = tool_slot(&mut self.tools, day, tool);
                t.calls += sign;
                if sign > 0 {
                    t.last_ms = t.last_ms.max(ts);
                }
                self.hour(ts).tools += sign;
                let model = ev
                    .model
                    .model
                    .as_deref()
                    .or_else(|| model_of(&self.models, &ev.session_key));
                match model {
                    Some(m) => add_edge(&mut self.flow, day, MODEL_TOOL, m, tool, sign),
                    None => self.deferred.push(Deferred::Attribute {
                        sign,
                        day,
                        session_key: ev.session_key.clone(),
                        tool: tool.to_string(),
                    }),
                }
                let call = ev.tool.as_ref().and_then(|t| t.call_id.as_deref());
                if let Some(call) = call.filter(|_| sign > 0) {
                    self.calls.push((call_key(&ev.session_key, call), ts));
                }
            }
            EventKind::ToolResult => {
                let tool = tool_name(ev);
                if ev.tool.as_ref().is_some_and(|t| t.is_error) {
                    tool_slot(&mut self.tools, day, tool).errors += sign;
                    self.hour(ts).errors += sign;
                    self.newest_error(ev, tool, sign);
                }
                if let Some(d) = ev.timing.duration_ms {
                    let b = latency_bucket(d);
                    self.latency
                        .entry(hash(day.wrapping_mul(512).wrapping_add(b), &[tool]))
                        .or_insert_with(|| ((day, tool.to_string(), b), 0))
                        .1 += sign;
                }
            }
            EventKind::ToolFinished => self.finished(ev, sign),
            _ => {}
        }
    }

    fn hour(&mut self, ts: i64) -> &mut HourSums {
        self.hours.entry(ts.div_euclid(HOUR_MS)).or_default()
    }

    fn newest_error(&mut self, ev: &Event, tool: &str, sign: i64) {
        if sign < 0 {
            return;
        }
        let newer = self.errors.get(tool).is_none_or(|n| ev.ts_ms >= n.ts);
        if newer {
            let n = Newest {
                ts: ev.ts_ms,
                session_key: ev.session_key.clone(),
                message: error_message(ev),
            };
            self.errors.insert(tool.to_string(), n);
        }
    }

    /// An execution report: its time and failure are recorded now; whether it counts as a
    /// call is settled at flush.
    fn finished(&mut self, ev: &Event, sign: i64) {
        let tool = tool_name(ev);
        let is_error = ev.tool.as_ref().is_some_and(|t| t.is_error);
        if sign > 0 {
            let t = tool_slot(&mut self.tools, ev.ts_ms.div_euclid(DAY_MS), tool);
            t.last_ms = t.last_ms.max(ev.ts_ms);
        }
        if is_error {
            self.newest_error(ev, tool, sign);
        }
        let call = ev.tool.as_ref().and_then(|t| t.call_id.as_deref());
        let model = ev
            .model
            .model
            .as_deref()
            .or_else(|| model_of(&self.models, &ev.session_key))
            .map(str::to_string);
        self.deferred.push(Deferred::Finished(Finished {
            sign,
            session_key: ev.session_key.clone(),
            call: call.map(|c| (call_key(&ev.session_key, c), c.to_string())),
            event: event_hash(&ev.id),
            ts: ev.ts_ms,
            tool: tool.to_string(),
            model,
            is_error,
            duration_ms: ev.timing.duration_ms,
        }));
    }

    /// Count a settled execution in (sign = 1) or out (sign = -1).
    fn execution(&mut self, x: &Execution, sign: i64) {
        let day = x.ts.div_euclid(DAY_MS);
        let t = tool_slot(&mut self.tools, day, &x.tool);
        t.calls += sign;
        let h = self.hours.entry(x.ts.div_euclid(HOUR_MS)).or_default();
        h.tools += sign;
        if x.is_error {
            t.errors += sign;
            h.errors += sign;
        }
        if let Some(d) = x.duration_ms {
            let b = latency_bucket(d);
            self.latency
                .entry(hash(day.wrapping_mul(512).wrapping_add(b), &[&x.tool]))
                .or_insert_with(|| ((day, x.tool.clone(), b), 0))
                .1 += sign;
        }
        add_edge(&mut self.flow, day, MODEL_TOOL, &x.model, &x.tool, sign);
    }

    /// Write the deltas.
    pub(super) fn flush(mut self, tx: &Transaction<'_>) -> Result<()> {
        let calls = std::mem::take(&mut self.calls);
        if !calls.is_empty() {
            self.withdraw(tx, &calls)?;
        }
        let deferred = std::mem::take(&mut self.deferred);
        if !deferred.is_empty() {
            self.settle(tx, deferred)?;
        }
        write(tx, &self)
    }

    /// Stop counting executions whose transcript copy (a tool call) is now stored. The
    /// events of the batch are all stored by now, so this may run before `settle`.
    fn withdraw(&mut self, tx: &Transaction<'_>, calls: &[(i64, i64)]) -> Result<()> {
        // Calls only look for counted executions when some are near them in time.
        let lo = calls.iter().map(|c| c.1).min().unwrap_or(i64::MAX);
        let hi = calls.iter().map(|c| c.1).max().unwrap_or(i64::MIN);
        let near: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM dash_tool_pending WHERE ts BETWEEN ?1 AND ?2)",
            params![
                lo.saturating_sub(CALL_AFTER_MS),
                hi.saturating_add(CALL_BEFORE_MS)
            ],
            |r| r.get(0),
        )?;
        if !near {
            return Ok(());
        }
        for &(key, ts) in calls {
            let window = ts.saturating_sub(CALL_AFTER_MS)..=ts.saturating_add(CALL_BEFORE_MS);
            if let Some((event, x)) = pending(tx, key)?.filter(|p| window.contains(&p.1.ts)) {
                delete_pending(tx, key, event)?;
                self.execution(&x, -1);
            }
        }
        Ok(())
    }

    fn settle(&mut self, tx: &Transaction<'_>, deferred: Vec<Deferred>) -> Result<()> {
        let mut stored_models: HashMap<String, String> = HashMap::new();
        let mut stored_model = |session: &str| -> Result<String> {
            if let Some(m) = stored_models.get(session) {
                return Ok(m.clone());
            }
            let m: Option<String> = tx
                .prepare_cached("SELECT model FROM dash_session_model WHERE session_key = ?1")?
                .query_row([session], |r| r.get(0))
                .optional()?;
            let m = m.unwrap_or_else(|| UNKNOWN.to_string());
            stored_models.insert(session.to_string(), m.clone());
            Ok(m)
        };
        for d in deferred {
            match d {
                Deferred::Attribute {
                    sign,
                    day,
                    session_key,
                    tool,
                } => {
                    let m = stored_model(&session_key)?;
                    add_edge(&mut self.flow, day, MODEL_TOOL, &m, &tool, sign);
                }
                Deferred::Finished(f) => {
                    let model = match &f.model {
                        Some(m) => m.clone(),
                        None => stored_model(&f.session_key)?,
                    };
                    self.settle_finished(tx, f, model)?;
                }
            }
        }
        Ok(())
    }

    fn settle_finished(&mut self, tx: &Transaction<'_>, f: Finished, model: String) -> Result<()> {
        let x = Execution {
            ts: f.ts,
            tool: f.tool,
            model,
            is_error: f.is_error,
            duration_ms: f.duration_ms,
        };
        let Some((key, call_id)) = f.call else {
            // Without a call id nothing can repeat it: it always counts.
            self.execution(&x, f.sign);
            return Ok(());
        };
        if f.sign < 0 {
            // Counted only if it is the execution kept for its call.
            if let Some((_, stored)) = pending(tx, key)?.filter(|p| p.0 == f.event) {
                delete_pending(tx, key, f.event)?;
                self.execution(&stored, -1);
            }
            return Ok(());
        }
        if pending(tx, key)?.is_some() || transcript_has_call(tx, &f.session_key, &call_id, f.ts)? {
            return Ok(());
        }
        self.execution(&x, 1);
        insert_pending(tx, key, f.event, &x)
    }
}

/// Whether a `tool.call` of this session and call id is stored near an execution's end.
fn transcript_has_call(tx: &Transaction<'_>, session: &str, call: &str, ts: i64) -> Result<bool> {
    // Created on first need: stores that never see execution reports never pay for it.
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS events_tool_call ON events(tool_call_id, session_key, ts)
         WHERE kind = 'tool.call'",
    )?;
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM events WHERE kind = 'tool.call' AND tool_call_id = ?1
                AND session_key = ?2 AND ts BETWEEN ?3 AND ?4)",
        )?
        .query_row(
            params![
                call,
                session,
                ts.saturating_sub(CALL_BEFORE_MS),
                ts.saturating_add(CALL_AFTER_MS)
            ],
            |r| r.get(0),
        )?)
}

/// The counted execution of a call, with the hash of the event that made it.
fn pending(tx: &Transaction<'_>, key: i64) -> Result<Option<(i64, Execution)>> {
    let row = tx
        .prepare_cached(
            "SELECT event, ts, tool, model, is_error, duration_ms FROM dash_tool_pending
             WHERE key = ?1",
        )?
        .query_row([key], |r| {
            let x = Execution {
                ts: r.get(1)?,
                tool: r.get(2)?,
                model: r.get(3)?,
                is_error: r.get(4)?,
                duration_ms: r.get(5)?,
            };
            Ok((r.get(0)?, x))
        })
        .optional()?;
    Ok(row)
}

fn delete_pending(tx: &Transaction<'_>, key: i64, event: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM dash_tool_pending WHERE key = ?1 AND event = ?2")?
        .execute([key, event])?;
    Ok(())
}

fn insert_pending(tx: &Transaction<'_>, key: i64, event: i64, x: &Execution) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO dash_tool_pending (key, event, ts, tool, model, is_error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key,
        event,
        x.ts,
        x.tool,
        x.model,
        x.is_error,
        x.duration_ms
    ])?;
    Ok(())
}

/// Write the deltas of `d`, and the same summed into the whole-history rows.
fn write(tx: &Transaction<'_>, d: &Dashboard) -> Result<()> {
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
pub(super) fn backfill(tx: &Transaction<'_>) -> Result<()> {
    const CHUNK: i64 = 50_000;
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, Event)> = tx
            .prepare(
                "SELECT seq, id, ts, kind, agent, session_key, channel, model, tool_name,
                    tool_call_id, CASE WHEN tool_is_error THEN tool_result END, tool_is_error, duration_ms, error_kind, error_message
                 FROM events WHERE seq > ?1 AND kind IN ('message.user', 'message.assistant',
                    'tool.call', 'tool.result', 'tool.finished')
                 ORDER BY seq LIMIT ?2",
            )?
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
