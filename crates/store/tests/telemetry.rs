//! OTLP telemetry in the SQLite store on real files: usage counted once against
//! transcripts (whichever arrives first), session linking, idempotent spans, counter
//! increases across exporter restarts, retention.

use clawscope_core::otel::{
    MetricKind, MetricPoint, SeriesQuery, SpanClass, SpanRecord, Telemetry, TraceFilter,
};
use clawscope_core::query::{SessionFilter, UsageFilter};
use clawscope_core::{Cost, CostSource, Event, EventKind, SourceKind};
use clawscope_store::{Batch, SqliteStore, Store};

const T0: i64 = 1_790_000_000_000;

fn transcript_usage(id: &str, session: &str, ts: i64, input: u64, output: u64) -> Event {
    let mut ev = Event {
        id: id.into(),
        ts_ms: ts,
        kind: Some(EventKind::AssistantMessage),
        source: Some(SourceKind::OpenClaw),
        agent: Some("main".into()),
        session_key: session.into(),
        session_id: Some(format!("{session}-window")),
        cost: Cost {
            total: Some(0.5),
            source: CostSource::Reported,
            ..Cost::default()
        },
        ..Event::default()
    };
    ev.model.model = Some("claude-sonnet-4-5".into());
    ev.tokens.input = input;
    ev.tokens.output = output;
    ev
}

fn usage_span(
    trace: &str,
    span: &str,
    hint: Option<&str>,
    ts: i64,
    input: u64,
    output: u64,
) -> SpanRecord {
    let mut rec = SpanRecord {
        trace_id: trace.repeat(32 / trace.len()),
        span_id: span.repeat(16 / span.len()),
        name: "openclaw.model.usage".into(),
        kind: "internal",
        service: "openclaw-gateway".into(),
        start_ns: (ts - 1000) * 1_000_000,
        end_ns: ts * 1_000_000,
        class: Some(SpanClass::Usage),
        session_hint: hint.map(Into::into),
        model: Some("claude-sonnet-4-5-20250929".into()),
        attrs: "{}".into(),
        resource: r#"{"service.name":"openclaw-gateway"}"#.into(),
        ..SpanRecord::default()
    };
    rec.tokens.input = input;
    rec.tokens.output = output;
    let mut ev = Event {
        id: format!("otel:{}:{}", rec.trace_id, rec.span_id),
        ts_ms: ts,
        kind: Some(EventKind::AssistantMessage),
        source: Some(SourceKind::Otel),
        session_key: format!("otel:{}", hint.unwrap_or("openclaw-gateway")),
        session_id: hint.map(Into::into),
        cost: Cost {
            total: Some(0.5),
            source: CostSource::Reported,
            ..Cost::default()
        },
        ..Event::default()
    };
    ev.model.model = rec.model.clone();
    ev.tokens = rec.tokens;
    rec.event = Some(ev);
    rec
}

fn spans(list: Vec<SpanRecord>) -> Telemetry {
    Telemetry {
        spans: list,
        ..Telemetry::default()
    }
}

fn total_tokens(store: &SqliteStore) -> u64 {
    store
        .usage_buckets(&UsageFilter::default())
        .unwrap()
        .iter()
        .map(|b| b.totals.total_tokens)
        .sum()
}

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    (dir, store)
}

fn has_usage_index(dir: &tempfile::TempDir) -> bool {
    let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_transcript_usage'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        == 1
}

#[test]
fn after_a_bulk_load_the_first_span_builds_the_transcript_usage_index_and_still_matches() {
    let (dir, mut store) = open();
    store.begin_bulk().unwrap();
    let batch = Batch {
        events: vec![transcript_usage("t1", "agent:main:main", T0, 1200, 300)],
        ..Batch::default()
    };
    store.apply(&batch).unwrap();
    store.end_bulk().unwrap();
    assert!(
        !has_usage_index(&dir),
        "only telemetry reads it: not built by the load"
    );
    let reopened = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    drop(reopened);
    assert!(!has_usage_index(&dir), "nor by open");
    let span = usage_span("c1", "d1", None, T0 - 2_000, 1200, 300);
    let stats = store.apply_telemetry(&spans(vec![span])).unwrap();
    assert_eq!((stats.spans, stats.usage_matched, stats.events), (1, 1, 0));
    assert_eq!(total_tokens(&store), 1500);
    assert!(has_usage_index(&dir), "built by the first telemetry write");
}

