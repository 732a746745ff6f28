//! Dashboard queries, answered from the rollups `dashboard.rs` keeps: O(rollup rows).
//!
//! Windows: `tool_stats` and `flow` start at the UTC day holding `since_ms` (day
//! resolution); `activity` at the hour holding it. Duration percentiles come from a
//! histogram with 6 buckets per doubling, reported as the bucket's geometric middle
//! (clamped to the whole milliseconds the bucket holds): the estimate is within
//! 2^(1/12) - 1 ≈ 5.95% of the exact nearest-rank percentile, plus 0.5 ms of rounding.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use clawscope_core::stats::{ActivityBucket, FlowEdge, ToolError, ToolStat};

use super::dashboard::{
    AGENT_MODEL, ALL_DAYS, CHANNEL_AGENT, DAY_MS, HOUR_MS, MODEL_TOOL, STEPS_PER_DOUBLING,
};
use crate::Result;

/// The rows' day range for a window: the whole-history rows, or the days from `since_ms`'s.
fn days(since_ms: Option<i64>) -> (i64, i64) {
    match since_ms {
        Some(s) => (s.div_euclid(DAY_MS), ALL_DAYS - 1),
        None => (ALL_DAYS, ALL_DAYS),
    }
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

/// The duration reported for a histogram bucket (see the module docs for its error).
pub(super) fn bucket_estimate(bucket: i64) -> i64 {
    if bucket <= 0 {
        return 0;
    }
    let lo = 2f64.powf((bucket - 1) as f64 / STEPS_PER_DOUBLING);
    let hi = 2f64.powf(bucket as f64 / STEPS_PER_DOUBLING);
    let first = lo.ceil();
    let last = (hi.ceil() - 1.0).max(first);
    (lo * hi).sqrt().round().clamp(first, last) as i64
}

/// The nearest-rank percentiles (ranks ceil(n/2) and ceil(0.95 n)) of a histogram given
/// as (bucket, count) in bucket order.
fn percentiles(hist: &[(i64, i64)]) -> (Option<i64>, Option<i64>) {
    let n: i64 = hist.iter().map(|h| h.1.max(0)).sum();
    if n <= 0 {
        return (None, None);
    }
    let rank = |k: i64| {
        let mut seen = 0;
        hist.iter()
            .find(|(_, c)| {
                seen += c.max(&0);
                seen >= k
            })
            .map(|(b, _)| bucket_estimate(*b))
    };
    (rank((n + 1) / 2), rank((95 * n + 99) / 100))
}

/// Per-tool figures, most called first.
pub(super) fn tool_stats(conn: &Connection, since_ms: Option<i64>) -> Result<Vec<ToolStat>> {
    let (lo, hi) = days(since_ms);
    let mut tools: BTreeMap<String, ToolStat> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT tool, sum(calls), sum(errors), max(last_ms) FROM dash_tool
         WHERE day BETWEEN ?1 AND ?2 GROUP BY tool",
    )?;
    let rows = stmt.query_map(params![lo, hi], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (tool, calls, errors, last) = row?;
        let s = ToolStat {
            tool: tool.clone(),
            calls: count(calls),
            errors: count(errors),
            last_ms: (last != i64::MIN).then_some(last),
            ..ToolStat::default()
        };
        tools.insert(tool, s);
    }
    let mut hist: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT tool, bucket, sum(n) FROM dash_tool_latency WHERE day BETWEEN ?1 AND ?2
         GROUP BY tool, bucket ORDER BY tool, bucket",
    )?;
    let rows = stmt.query_map(params![lo, hi], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
    })?;
    for row in rows {
        let (tool, bucket, n) = row?;
        hist.entry(tool).or_default().push((bucket, n));
    }
    for (tool, h) in hist {
        let (p50, p95) = percentiles(&h);
        let s = tools.entry(tool.clone()).or_insert_with(|| ToolStat {
            tool,
            ..ToolStat::default()
        });
        (s.p50_ms, s.p95_ms) = (p50, p95);
    }
    let since = since_ms.map_or(i64::MIN, |s| s.div_euclid(DAY_MS).saturating_mul(DAY_MS));
    let mut stmt = conn.prepare_cached(
        "SELECT tool, ts, session_key, message FROM dash_tool_error WHERE ts >= ?1",
    )?;
    let rows = stmt.query_map([since], |r| {
        let e = ToolError {
            ts_ms: r.get(1)?,
            session_key: r.get(2)?,
            message: r.get(3)?,
        };
        Ok((r.get::<_, String>(0)?, e))
    })?;
    for row in rows {
        let (tool, e) = row?;
        if let Some(s) = tools.get_mut(&tool) {
            s.last_error = Some(e);
        }
    }
    let mut out: Vec<ToolStat> = tools
        .into_values()
        .filter(|s| s.calls > 0 || s.errors > 0 || s.p50_ms.is_some())
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.tool.cmp(&b.tool)));
    Ok(out)
}

