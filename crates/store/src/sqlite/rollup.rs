//! Rollup maintenance: each applied event adds (or, when replaced, subtracts) its
//! contribution to in-memory deltas, flushed as additive upserts at commit time.
//! That keeps ingest O(batch) and reports O(rollup rows).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use rusqlite::{params, ToSql, Transaction};

use clawscope_core::report::BUCKET_MS;
use clawscope_core::{CostSource, Event, EventKind};

use crate::Result;

#[derive(Default, Clone)]
struct Sums {
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
    reasoning: i64,
    cost_total: f64,
    cost_reported: f64,
    cost_computed: f64,
    entries: i64,
    unpriced: i64,
}

impl Sums {
    fn merge(&mut self, o: &Sums) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.reasoning += o.reasoning;
        self.cost_total += o.cost_total;
        self.cost_reported += o.cost_reported;
        self.cost_computed += o.cost_computed;
        self.entries += o.entries;
        self.unpriced += o.unpriced;
    }

    fn add(&mut self, ev: &Event, sign: i64) {
        let t = &ev.tokens;
        self.input += sign * t.input as i64;
        self.output += sign * t.output as i64;
        self.cache_read += sign * t.cache_read as i64;
        self.cache_write += sign * t.cache_write as i64;
        self.reasoning += sign * t.reasoning as i64;
        let cost = ev.cost.total.unwrap_or(0.0) * sign as f64;
        self.cost_total += cost;
        match ev.cost.source {
            CostSource::Reported => self.cost_reported += cost,
            CostSource::Computed => self.cost_computed += cost,
            CostSource::Unpriced => self.unpriced += sign,
            CostSource::None => {}
        }
        self.entries += sign;
    }
}

#[derive(Default)]
struct SessionDelta {
    source: String,
    agent: Option<String>,
    project: Option<String>,
    session_id: Option<String>,
    parent: Option<String>,
    first_ts: i64,
    last_ts: i64,
    events: i64,
    user_messages: i64,
    tool_calls: i64,
    tool_results: i64,
    tool_errors: i64,
    assistant_errors: i64,
    subagents: i64,
    sums: Sums,
    context: Option<(i64, u64)>,
}

type UsageKey = (i64, String, String, String, String);

/// The usage sums' columns, in `Sums` order.
const SUM_COLUMNS: [&str; 10] = [
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "cost_total",
    "cost_reported",
    "cost_computed",
    "entries",
    "unpriced",
];

/// The upsert that adds a row's sums to `table`, keyed by `key_cols`.
fn add_sums_sql(table: &str, key_cols: &[&str]) -> String {
    let cols: Vec<&str> = key_cols.iter().chain(SUM_COLUMNS.iter()).copied().collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sets: Vec<String> = SUM_COLUMNS
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        key_cols.join(", "),
        sets.join(", ")
    )
}

/// Add `x` to the row keyed by `key` with an [`add_sums_sql`] statement.
fn add_sums(tx: &Transaction<'_>, sql: &str, key: &[&dyn ToSql], x: &Sums) -> Result<()> {
    let sums: [&dyn ToSql; 10] = [
        &x.input,
        &x.output,
        &x.cache_read,
        &x.cache_write,
        &x.reasoning,
        &x.cost_total,
        &x.cost_reported,
        &x.cost_computed,
        &x.entries,
        &x.unpriced,
    ];
    let mut stmt = tx.prepare_cached(sql)?;
    stmt.execute(rusqlite::params_from_iter(key.iter().chain(sums.iter())))?;
    Ok(())
}

/// Pending rollup changes of one transaction.
#[derive(Default)]
pub(super) struct Rollups {
    usage: HashMap<u64, (UsageKey, Sums)>,
    sessions: HashMap<String, SessionDelta>,
    models: HashMap<String, HashSet<String>>,
    dashboard: super::dashboard::Dashboard,
}

fn s(o: &Option<String>) -> String {
    o.clone().unwrap_or_default()
}

