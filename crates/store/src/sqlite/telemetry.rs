//! Writing OTLP telemetry: spans (and the events they stand for), trace summaries,
//! metric points with their increases, log records; linking to known sessions; and
//! counting usage seen both in a span and in a transcript once.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};

use clawscope_core::otel::{
    LogRecord, MetricKind, MetricPoint, SpanRecord, Telemetry, TelemetryStats,
};
use clawscope_core::{Event, EventKind, SourceKind, Tokens};

use super::keys::{event_key, id_hash};
use super::read::{event_from_row, EVENT_COLUMNS};
use super::rollup::Rollups;
use super::stored_id::stored_id;
use super::write::{exec_event, INSERT_SQL};
use crate::Result;

/// A span's usage and a transcript's usage are the same call when their token counts
/// are equal and they are at most this far apart.
pub(super) const MATCH_WINDOW_MS: i64 = 10 * 60_000;

const HOUR_MS: i64 = 3_600_000;

/// Whether two model names can name the same model (either unknown, equal, or one a
/// dated form of the other: `claude-sonnet-4-5` / `claude-sonnet-4-5-20250929`).
fn same_model(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
            let strip = |s: &str| {
                s.rsplit_once('/')
                    .map(|(_, m)| m.to_string())
                    .unwrap_or(s.to_string())
            };
            let (a, b) = (strip(&a), strip(&b));
            a.starts_with(&b) || b.starts_with(&a)
        }
        _ => true,
    }
}

/// Per-transaction caches.
#[derive(Default)]
struct Links {
    sessions: HashMap<String, Option<String>>,
    resources: HashMap<String, i64>,
}

impl Links {
    /// The known session a hint names: a session key, or the current id of one.
    fn session(&mut self, tx: &Transaction<'_>, hint: &str) -> Result<Option<String>> {
        if let Some(k) = self.sessions.get(hint) {
            return Ok(k.clone());
        }
        let found: Option<String> = tx
            .prepare_cached(
                "SELECT session_key FROM session_rollup WHERE session_key = ?1
                 UNION ALL SELECT session_key FROM sessions_meta WHERE session_key = ?1 OR session_id = ?1
                 LIMIT 1",
            )?
            .query_row([hint], |r| r.get(0))
            .optional()?;
        self.sessions.insert(hint.to_string(), found.clone());
        Ok(found)
    }

    fn resource(&mut self, tx: &Transaction<'_>, attrs: &str) -> Result<i64> {
        if let Some(id) = self.resources.get(attrs) {
            return Ok(*id);
        }
        let h = id_hash(attrs);
        tx.prepare_cached("INSERT INTO otel_resources (hash, attrs) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING")?
            .execute(params![&h[..], attrs])?;
        let id: i64 = tx
            .prepare_cached("SELECT id FROM otel_resources WHERE hash = ?1")?
            .query_row([&h[..]], |r| r.get(0))?;
        self.resources.insert(attrs.to_string(), id);
        Ok(id)
    }
}

/// A trace's share of one batch.
#[derive(Default)]
struct TraceDelta {
    service: String,
    name: String,
    root: bool,
    start_ns: i64,
    end_ns: i64,
    spans: i64,
    errors: i64,
    session_key: Option<String>,
    tokens: Tokens,
    cost: f64,
}

