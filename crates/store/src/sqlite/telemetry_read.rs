//! Reading telemetry: trace listings and trees, metric series, counts.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use clawscope_core::otel::{
    span_kind, LogRecord, MetricInfo, MetricKind, SeriesGroup, SeriesQuery, SeriesResult,
    SeriesStep, SpanClass, SpanRecord, StoredSpan, TraceDetail, TraceFilter, TraceSummary,
};
use clawscope_core::Tokens;

use crate::{Result, StoreError};

const TRACE_COLUMNS: &str = "trace_id, service, name, start_ns, end_ns, spans, errors, session_key,
    input, output, cache_read, cache_write, reasoning, cost_usd";

fn n(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

/// Input, output, cache read, cache write and reasoning in five columns from `i`.
fn tokens_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Tokens> {
    Ok(Tokens {
        input: n(r, i)?,
        output: n(r, i + 1)?,
        cache_read: n(r, i + 2)?,
        cache_write: n(r, i + 3)?,
        cache_write_1h: 0,
        reasoning: n(r, i + 4)?,
    })
}

fn trace_from_row(r: &Row<'_>) -> rusqlite::Result<TraceSummary> {
    let start: i64 = r.get(3)?;
    let end: i64 = r.get(4)?;
    Ok(TraceSummary {
        trace_id: r.get(0)?,
        service: r.get(1)?,
        name: r.get(2)?,
        start_ms: start as f64 / 1e6,
        duration_ms: (end - start) as f64 / 1e6,
        spans: n(r, 5)?,
        errors: n(r, 6)?,
        session_key: r.get(7)?,
        tokens: tokens_at(r, 8)?,
        cost_usd: r.get(13)?,
    })
}

/// Traces matching `f`, newest first.
pub(super) fn traces(conn: &Connection, f: &TraceFilter) -> Result<Vec<TraceSummary>> {
    let mut sql = format!("SELECT {TRACE_COLUMNS} FROM traces WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = &f.service {
        sql.push_str(" AND service = ?");
        args.push(Value::Text(s.clone()));
    }
    if let Some(name) = &f.name {
        sql.push_str(" AND instr(name, ?) > 0");
        args.push(Value::Text(name.clone()));
    }
    if let Some(t) = f.since_ms {
        sql.push_str(" AND start_ns >= ?");
        args.push(Value::Integer(t.saturating_mul(1_000_000)));
    }
    if let Some(t) = f.until_ms {
        sql.push_str(" AND start_ns < ?");
        args.push(Value::Integer(t.saturating_mul(1_000_000)));
    }
    if let Some(d) = f.min_duration_ms {
        sql.push_str(" AND end_ns - start_ns >= ?");
        args.push(Value::Integer((d * 1e6) as i64));
    }
    match f.error {
        Some(true) => sql.push_str(" AND errors > 0"),
        Some(false) => sql.push_str(" AND errors = 0"),
        None => {}
    }
    if let Some(k) = &f.session_key {
        sql.push_str(" AND session_key = ?");
        args.push(Value::Text(k.clone()));
    }
    sql.push_str(" ORDER BY start_ns DESC LIMIT ?");
    args.push(Value::Integer(f.limit.clamp(1, 10_000) as i64));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), trace_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn span_from_row(r: &Row<'_>) -> rusqlite::Result<StoredSpan> {
    let kind: String = r.get(4)?;
    let class: String = r.get(10)?;
    Ok(StoredSpan {
        span: SpanRecord {
            trace_id: r.get(0)?,
            span_id: r.get(1)?,
            parent_span_id: r.get(2)?,
            name: r.get(3)?,
            kind: span_kind(&kind),
            service: r.get(5)?,
            start_ns: r.get(6)?,
            end_ns: r.get(7)?,
            is_error: r.get(8)?,
            status_message: r.get(9)?,
            class: SpanClass::parse(&class),
            session_hint: r.get(11)?,
            model: r.get(13)?,
            provider: r.get(14)?,
            tool_name: r.get(15)?,
            tokens: tokens_at(r, 16)?,
            cost_usd: r.get(21)?,
            attrs: r.get(23)?,
            resource: r.get(24)?,
            events: r.get(25)?,
            event: None,
        },
        session_key: r.get(12)?,
        event_id: r.get(22)?,
        depth: 0,
    })
}

/// Parents before children, siblings by start; spans whose parent is missing are roots.
fn tree_order(spans: Vec<StoredSpan>) -> Vec<StoredSpan> {
    let ids: HashMap<String, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span.span_id.clone(), i))
        .collect();
    let mut children: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (i, s) in spans.iter().enumerate() {
        let parent = s
            .span
            .parent_span_id
            .as_ref()
            .and_then(|p| ids.get(p).copied())
            .filter(|p| *p != i);
        children.entry(parent).or_default().push(i);
    }
    for list in children.values_mut() {
        list.sort_by_key(|i| (spans[*i].span.start_ns, spans[*i].span.span_id.clone()));
    }
    let mut order = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|l| l.iter().rev().map(|i| (*i, 0)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push((i, depth));
        if let Some(kids) = children.get(&Some(i)) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    // Cycles (a span naming its own descendant as parent) are shown flat at the end.
    order.extend((0..spans.len()).filter(|i| !seen[*i]).map(|i| (i, 0)));
    let mut slots: Vec<Option<StoredSpan>> = spans.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            slots[i].take().map(|mut s| {
                s.depth = depth;
                s
            })
        })
        .collect()
}