#[test]
fn a_span_repeating_a_transcript_entry_is_counted_once_and_linked_to_its_session() {
    let (_d, mut store) = open();
    let batch = Batch {
        events: vec![transcript_usage("t1", "agent:main:main", T0, 1200, 300)],
        ..Batch::default()
    };
    store.apply(&batch).unwrap();
    assert_eq!(total_tokens(&store), 1500);
    // A hashed session id that matches nothing: the usage match links it anyway.
    let stats = store
        .apply_telemetry(&spans(vec![usage_span(
            "a1",
            "b1",
            Some("9f8e7d"),
            T0 + 4_000,
            1200,
            300,
        )]))
        .unwrap();
    assert_eq!((stats.spans, stats.usage_matched, stats.events), (1, 1, 0));
    assert_eq!(total_tokens(&store), 1500);
    let t = store.trace(&"a1".repeat(16)).unwrap().unwrap();
    assert_eq!(t.summary.session_key.as_deref(), Some("agent:main:main"));
    assert_eq!(t.spans[0].event_id.as_deref(), Some("t1"));
    // Re-sending the span changes nothing.
    let again = store
        .apply_telemetry(&spans(vec![usage_span(
            "a1",
            "b1",
            Some("9f8e7d"),
            T0 + 4_000,
            1200,
            300,
        )]))
        .unwrap();
    assert_eq!((again.spans, again.duplicate_spans), (0, 1));
    assert_eq!(
        store
            .trace(&"a1".repeat(16))
            .unwrap()
            .unwrap()
            .summary
            .spans,
        1
    );
}

#[test]
fn a_transcript_arriving_after_the_span_takes_its_place() {
    let (_d, mut store) = open();
    store
        .apply_telemetry(&spans(vec![usage_span("a2", "b2", None, T0, 5000, 70)]))
        .unwrap();
    assert_eq!(total_tokens(&store), 5070);
    let batch = Batch {
        events: vec![transcript_usage(
            "t2",
            "agent:main:tg",
            T0 + 30_000,
            5000,
            70,
        )],
        ..Batch::default()
    };
    store.apply(&batch).unwrap();
    assert_eq!(total_tokens(&store), 5070, "usage counted once");
    let sessions = store
        .sessions(&SessionFilter {
            limit: 10,
            ..SessionFilter::default()
        })
        .unwrap();
    let keys: Vec<&str> = sessions
        .iter()
        .filter(|s| s.totals.total_tokens > 0)
        .map(|s| s.session_key.as_str())
        .collect();
    assert_eq!(keys, ["agent:main:tg"]);
    let t = store.trace(&"a2".repeat(16)).unwrap().unwrap();
    assert_eq!(t.summary.session_key.as_deref(), Some("agent:main:tg"));
    assert_eq!(t.spans[0].event_id.as_deref(), Some("t2"));
}

#[test]
fn far_apart_or_different_usage_is_not_merged_and_twins_in_one_trace_count_once() {
    let (_d, mut store) = open();
    let batch = Batch {
        events: vec![transcript_usage("t3", "s", T0, 100, 10)],
        ..Batch::default()
    };
    store.apply(&batch).unwrap();
    let mut call = usage_span("a3", "c3", Some("conv"), T0 + 60_000, 900, 90);
    call.name = "chat claude-sonnet-4-5".into();
    call.class = Some(SpanClass::ModelCall);
    let stats = store
        .apply_telemetry(&spans(vec![
            // Same tokens, an hour later: another call.
            usage_span("a3", "b3", Some("conv"), T0 + 3_600_000, 100, 10),
            usage_span("a3", "d3", Some("conv"), T0 + 60_000, 900, 90),
            // The model-call span of the same call, in the same trace.
            call,
        ]))
        .unwrap();
    assert_eq!((stats.events, stats.usage_matched), (2, 1));
    assert_eq!(total_tokens(&store), 110 + 110 + 990);
}