/// Write `t` in the open transaction.
pub(super) fn apply(
    tx: &Transaction<'_>,
    t: &Telemetry,
    rollups: &mut Rollups,
) -> Result<TelemetryStats> {
    let mut stats = TelemetryStats::default();
    let mut links = Links::default();
    let mut traces: HashMap<&str, TraceDelta> = HashMap::new();
    for span in &t.spans {
        let exists = tx
            .prepare_cached("SELECT 1 FROM spans WHERE trace_id = ?1 AND span_id = ?2")?
            .query_row([&span.trace_id, &span.span_id], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            stats.duplicate_spans += 1;
            continue;
        }
        let mut session_key = match &span.session_hint {
            Some(h) => Some(links.session(tx, h)?.unwrap_or_else(|| format!("otel:{h}"))),
            None => None,
        };
        let mut event_id = None;
        // A second span of the same call in this trace adds nothing to its totals.
        let mut in_trace_already = false;
        if let Some(ev) = &span.event {
            let mut ev = ev.clone();
            if let Some(k) = &session_key {
                ev.session_key = k.clone();
            }
            match counted_elsewhere(tx, span, &ev)? {
                Some(counted) => {
                    stats.usage_matched += 1;
                    let (id, key) = match counted {
                        Counted::Transcript(id, key) => (id, key),
                        Counted::Twin(id, key) => {
                            in_trace_already = true;
                            (id, key)
                        }
                    };
                    event_id = Some(id);
                    if !key.starts_with("otel:") {
                        session_key = Some(key);
                    }
                }
                None => {
                    if exec_event(
                        &mut tx.prepare_cached(INSERT_SQL)?,
                        &event_key(&ev.id),
                        &ev,
                        0,
                    )? == 1
                    {
                        stats.events += 1;
                        rollups.add(&ev, 1);
                        if ev.kind == Some(EventKind::AssistantMessage) {
                            remember_usage(tx, span, &ev)?;
                        }
                    }
                    event_id = Some(ev.id.clone());
                }
            }
        }
        let resource = links.resource(tx, &span.resource)?;
        insert_span(
            tx,
            span,
            session_key.as_deref(),
            event_id.as_deref(),
            resource,
        )?;
        stats.spans += 1;
        let d = traces
            .entry(span.trace_id.as_str())
            .or_insert_with(|| TraceDelta {
                start_ns: i64::MAX,
                end_ns: i64::MIN,
                ..TraceDelta::default()
            });
        if span.parent_span_id.is_none() || d.name.is_empty() {
            d.root |= span.parent_span_id.is_none();
            d.name = span.name.clone();
            d.service = span.service.clone();
        }
        d.start_ns = d.start_ns.min(span.start_ns);
        d.end_ns = d.end_ns.max(span.end_ns);
        d.spans += 1;
        d.errors += span.is_error as i64;
        if session_key.is_some() && (d.session_key.is_none() || span.parent_span_id.is_none()) {
            d.session_key = session_key.clone();
        }
        let usage = span.event.as_ref().and_then(|e| e.kind) == Some(EventKind::AssistantMessage);
        if usage && !in_trace_already {
            let t = &span.tokens;
            d.tokens.input += t.input;
            d.tokens.output += t.output;
            d.tokens.cache_read += t.cache_read;
            d.tokens.cache_write += t.cache_write;
            d.tokens.reasoning += t.reasoning;
            d.cost += span.cost_usd.unwrap_or(0.0);
        }
    }
    for (id, d) in &traces {
        upsert_trace(tx, id, d)?;
    }
    stats.points = write_points(tx, &t.points)?;
    stats.logs = write_logs(tx, &mut links, &t.logs)?;
    Ok(stats)
}

/// Builds the index usage spans find their transcript entries through, unless it is there.
/// Only telemetry writes read it, so a bulk load drops it and leaves it to the first of
/// them: a store that never receives OTLP usage never pays for it (on the 1 GB Claude
/// benchmark it was a third of the index builds that end the first import).
pub(super) fn ensure_transcript_usage_index(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS events_transcript_usage ON events(input, output, ts)
             WHERE kind = 'message.assistant' AND source <> 'otel';",
    )?;
    Ok(())
}

/// Where a usage span's tokens are already counted.
enum Counted {
    /// By a transcript entry (id, session key).
    Transcript(String, String),
    /// By another usage span of the same trace (its event id, session key).
    Twin(String, String),
}