impl Rollups {
    /// Count `ev` in (sign = 1) or out (sign = -1).
    pub(super) fn add(&mut self, ev: &Event, sign: i64) {
        self.dashboard.add(ev, sign);
        let kind = ev.kind.unwrap_or(EventKind::Other);
        let source = ev.source.map(|s| s.as_str()).unwrap_or("unknown");
        if kind == EventKind::AssistantMessage {
            let bucket = ev.ts_ms.div_euclid(BUCKET_MS) * BUCKET_MS;
            // Hash the key's parts in place; the strings are cloned only for a new key.
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (bucket, source, &ev.agent, &ev.project, &ev.model.model).hash(&mut h);
            let slot = self.usage.entry(h.finish()).or_insert_with(|| {
                let key = (
                    bucket,
                    source.to_string(),
                    s(&ev.agent),
                    s(&ev.project),
                    s(&ev.model.model),
                );
                (key, Sums::default())
            });
            slot.1.add(ev, sign);
            if let Some(m) = ev.model.model.as_ref().filter(|_| sign > 0) {
                let known = self
                    .models
                    .get(ev.session_key.as_str())
                    .is_some_and(|ms| ms.contains(m));
                if !known {
                    self.models
                        .entry(ev.session_key.clone())
                        .or_default()
                        .insert(m.clone());
                }
            }
        }
        if ev.session_key.is_empty() {
            return;
        }
        if !self.sessions.contains_key(ev.session_key.as_str()) {
            let fresh = SessionDelta {
                first_ts: i64::MAX,
                last_ts: i64::MIN,
                ..SessionDelta::default()
            };
            self.sessions.insert(ev.session_key.clone(), fresh);
        }
        let Some(d) = self.sessions.get_mut(ev.session_key.as_str()) else {
            return;
        };
        if sign > 0 {
            if d.source.is_empty() {
                d.source = source.to_string();
            }
            if d.agent.is_none() {
                d.agent = ev.agent.clone();
            }
            if d.project.is_none() {
                d.project = ev.project.clone();
            }
            if ev.session_id.is_some() && d.session_id != ev.session_id {
                d.session_id = ev.session_id.clone();
            }
            if d.parent.is_none() {
                d.parent = ev.parent_session_key.clone();
            }
            d.first_ts = d.first_ts.min(ev.ts_ms);
            d.last_ts = d.last_ts.max(ev.ts_ms);
            if let Some(used) = ev
                .context_used
                .filter(|_| kind == EventKind::AssistantMessage)
            {
                if d.context.is_none_or(|(ts, _)| ev.ts_ms >= ts) {
                    d.context = Some((ev.ts_ms, used));
                }
            }
        }
        d.events += sign;
        let is_error = ev.error.is_some();
        match kind {
            EventKind::UserMessage => d.user_messages += sign,
            EventKind::AssistantMessage => {
                d.sums.add(ev, sign);
                if is_error {
                    d.assistant_errors += sign;
                }
            }
            EventKind::ToolCall => d.tool_calls += sign,
            EventKind::ToolResult => {
                d.tool_results += sign;
                if ev.tool.as_ref().is_some_and(|t| t.is_error) {
                    d.tool_errors += sign;
                }
            }
            EventKind::SubagentSpawned => d.subagents += sign,
            _ => {}
        }
    }

    /// Entries held (keys of every kind of delta).
    pub(super) fn held(&self) -> usize {
        self.usage.len()
            + self.sessions.len()
            + self.models.values().map(HashSet::len).sum::<usize>()
            + self.dashboard.held()
    }