#[test]
fn a_hint_naming_a_known_session_links_spans_and_logs() {
    let (_d, mut store) = open();
    store
        .apply(&Batch {
            events: vec![transcript_usage("t4", "agent:main:main", T0, 1, 1)],
            ..Batch::default()
        })
        .unwrap();
    let mut run = usage_span("a4", "b4", Some("agent:main:main"), T0 + 5_000, 0, 0);
    run.name = "openclaw.run".into();
    run.class = Some(SpanClass::Other);
    run.event = None;
    store.apply_telemetry(&spans(vec![run])).unwrap();
    let listed = store
        .traces(&TraceFilter {
            session_key: Some("agent:main:main".into()),
            limit: 10,
            ..TraceFilter::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
}

fn counter(start: i64, time: i64, value: f64, token: &str) -> MetricPoint {
    MetricPoint {
        name: "openclaw.tokens".into(),
        kind: Some(MetricKind::Sum),
        cumulative: true,
        monotonic: true,
        service: "gw".into(),
        attrs: format!(r#"{{"openclaw.token":"{token}"}}"#),
        start_ns: start * 1_000_000,
        time_ns: time * 1_000_000,
        value,
        ..MetricPoint::default()
    }
}

#[test]
fn cumulative_counters_sum_to_their_increases_across_restarts_and_expire() {
    let (_d, mut store) = open();
    let t = |points| Telemetry {
        points,
        ..Telemetry::default()
    };
    store
        .apply_telemetry(&t(vec![
            counter(T0, T0 + 10_000, 100.0, "input"),
            counter(T0, T0 + 20_000, 250.0, "input"),
            counter(T0, T0 + 20_000, 40.0, "output"),
        ]))
        .unwrap();
    // The exporter restarted: a new start time, counting from zero again; one late retry.
    store
        .apply_telemetry(&t(vec![
            counter(T0 + 30_000, T0 + 40_000, 30.0, "input"),
            counter(T0, T0 + 20_000, 250.0, "input"),
        ]))
        .unwrap();
    let q = SeriesQuery {
        name: "openclaw.tokens".into(),
        group_by: Some("openclaw.token".into()),
        step_ms: 3_600_000,
        since_ms: T0 - 3_600_000,
        until_ms: T0 + 3_600_000,
    };
    let r = store.metric_series(&q).unwrap();
    let sum = |g: &str| -> f64 {
        r.groups
            .iter()
            .filter(|x| x.group.as_deref() == Some(g))
            .flat_map(|x| &x.steps)
            .map(|s| s.value)
            .sum()
    };
    assert_eq!((sum("input"), sum("output")), (280.0, 40.0));
    let raw = store
        .metric_series(&SeriesQuery {
            step_ms: 10_000,
            ..q.clone()
        })
        .unwrap();
    assert_eq!(raw.resolution, "raw");
    let input: Vec<f64> = raw
        .groups
        .iter()
        .find(|g| g.group.as_deref() == Some("input"))
        .unwrap()
        .steps
        .iter()
        .map(|s| s.value)
        .collect();
    assert_eq!(input, [100.0, 150.0, 30.0]);
    // Retention drops raw points; the hourly rollup still answers.
    let pruned = store.prune_telemetry(T0 + 35_000).unwrap();
    assert_eq!(pruned.points, 3);
    let r = store.metric_series(&q).unwrap();
    assert_eq!(
        r.groups
            .iter()
            .flat_map(|g| &g.steps)
            .map(|s| s.value)
            .sum::<f64>(),
        320.0
    );
}

/// A bulk load elsewhere may have dropped the unique index on event keys; telemetry
/// that stores usage events builds it back before writing, so keys stay unique.
#[test]
fn telemetry_finding_the_key_index_missing_builds_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("DROP INDEX events_idh").unwrap();
    let span = || spans(vec![usage_span("c1", "d1", None, T0, 700, 70)]);
    let first = store.apply_telemetry(&span()).unwrap();
    assert_eq!((first.spans, first.events), (1, 1));
    let index: i64 = raw
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_idh'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
    let again = store.apply_telemetry(&span()).unwrap();
    assert_eq!((again.spans, again.events), (0, 0));
    assert_eq!(total_tokens(&store), 770);
}