/// The event that already counts this span's usage: a transcript entry with the same
/// tokens near in time (found through the `events_transcript_usage` index), or a
/// usage span of the same trace with the same tokens.
fn counted_elsewhere(
    tx: &Transaction<'_>,
    span: &SpanRecord,
    ev: &Event,
) -> Result<Option<Counted>> {
    if ev.kind != Some(EventKind::AssistantMessage) {
        return Ok(None);
    }
    let t = &ev.tokens;
    if let Some((id, key)) = transcript_copy(tx, ev)? {
        return Ok(Some(Counted::Transcript(id, key)));
    }
    let twin: Option<(String, String)> = tx
        .prepare_cached(concat!(
            "SELECT ",
            stored_id!("e."),
            ", e.session_key FROM otel_usage u JOIN events e ON e.seq = u.seq
             WHERE u.trace_id = ?1 AND u.input = ?2 AND u.output = ?3 AND u.cache_read = ?4
               AND u.cache_write = ?5 LIMIT 1",
        ))?
        .query_row(
            params![
                span.trace_id,
                t.input as i64,
                t.output as i64,
                t.cache_read as i64,
                t.cache_write as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(twin.map(|(id, key)| Counted::Twin(id, key)))
}

/// The first transcript entry with `ev`'s tokens within the match window of it and a
/// compatible model: its id and session.
fn transcript_copy(tx: &Transaction<'_>, ev: &Event) -> Result<Option<(String, String)>> {
    let t = &ev.tokens;
    let mut stmt = tx.prepare_cached(concat!(
        "SELECT ",
        stored_id!(""),
        ", session_key, model FROM events
         WHERE ts BETWEEN ?1 AND ?2 AND input = ?3 AND output = ?4 AND cache_read = ?5
           AND cache_write = ?6 AND kind = 'message.assistant' AND source <> 'otel'",
    ))?;
    let rows = stmt.query_map(
        params![
            ev.ts_ms - MATCH_WINDOW_MS,
            ev.ts_ms + MATCH_WINDOW_MS,
            t.input as i64,
            t.output as i64,
            t.cache_read as i64,
            t.cache_write as i64
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )?;
    for row in rows {
        let (id, key, model) = row?;
        if same_model(model.as_deref(), ev.model.model.as_deref()) {
            return Ok(Some((id, key)));
        }
    }
    Ok(None)
}

fn remember_usage(tx: &Transaction<'_>, span: &SpanRecord, ev: &Event) -> Result<()> {
    let t = &ev.tokens;
    tx.prepare_cached(
        "INSERT INTO otel_usage (seq, ts, trace_id, input, output, cache_read, cache_write, model)
         VALUES (last_insert_rowid(), ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        ev.ts_ms,
        span.trace_id,
        t.input as i64,
        t.output as i64,
        t.cache_read as i64,
        t.cache_write as i64,
        ev.model.model
    ])?;
    Ok(())
}

/// A transcript event that repeats usage first stored from a span takes its place:
/// the span's event is removed (and un-counted), the span and its trace are linked to
/// the transcript's session. Returns whether a span's event was superseded.
pub(super) fn supersede(tx: &Transaction<'_>, ev: &Event, rollups: &mut Rollups) -> Result<bool> {
    if ev.kind != Some(EventKind::AssistantMessage)
        || ev.source == Some(SourceKind::Otel)
        || ev.tokens.total() == 0
    {
        return Ok(false);
    }
    let t = &ev.tokens;
    let candidates: Vec<(i64, String, Option<String>)> = tx
        .prepare_cached(
            "SELECT seq, trace_id, model FROM otel_usage
             WHERE input = ?1 AND output = ?2 AND ts BETWEEN ?3 AND ?4
               AND cache_read = ?5 AND cache_write = ?6",
        )?
        .query_map(
            params![
                t.input as i64,
                t.output as i64,
                ev.ts_ms - MATCH_WINDOW_MS,
                ev.ts_ms + MATCH_WINDOW_MS,
                t.cache_read as i64,
                t.cache_write as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let Some((seq, trace_id, _)) = candidates
        .into_iter()
        .find(|(_, _, m)| same_model(m.as_deref(), ev.model.model.as_deref()))
    else {
        return Ok(false);
    };
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1");
    let old = tx
        .prepare_cached(&sql)?
        .query_row([seq], |r| event_from_row(r, 0))
        .optional()?;
    if let Some(old) = old {
        rollups.add(&old, -1);
        tx.execute("DELETE FROM events WHERE seq = ?1", [seq])?;
        tx.execute(
            "UPDATE spans SET event_id = ?1, session_key = ?2 WHERE event_id = ?3",
            params![ev.id, ev.session_key, old.id],
        )?;
    }
    tx.execute("DELETE FROM otel_usage WHERE seq = ?1", [seq])?;
    tx.execute(
        "UPDATE traces SET session_key = ?1 WHERE trace_id = ?2 AND (session_key IS NULL OR session_key LIKE 'otel:%')",
        params![ev.session_key, trace_id],
    )?;
    Ok(true)
}

fn insert_span(
    tx: &Transaction<'_>,
    s: &SpanRecord,
    session_key: Option<&str>,
    event_id: Option<&str>,
    resource: i64,
) -> Result<()> {
    let t = &s.tokens;
    tx.prepare_cached(
        "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, service, start_ns, end_ns,
            is_error, status_message, class, session_hint, session_key, model, provider, tool_name,
            input, output, cache_read, cache_write, reasoning, cost_usd, event_id, attrs, resource_id, events)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
            ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
    )?
    .execute(params![
        s.trace_id,
        s.span_id,
        s.parent_span_id,
        s.name,
        s.kind,
        s.service,
        s.start_ns,
        s.end_ns,
        s.is_error,
        s.status_message,
        s.class.map(|c| c.as_str()).unwrap_or("other"),
        s.session_hint,
        session_key,
        s.model,
        s.provider,
        s.tool_name,
        t.input as i64,
        t.output as i64,
        t.cache_read as i64,
        t.cache_write as i64,
        t.reasoning as i64,
        s.cost_usd,
        event_id,
        s.attrs,
        resource,
        s.events,
    ])?;
    Ok(())
}

fn upsert_trace(tx: &Transaction<'_>, id: &str, d: &TraceDelta) -> Result<()> {
    let t = &d.tokens;
    tx.prepare_cached(
        "INSERT INTO traces (trace_id, service, name, has_root, start_ns, end_ns, spans, errors, session_key,
            input, output, cache_read, cache_write, reasoning, cost_usd)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (trace_id) DO UPDATE SET
            service = CASE WHEN excluded.has_root AND NOT has_root THEN excluded.service ELSE service END,
            name = CASE WHEN excluded.has_root AND NOT has_root THEN excluded.name ELSE name END,
            has_root = has_root OR excluded.has_root,
            start_ns = min(start_ns, excluded.start_ns), end_ns = max(end_ns, excluded.end_ns),
            spans = spans + excluded.spans, errors = errors + excluded.errors,
            session_key = CASE WHEN session_key IS NULL OR (session_key LIKE 'otel:%' AND excluded.session_key NOT LIKE 'otel:%')
                THEN excluded.session_key ELSE session_key END,
            input = input + excluded.input, output = output + excluded.output,
            cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
            reasoning = reasoning + excluded.reasoning, cost_usd = cost_usd + excluded.cost_usd",
    )?
    .execute(params![
        id,
        d.service,
        d.name,
        d.root,
        d.start_ns,
        d.end_ns,
        d.spans,
        d.errors,
        d.session_key,
        t.input as i64,
        t.output as i64,
        t.cache_read as i64,
        t.cache_write as i64,
        t.reasoning as i64,
        d.cost,
    ])?;
    Ok(())
}

/// A series' newest point, as kept on its row.
#[derive(Clone)]
struct Last {
    id: i64,
    start_ns: Option<i64>,
    time_ns: Option<i64>,
    value: Option<f64>,
    count: Option<i64>,
    buckets: Option<Vec<u64>>,
}

fn series_key(p: &MetricPoint) -> [u8; 16] {
    let kind = p.kind.unwrap_or(MetricKind::Gauge).as_str();
    id_hash(&format!(
        "{}\u{1}{}\u{1}{}\u{1}{}",
        p.name, p.service, kind, p.attrs
    ))
}

fn series(tx: &Transaction<'_>, p: &MetricPoint) -> Result<Last> {
    let key = series_key(p);
    let kind = p.kind.unwrap_or(MetricKind::Gauge).as_str();
    let bounds =
        (!p.bounds.is_empty()).then(|| serde_json::to_string(&p.bounds).unwrap_or_default());
    tx.prepare_cached(
        "INSERT INTO metric_series (key, name, kind, unit, cumulative, monotonic, service, attrs, bounds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (key) DO UPDATE SET bounds = coalesce(excluded.bounds, bounds), unit = excluded.unit",
    )?
    .execute(params![&key[..], p.name, kind, p.unit, p.cumulative, p.monotonic, p.service, p.attrs, bounds])?;
    Ok(tx
        .prepare_cached(
            "SELECT id, last_start_ns, last_time_ns, last_value, last_count, last_buckets
             FROM metric_series WHERE key = ?1",
        )?
        .query_row([&key[..]], |r| {
            let b: Option<String> = r.get(5)?;
            Ok(Last {
                id: r.get(0)?,
                start_ns: r.get(1)?,
                time_ns: r.get(2)?,
                value: r.get(3)?,
                count: r.get(4)?,
                buckets: b.and_then(|b| serde_json::from_str(&b).ok()),
            })
        })?)
}

/// Increases since the previous point: `(value, count, buckets)` deltas. A cumulative
/// point whose start moved or whose value fell is a restart: it counts from zero. A
/// cumulative point older than the newest adds nothing (the newer one includes it).
fn increase(p: &MetricPoint, last: &Last) -> (f64, Option<i64>, Option<Vec<u64>>) {
    let count = p.count.map(|c| c as i64);
    let buckets = (!p.buckets.is_empty()).then(|| p.buckets.clone());
    if !p.cumulative {
        return (p.value, count, buckets);
    }
    if last.time_ns.is_some_and(|t| p.time_ns < t) {
        return (0.0, count.map(|_| 0), buckets.map(|b| vec![0; b.len()]));
    }
    let continues = last.start_ns == Some(p.start_ns)
        && last.value.is_some_and(|v| !p.monotonic || p.value >= v)
        && count.zip(last.count).is_none_or(|(c, l)| c >= l);
    if !continues {
        return (p.value, count, buckets);
    }
    let dv = p.value - last.value.unwrap_or(0.0);
    let dc = count.map(|c| c - last.count.unwrap_or(0));
    let db = match (&buckets, &last.buckets) {
        (Some(b), Some(l)) if b.len() == l.len() && b.iter().zip(l).all(|(x, y)| x >= y) => {
            Some(b.iter().zip(l).map(|(x, y)| x - y).collect())
        }
        _ => buckets.clone(),
    };
    (dv, dc, db)
}

fn write_points(tx: &Transaction<'_>, points: &[MetricPoint]) -> Result<u64> {
    let mut n = 0;
    let mut order: Vec<&MetricPoint> = points.iter().collect();
    order.sort_by_key(|p| p.time_ns);
    let mut cache: HashMap<[u8; 16], Last> = HashMap::new();
    for p in order {
        let key = series_key(p);
        let last = match cache.get(&key) {
            Some(l) => l.clone(),
            None => series(tx, p)?,
        };
        let (delta, count_delta, bucket_deltas) = increase(p, &last);
        let gauge = matches!(p.kind, None | Some(MetricKind::Gauge));
        let inserted = tx
            .prepare_cached(
                "INSERT INTO metric_points (series_id, time_ns, start_ns, value, delta, count, count_delta, bucket_deltas)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                last.id,
                p.time_ns,
                p.start_ns,
                p.value,
                (!gauge).then_some(delta),
                p.count.map(|c| c as i64),
                count_delta,
                bucket_deltas.as_ref().map(|b| serde_json::to_string(b).unwrap_or_default()),
            ])?;
        if inserted == 0 {
            cache.insert(key, last);
            continue;
        }
        n += 1;
        let newest = last.time_ns.is_none_or(|t| p.time_ns >= t);
        let mut next = last.clone();
        if newest {
            next.start_ns = Some(p.start_ns);
            next.time_ns = Some(p.time_ns);
            next.value = Some(p.value);
            next.count = p.count.map(|c| c as i64);
            next.buckets = (!p.buckets.is_empty()).then(|| p.buckets.clone());
            tx.prepare_cached(
                "UPDATE metric_series SET last_start_ns = ?2, last_time_ns = ?3, last_value = ?4,
                    last_count = ?5, last_buckets = ?6 WHERE id = ?1",
            )?
            .execute(params![
                last.id,
                p.start_ns,
                p.time_ns,
                p.value,
                next.count,
                next.buckets
                    .as_ref()
                    .map(|b| serde_json::to_string(b).unwrap_or_default()),
            ])?;
        }
        let hour = (p.time_ns / 1_000_000).div_euclid(HOUR_MS) * HOUR_MS;
        tx.prepare_cached(
            "INSERT INTO metric_hourly (series_id, hour, delta, count_delta, last, last_time_ns, points)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
             ON CONFLICT (series_id, hour) DO UPDATE SET delta = delta + excluded.delta,
                count_delta = count_delta + excluded.count_delta,
                last = CASE WHEN excluded.last_time_ns >= last_time_ns THEN excluded.last ELSE last END,
                last_time_ns = max(last_time_ns, excluded.last_time_ns), points = points + 1",
        )?
        .execute(params![
            last.id,
            hour,
            if gauge { 0.0 } else { delta },
            count_delta.unwrap_or(0),
            p.value,
            p.time_ns
        ])?;
        cache.insert(key, next);
    }
    Ok(n)
}

fn write_logs(tx: &Transaction<'_>, links: &mut Links, logs: &[LogRecord]) -> Result<u64> {
    let mut n = 0;
    for l in logs {
        let idh = id_hash(&format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
            l.time_ns,
            l.service,
            l.trace_id.as_deref().unwrap_or(""),
            l.span_id.as_deref().unwrap_or(""),
            l.body,
            l.attrs
        ));
        let session_key = match &l.session_hint {
            Some(h) => Some(links.session(tx, h)?.unwrap_or_else(|| format!("otel:{h}"))),
            None => None,
        };
        n += tx
            .prepare_cached(
                "INSERT INTO otel_logs (idh, time_ns, severity_number, severity_text, body, trace_id, span_id,
                    service, session_key, attrs)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (idh) DO NOTHING",
            )?
            .execute(params![
                &idh[..],
                l.time_ns,
                l.severity_number,
                l.severity_text,
                l.body,
                l.trace_id,
                l.span_id,
                l.service,
                session_key,
                l.attrs
            ])? as u64;
    }
    Ok(n)
}

