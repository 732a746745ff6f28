//! Usage rows for reports. The rollups hold whole buckets (15 minutes; hours in
//! `usage_hourly`): the whole buckets of a window are read from them, and the ends of a
//! window that cover a bucket only in part (`--since 16:50`) from the events themselves,
//! grouped the same way, so every bound counts exactly the entries inside it.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use clawscope_core::query::{Dims, UsageFilter};
use clawscope_core::report::{UsageBucket, BUCKET_MS};
use clawscope_core::EventKind;

use super::dashboard::HOUR_MS;
use super::read::{totals_from, usage_where};
use crate::Result;

pub(super) fn usage_buckets(conn: &Connection, f: &UsageFilter) -> Result<Vec<UsageBucket>> {
    let grain = if f.keep == Dims::HourModel {
        HOUR_MS
    } else {
        BUCKET_MS
    };
    // The whole buckets inside the window: [first bucket start at or after `since`,
    // last bucket start at or before `until`).
    let whole_from = f
        .since_ms
        .map(|s| s.div_euclid(grain) * grain + grain * i64::from(s.rem_euclid(grain) != 0));
    let whole_to = f.until_ms.map(|u| u.div_euclid(grain) * grain);
    if whole_from == f.since_ms && whole_to == f.until_ms {
        return rollup_rows(conn, f);
    }
    if let (Some(a), Some(b)) = (whole_from, whole_to) {
        if a > b {
            // Inside one bucket: nothing whole.
            return event_rows(conn, f, grain);
        }
    }
    let mut rows = rollup_rows(
        conn,
        &UsageFilter {
            since_ms: whole_from,
            until_ms: whole_to,
            ..f.clone()
        },
    )?;
    if whole_from != f.since_ms {
        let head = UsageFilter {
            until_ms: whole_from,
            ..f.clone()
        };
        rows.extend(event_rows(conn, &head, grain)?);
    }
    if whole_to != f.until_ms {
        let tail = UsageFilter {
            since_ms: whole_to,
            ..f.clone()
        };
        rows.extend(event_rows(conn, &tail, grain)?);
    }
    Ok(merged(rows))
}

/// Rows from the rollup tables; a window is taken as whole buckets (a bucket is in when
/// it starts inside).
fn rollup_rows(conn: &Connection, f: &UsageFilter) -> Result<Vec<UsageBucket>> {
    let mut args = Vec::new();
    if f.keep == Dims::HourModel {
        let w = usage_where(f, "hour", &mut args);
        let sql = format!(
            "SELECT hour, '', '', '', model, input, output, cache_read, cache_write, reasoning, cost_total,
                    cost_reported, cost_computed, entries, unpriced
             FROM usage_hourly WHERE {w} AND entries != 0 ORDER BY hour"
        );
        return bucket_rows(conn, &sql, args);
    }
    let w = usage_where(f, "bucket", &mut args);
    let (bucket, source, agent, project) = dims(f.keep, "bucket");
    let sql = format!(
        "SELECT {bucket}, {source}, {agent}, {project}, model, sum(input), sum(output), sum(cache_read),
                sum(cache_write), sum(reasoning), sum(cost_total), sum(cost_reported), sum(cost_computed),
                sum(entries), sum(unpriced)
         FROM usage_rollup WHERE {w} AND entries != 0
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1"
    );
    bucket_rows(conn, &sql, args)
}

/// The same rows counted from the events in the window (the rollups count each
/// assistant message, keyed by its bucket, source, agent, project and model).
fn event_rows(conn: &Connection, f: &UsageFilter, grain: i64) -> Result<Vec<UsageBucket>> {
    let mut args = vec![Value::Text(EventKind::AssistantMessage.as_str().into())];
    let w = usage_where(f, "ts", &mut args);
    let start = format!("((ts - ((ts % {grain}) + {grain}) % {grain}))");
    let keep = if f.keep == Dims::HourModel {
        Dims::BucketModel
    } else {
        f.keep
    };
    let (bucket, source, agent, project) = dims(keep, &start);
    let sql = format!(
        "SELECT {bucket}, {source}, coalesce({agent}, ''), coalesce({project}, ''), coalesce(model, ''),
                sum(input), sum(output), sum(cache_read), sum(cache_write), sum(reasoning),
                sum(coalesce(cost_total, 0)),
                sum(CASE WHEN cost_source = 'reported' THEN coalesce(cost_total, 0) ELSE 0 END),
                sum(CASE WHEN cost_source = 'computed' THEN coalesce(cost_total, 0) ELSE 0 END),
                count(*), sum(cost_source = 'unpriced')
         FROM events WHERE kind = ?1 AND {w}
         GROUP BY 1, 2, 3, 4, 5"
    );
    bucket_rows(conn, &sql, args)
}

/// The bucket, source, agent and project expressions a query keeps for `keep`.
fn dims(keep: Dims, bucket: &str) -> (String, &'static str, &'static str, &'static str) {
    let (b, s, a, p) = match keep {
        Dims::All => (true, "source", "agent", "project"),
        Dims::BucketModel | Dims::HourModel => (true, "''", "''", "''"),
        Dims::Model => (false, "''", "''", "''"),
        Dims::ProjectModel => (false, "''", "''", "project"),
        Dims::AgentModel => (false, "''", "agent", "''"),
        Dims::AgentProjectModel => (false, "''", "agent", "project"),
    };
    (if b { bucket.to_string() } else { "0".into() }, s, a, p)
}

/// Rows sharing a key summed into one, in bucket order.
fn merged(rows: Vec<UsageBucket>) -> Vec<UsageBucket> {
    let mut at: HashMap<(i64, String, String, String, String), usize> = HashMap::new();
    let mut out: Vec<UsageBucket> = Vec::with_capacity(rows.len());
    for r in rows {
        let key = (
            r.bucket_ms,
            r.source.clone(),
            r.agent.clone(),
            r.project.clone(),
            r.model.clone(),
        );
        match at.get(&key) {
            Some(&i) => out[i].totals.add(&r.totals),
            None => {
                at.insert(key, out.len());
                out.push(r);
            }
        }
    }
    out.sort_by_key(|r| r.bucket_ms);
    out
}

fn bucket_rows(conn: &Connection, sql: &str, args: Vec<Value>) -> Result<Vec<UsageBucket>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(UsageBucket {
            bucket_ms: r.get(0)?,
            source: r.get(1)?,
            agent: r.get(2)?,
            project: r.get(3)?,
            model: r.get(4)?,
            totals: totals_from(r, 5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