/// One trace with its spans and logs.
pub(super) fn trace(conn: &Connection, trace_id: &str) -> Result<Option<TraceDetail>> {
    let sql = format!("SELECT {TRACE_COLUMNS} FROM traces WHERE trace_id = ?1");
    let Some(summary) = conn
        .query_row(&sql, [trace_id], trace_from_row)
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.service, s.start_ns, s.end_ns,
            s.is_error, s.status_message, s.class, s.session_hint, s.session_key, s.model, s.provider,
            s.tool_name, s.input, s.output, s.cache_read, s.cache_write, s.reasoning, s.cost_usd, s.event_id,
            s.attrs, r.attrs, s.events
         FROM spans s JOIN otel_resources r ON r.id = s.resource_id WHERE s.trace_id = ?1",
    )?;
    let spans: Vec<StoredSpan> = stmt
        .query_map([trace_id], span_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT time_ns, severity_number, severity_text, body, trace_id, span_id, service, attrs, session_key
         FROM otel_logs WHERE trace_id = ?1 ORDER BY time_ns LIMIT 10000",
    )?;
    let logs = stmt
        .query_map([trace_id], |r| {
            Ok(LogRecord {
                time_ns: r.get(0)?,
                severity_number: r.get(1)?,
                severity_text: r.get(2)?,
                body: r.get(3)?,
                trace_id: r.get(4)?,
                span_id: r.get(5)?,
                service: r.get(6)?,
                attrs: r.get(7)?,
                session_hint: None,
                session_key: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(TraceDetail {
        summary,
        spans: tree_order(spans),
        logs,
    }))
}

fn metric_kind(s: &str) -> Option<MetricKind> {
    [
        MetricKind::Sum,
        MetricKind::Gauge,
        MetricKind::Histogram,
        MetricKind::ExpHistogram,
        MetricKind::Summary,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

/// The value of `group_by` for a series.
fn group_of(group_by: Option<&str>, service: &str, attrs: &str) -> Option<String> {
    let key = group_by?;
    if key == "service" || key == "service.name" {
        return Some(service.to_string());
    }
    let v: serde_json::Value = serde_json::from_str(attrs).ok()?;
    match v.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[derive(Default)]
struct Acc {
    value: f64,
    count: Option<u64>,
    buckets: Option<Vec<u64>>,
    /// Gauges: the newest reading per series in the step.
    readings: BTreeMap<i64, (i64, f64)>,
}

/// A metric as grouped steps: sums add their increases, gauges (and up-down sums)
/// add the newest reading of each series, histograms add counts, sums and buckets.
pub(super) fn series(conn: &Connection, q: &SeriesQuery) -> Result<SeriesResult> {
    if q.step_ms <= 0 {
        return Err(StoreError::Invalid("step must be positive".into()));
    }
    let mut stmt = conn.prepare(
        "SELECT id, kind, unit, monotonic, service, attrs, bounds FROM metric_series WHERE name = ?1 ORDER BY id",
    )?;
    struct Series {
        gauge: bool,
        group: Option<String>,
        bounds: Option<Vec<f64>>,
    }
    let mut kind = None;
    let mut unit = String::new();
    let mut by_id: HashMap<i64, Series> = HashMap::new();
    for row in stmt.query_map([&q.name], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })? {
        let (id, k, u, monotonic, service, attrs, bounds) = row?;
        let k = metric_kind(&k);
        kind = k;
        unit = u;
        by_id.insert(
            id,
            Series {
                gauge: matches!(k, None | Some(MetricKind::Gauge))
                    || (k == Some(MetricKind::Sum) && !monotonic),
                group: group_of(q.group_by.as_deref(), &service, &attrs),
                bounds: bounds.and_then(|b| serde_json::from_str(&b).ok()),
            },
        );
    }
    let hourly = q.step_ms >= 3_600_000;
    let sql = if hourly {
        "SELECT m.series_id, m.hour, m.delta, m.count_delta, m.last, NULL, m.last_time_ns FROM metric_hourly m
         JOIN metric_series s ON s.id = m.series_id
         WHERE s.name = ?1 AND m.hour >= ?2 AND m.hour < ?3 ORDER BY m.hour"
    } else {
        "SELECT p.series_id, p.time_ns / 1000000, p.delta, p.count_delta, p.value, p.bucket_deltas, p.time_ns
         FROM metric_points p JOIN metric_series s ON s.id = p.series_id
         WHERE s.name = ?1 AND p.time_ns >= ?2 * 1000000 AND p.time_ns < ?3 * 1000000 ORDER BY p.time_ns"
    };
    let (since, until) = if hourly {
        (q.since_ms.div_euclid(3_600_000) * 3_600_000, q.until_ms)
    } else {
        (q.since_ms, q.until_ms)
    };
    let mut groups: BTreeMap<Option<String>, BTreeMap<i64, Acc>> = BTreeMap::new();
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(params![q.name, since, until])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let Some(s) = by_id.get(&id) else { continue };
        let t: i64 = r.get(1)?;
        let step = t.div_euclid(q.step_ms) * q.step_ms;
        let acc = groups
            .entry(s.group.clone())
            .or_default()
            .entry(step)
            .or_default();
        if s.gauge {
            let value: f64 = r.get(4)?;
            let at: i64 = r.get(6)?;
            let slot = acc.readings.entry(id).or_insert((at, value));
            if at >= slot.0 {
                *slot = (at, value);
            }
            continue;
        }
        acc.value += r.get::<_, Option<f64>>(2)?.unwrap_or(0.0);
        if let Some(c) = r.get::<_, Option<i64>>(3)? {
            *acc.count.get_or_insert(0) += c.max(0) as u64;
        }
        let deltas: Option<String> = r.get(5)?;
        if let Some(d) = deltas.and_then(|d| serde_json::from_str::<Vec<u64>>(&d).ok()) {
            match &mut acc.buckets {
                Some(b) if b.len() == d.len() => b.iter_mut().zip(d).for_each(|(x, y)| *x += y),
                Some(_) => {}
                None => acc.buckets = Some(d),
            }
        }
    }
    let bounds = by_id.values().find_map(|s| s.bounds.clone());
    Ok(SeriesResult {
        name: q.name.clone(),
        kind,
        unit,
        resolution: if hourly { "hourly" } else { "raw" },
        groups: groups
            .into_iter()
            .map(|(group, steps)| SeriesGroup {
                group,
                steps: steps
                    .into_iter()
                    .map(|(t, a)| SeriesStep {
                        t,
                        value: if a.readings.is_empty() {
                            a.value
                        } else {
                            a.readings.values().map(|(_, v)| v).sum()
                        },
                        count: a.count,
                        bounds: a.buckets.as_ref().and(bounds.clone()),
                        buckets: a.buckets,
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// Metric names with kind, unit, series count and newest point.
pub(super) fn metric_names(conn: &Connection) -> Result<Vec<MetricInfo>> {
    let mut stmt = conn.prepare(
        "SELECT name, max(kind), max(unit), count(*), max(last_time_ns) / 1000000 FROM metric_series
         GROUP BY name ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(MetricInfo {
            name: r.get(0)?,
            kind: r.get(1)?,
            unit: r.get(2)?,
            series: n(r, 3)?,
            last_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, start: i64) -> StoredSpan {
        StoredSpan {
            span: SpanRecord {
                span_id: id.into(),
                parent_span_id: parent.map(Into::into),
                start_ns: start,
                ..SpanRecord::default()
            },
            ..StoredSpan::default()
        }
    }

    #[test]
    fn tree_order_puts_parents_first_and_survives_orphans_and_cycles() {
        let spans = vec![
            span("c2", Some("r"), 30),
            span("c1", Some("r"), 10),
            span("g", Some("c1"), 20),
            span("r", None, 0),
            span("orphan", Some("gone"), 5),
            span("x", Some("y"), 1),
            span("y", Some("x"), 2),
        ];
        let order: Vec<(String, usize)> = tree_order(spans)
            .into_iter()
            .map(|s| (s.span.span_id, s.depth))
            .collect();
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(&names[..5], ["r", "c1", "g", "c2", "orphan"]);
        assert_eq!(order[2].1, 2);
        assert_eq!(order.len(), 7);
    }
}