/// Hourly activity in `[hour of since_ms, until_ms)`, oldest first.
pub(super) fn activity(
    conn: &Connection,
    since_ms: i64,
    until_ms: Option<i64>,
) -> Result<Vec<ActivityBucket>> {
    let from = since_ms.div_euclid(HOUR_MS);
    // Hours that start before `until_ms`.
    let to = until_ms.map_or(i64::MAX, |u| {
        u.div_euclid(HOUR_MS) + i64::from(u.rem_euclid(HOUR_MS) > 0)
    });
    let mut stmt = conn.prepare_cached(
        "SELECT hour, turns, user_messages, tool_calls, errors FROM dash_activity
         WHERE hour >= ?1 AND hour < ?2
           AND (turns > 0 OR user_messages > 0 OR tool_calls > 0 OR errors > 0)
         ORDER BY hour",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(ActivityBucket {
            hour_ms: r.get::<_, i64>(0)?.saturating_mul(HOUR_MS),
            turns: count(r.get(1)?),
            user_messages: count(r.get(2)?),
            tool_calls: count(r.get(3)?),
            errors: count(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Flow edges: channel → agent, agent → model, model → tool; largest first within each.
pub(super) fn flow(conn: &Connection, since_ms: Option<i64>) -> Result<Vec<FlowEdge>> {
    let (lo, hi) = days(since_ms);
    let mut stmt = conn.prepare_cached(
        "SELECT edge, src, dst, sum(n) AS n FROM dash_flow WHERE day BETWEEN ?1 AND ?2
         GROUP BY edge, src, dst HAVING sum(n) > 0 ORDER BY edge, n DESC, src, dst",
    )?;
    let rows = stmt.query_map(params![lo, hi], |r| {
        let edge: i64 = r.get(0)?;
        let (from_kind, to_kind) = match edge {
            CHANNEL_AGENT => ("channel", "agent"),
            AGENT_MODEL => ("agent", "model"),
            MODEL_TOOL => ("model", "tool"),
            _ => ("unknown", "unknown"),
        };
        Ok(FlowEdge {
            from_kind: from_kind.into(),
            from: r.get(1)?,
            to_kind: to_kind.into(),
            to: r.get(2)?,
            count: count(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::super::dashboard::latency_bucket;
    use super::*;

    #[test]
    fn bucket_estimates_stay_within_the_stated_error() {
        let bound = 2f64.powf(1.0 / 12.0) - 1.0;
        for d in (0..5000).chain((5000..10_000_000).step_by(997)) {
            let e = bucket_estimate(latency_bucket(d));
            let err = (e - d).abs() as f64;
            assert!(err <= bound * d as f64 + 0.5, "{d} ms estimated as {e}");
        }
        // Small durations are exact: their buckets hold one whole millisecond each.
        for d in 0..=8 {
            assert_eq!(bucket_estimate(latency_bucket(d)), d);
        }
    }

    #[test]
    fn percentiles_take_nearest_ranks() {
        // 1, 2, 3, 4 ms: ranks 2 and 4.
        let hist: Vec<(i64, i64)> = (1..=4).map(|d| (latency_bucket(d), 1)).collect();
        assert_eq!(percentiles(&hist), (Some(2), Some(4)));
        assert_eq!(percentiles(&[]), (None, None));
    }
}