    /// Write the deltas.
    pub(super) fn flush(self, tx: &Transaction<'_>) -> Result<()> {
        let sql = add_sums_sql(
            "usage_rollup",
            &["bucket", "source", "agent", "project", "model"],
        );
        for ((bucket, source, agent, project, model), x) in self.usage.values() {
            let key: [&dyn ToSql; 5] = [bucket, source, agent, project, model];
            add_sums(tx, &sql, &key, x)?;
        }
        // The hourly table is the same deltas summed per (hour, source, model).
        let mut hourly: HashMap<(i64, &str, &str), Sums> = HashMap::new();
        for ((bucket, source, _, _, model), x) in self.usage.values() {
            let hour = bucket.div_euclid(3_600_000) * 3_600_000;
            hourly.entry((hour, source, model)).or_default().merge(x);
        }
        let sql = add_sums_sql("usage_hourly", &["hour", "source", "model"]);
        for ((hour, source, model), x) in &hourly {
            let key: [&dyn ToSql; 3] = [hour, source, model];
            add_sums(tx, &sql, &key, x)?;
        }
        let mut ss = tx.prepare_cached(
            "INSERT INTO session_rollup (session_key, source, agent, project, session_id, parent_session_key,
                first_ts, last_ts, events, user_messages, assistant_messages, tool_calls, tool_results,
                tool_errors, assistant_errors, subagents, input, output, cache_read, cache_write, reasoning,
                cost_total, cost_reported, cost_computed, unpriced, context_used, context_ts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)
             ON CONFLICT (session_key) DO UPDATE SET
                agent = coalesce(agent, excluded.agent), project = coalesce(project, excluded.project),
                session_id = coalesce(excluded.session_id, session_id),
                parent_session_key = coalesce(parent_session_key, excluded.parent_session_key),
                first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts),
                events = events + excluded.events, user_messages = user_messages + excluded.user_messages,
                assistant_messages = assistant_messages + excluded.assistant_messages,
                tool_calls = tool_calls + excluded.tool_calls, tool_results = tool_results + excluded.tool_results,
                tool_errors = tool_errors + excluded.tool_errors,
                assistant_errors = assistant_errors + excluded.assistant_errors,
                subagents = subagents + excluded.subagents,
                input = input + excluded.input, output = output + excluded.output,
                cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
                reasoning = reasoning + excluded.reasoning, cost_total = cost_total + excluded.cost_total,
                cost_reported = cost_reported + excluded.cost_reported,
                cost_computed = cost_computed + excluded.cost_computed, unpriced = unpriced + excluded.unpriced,
                context_used = CASE WHEN excluded.context_ts IS NOT NULL AND excluded.context_ts >= coalesce(context_ts, 0)
                                    THEN excluded.context_used ELSE context_used END,
                context_ts = CASE WHEN excluded.context_ts IS NOT NULL AND excluded.context_ts >= coalesce(context_ts, 0)
                                  THEN excluded.context_ts ELSE context_ts END",
        )?;
        for (key, d) in &self.sessions {
            // A delta that only subtracted keeps the stored bounds.
            let first = if d.first_ts == i64::MAX {
                i64::MAX
            } else {
                d.first_ts
            };
            let last = if d.last_ts == i64::MIN {
                i64::MIN
            } else {
                d.last_ts
            };
            let x = &d.sums;
            ss.execute(params![
                key,
                if d.source.is_empty() {
                    "unknown"
                } else {
                    &d.source
                },
                d.agent,
                d.project,
                d.session_id,
                d.parent,
                first,
                last,
                d.events,
                d.user_messages,
                x.entries,
                d.tool_calls,
                d.tool_results,
                d.tool_errors,
                d.assistant_errors,
                d.subagents,
                x.input,
                x.output,
                x.cache_read,
                x.cache_write,
                x.reasoning,
                x.cost_total,
                x.cost_reported,
                x.cost_computed,
                x.unpriced,
                d.context.map(|c| c.1 as i64),
                d.context.map(|c| c.0),
            ])?;
        }
        let mut sm = tx.prepare_cached(
            "INSERT OR IGNORE INTO session_models (session_key, model) VALUES (?1, ?2)",
        )?;
        for (k, ms) in &self.models {
            for m in ms {
                sm.execute(params![k, m])?;
            }
        }
        self.dashboard.flush(tx)
    }
}