/// Remove raw spans, points, logs and usage-match rows older than `before_ms`;
/// trace summaries, hourly metric rollups and the events spans stood for stay.
pub(super) fn prune(
    tx: &Transaction<'_>,
    before_ms: i64,
) -> Result<clawscope_core::otel::PruneStats> {
    let ns = before_ms.saturating_mul(1_000_000);
    let spans = tx.execute("DELETE FROM spans WHERE end_ns < ?1", [ns])? as u64;
    let points = tx.execute("DELETE FROM metric_points WHERE time_ns < ?1", [ns])? as u64;
    let logs = tx.execute("DELETE FROM otel_logs WHERE time_ns < ?1", [ns])? as u64;
    tx.execute("DELETE FROM otel_usage WHERE ts < ?1", [before_ms])?;
    Ok(clawscope_core::otel::PruneStats {
        spans,
        points,
        logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(start: i64, time: i64, value: f64) -> MetricPoint {
        MetricPoint {
            kind: Some(MetricKind::Sum),
            cumulative: true,
            monotonic: true,
            start_ns: start,
            time_ns: time,
            value,
            ..MetricPoint::default()
        }
    }

    fn last(start: i64, time: i64, value: f64) -> Last {
        Last {
            id: 1,
            start_ns: Some(start),
            time_ns: Some(time),
            value: Some(value),
            count: None,
            buckets: None,
        }
    }

    #[test]
    fn cumulative_points_become_increases_and_restarts_count_from_zero() {
        assert_eq!(increase(&point(1, 20, 15.0), &last(1, 10, 10.0)).0, 5.0);
        // The exporter restarted: new start time.
        assert_eq!(increase(&point(30, 40, 3.0), &last(1, 20, 15.0)).0, 3.0);
        // Same start, value fell: a reset.
        assert_eq!(increase(&point(1, 30, 2.0), &last(1, 20, 15.0)).0, 2.0);
        // Late point: already included in the newer one.
        assert_eq!(increase(&point(1, 5, 9.0), &last(1, 20, 15.0)).0, 0.0);
        let mut delta = point(1, 20, 4.0);
        delta.cumulative = false;
        assert_eq!(increase(&delta, &last(1, 10, 10.0)).0, 4.0);
    }

    #[test]
    fn histogram_buckets_are_differenced() {
        let mut p = point(1, 20, 30.0);
        p.count = Some(6);
        p.buckets = vec![1, 3, 2];
        let mut l = last(1, 10, 10.0);
        l.count = Some(2);
        l.buckets = Some(vec![1, 1, 0]);
        let (dv, dc, db) = increase(&p, &l);
        assert_eq!((dv, dc, db), (20.0, Some(4), Some(vec![0, 2, 2])));
    }

    /// A transcript entry and a usage span of the same call, `apart` ms apart, the
    /// transcript ending `before_hour` ms before a whole hour.
    fn matched_across(apart: i64, before_hour: i64) -> u64 {
        use crate::{Batch, Store};
        let ts = 1_790_002_800_000 - before_hour;
        assert_eq!(1_790_002_800_000 % HOUR_MS, 0);
        let mut store = super::super::SqliteStore::open_in_memory().unwrap();
        let mut transcript = Event {
            id: "t1".into(),
            ts_ms: ts,
            kind: Some(EventKind::AssistantMessage),
            source: Some(SourceKind::OpenClaw),
            session_key: "agent:main:main".into(),
            ..Event::default()
        };
        transcript.tokens.input = 1200;
        transcript.tokens.output = 300;
        store
            .apply(&Batch {
                events: vec![transcript.clone()],
                ..Batch::default()
            })
            .unwrap();
        let mut ev = transcript;
        ev.id = "otel:a:b".into();
        ev.ts_ms = ts + apart;
        ev.source = Some(SourceKind::Otel);
        ev.session_key = "otel:h".into();
        let span = SpanRecord {
            trace_id: "a".repeat(32),
            span_id: "b".repeat(16),
            name: "openclaw.model.usage".into(),
            kind: "internal",
            start_ns: ev.ts_ms * 1_000_000,
            end_ns: ev.ts_ms * 1_000_000,
            tokens: ev.tokens,
            attrs: "{}".into(),
            resource: "{}".into(),
            event: Some(ev),
            ..SpanRecord::default()
        };
        store
            .apply_telemetry(&Telemetry {
                spans: vec![span],
                ..Telemetry::default()
            })
            .unwrap()
            .usage_matched
    }

    #[test]
    fn transcript_entries_match_within_the_window_across_hours() {
        // In the window, in the hour before the span's and in the one after it.
        assert_eq!(matched_across(8 * 60_000, 60_000), 1);
        assert_eq!(matched_across(-8 * 60_000, -60_000), 1);
        assert_eq!(matched_across(MATCH_WINDOW_MS, 0), 1);
        // Outside the window.
        assert_eq!(matched_across(MATCH_WINDOW_MS + 1, 60_000), 0);
        assert_eq!(matched_across(-MATCH_WINDOW_MS - 1, -60_000), 0);
    }

    #[test]
    fn dated_and_routed_model_names_match() {
        assert!(same_model(
            Some("claude-sonnet-4-5"),
            Some("claude-sonnet-4-5-20250929")
        ));
        assert!(same_model(
            Some("anthropic/claude-sonnet-4-5"),
            Some("claude-sonnet-4-5")
        ));
        assert!(same_model(None, Some("gpt-5.1")));
        assert!(!same_model(Some("gpt-5.1"), Some("claude-haiku-4-5")));
    }
}
