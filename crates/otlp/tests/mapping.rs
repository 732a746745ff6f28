//! Mapping real OTLP messages (built with the generated types, and OTLP/JSON text) into
//! the stored shapes.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Any, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point::Value as Number, AggregationTemporality, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    status::StatusCode, ResourceSpans, ScopeSpans, Span, Status,
};

use clawscope_core::otel::{MetricKind, SpanClass};
use clawscope_core::{CostSource, EventKind};
use clawscope_otlp::decode::Encoding;
use clawscope_otlp::signal::{self, Signal};

fn kv(k: &str, v: Any) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(k: &str, v: &str) -> KeyValue {
    kv(k, Any::StringValue(v.into()))
}

fn i(k: &str, v: i64) -> KeyValue {
    kv(k, Any::IntValue(v))
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![s("service.name", "openclaw-gateway"), s("host.name", "box")],
        ..Default::default()
    })
}

fn span(id: u8, parent: Option<u8>, name: &str, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_001_500_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

#[test]
fn openclaw_and_genai_spans_map_to_classes_tokens_sessions_and_events() {
    let mut failed = span(
        4,
        Some(1),
        "openclaw.tool.execution",
        vec![
            s("gen_ai.tool.name", "exec"),
            s("gen_ai.tool.call.id", "call_9"),
        ],
    );
    failed.status = Some(Status {
        code: StatusCode::Error as i32,
        message: "exit 2".into(),
    });
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(
                        1,
                        None,
                        "openclaw.run",
                        vec![
                            s("session.id", "agent:main:main"),
                            i("gen_ai.usage.input_tokens", 999),
                        ],
                    ),
                    span(
                        2,
                        Some(1),
                        "openclaw.model.usage",
                        vec![
                            i("openclaw.tokens.input", 1200),
                            i("openclaw.tokens.output", 300),
                            i("openclaw.tokens.cache_read", 50),
                            i("openclaw.tokens.cache_write", 7),
                            s("gen_ai.provider.name", "anthropic"),
                            s("gen_ai.request.model", "claude-sonnet-4-5"),
                            kv("openclaw.cost.usd", Any::DoubleValue(0.0123)),
                            s("session.id", "agent:main:main"),
                        ],
                    ),
                    span(
                        3,
                        Some(1),
                        "chat gpt-5.1",
                        vec![
                            s("gen_ai.operation.name", "chat"),
                            i("gen_ai.usage.input_tokens", 80),
                            i("gen_ai.usage.output_tokens", 20),
                            i("gen_ai.usage.reasoning.output_tokens", 5),
                            s("gen_ai.conversation.id", "conv-1"),
                            s("gen_ai.response.id", "resp-1"),
                        ],
                    ),
                    failed,
                    Span {
                        trace_id: vec![0; 16],
                        ..span(5, None, "bad", vec![])
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (t, rejected) = signal::traces(&req);
    assert_eq!(rejected.count, 1);
    assert_eq!(t.spans.len(), 4);
    let by = |n: &str| t.spans.iter().find(|x| x.name == n).unwrap();
    let run = by("openclaw.run");
    assert_eq!(run.class, Some(SpanClass::Run));
    assert!(
        run.tokens.is_zero(),
        "a run's aggregate usage is not counted"
    );
    assert_eq!(
        run.event.as_ref().unwrap().kind,
        Some(EventKind::RunFinished)
    );
    assert_eq!(run.service, "openclaw-gateway");
    let usage = by("openclaw.model.usage");
    let ev = usage.event.as_ref().unwrap();
    assert_eq!(ev.kind, Some(EventKind::AssistantMessage));
    assert_eq!(
        (
            ev.tokens.input,
            ev.tokens.output,
            ev.tokens.cache_read,
            ev.tokens.cache_write
        ),
        (1200, 300, 50, 7)
    );
    assert_eq!(
        (ev.cost.total, ev.cost.source),
        (Some(0.0123), CostSource::Reported)
    );
    assert_eq!(ev.session_id.as_deref(), Some("agent:main:main"));
    assert_eq!(ev.gateway.as_deref(), Some("box"));
    assert_eq!(ev.timing.duration_ms, Some(1500));
    let chat = by("chat gpt-5.1");
    assert_eq!(chat.class, Some(SpanClass::ModelCall));
    assert_eq!(chat.tokens.reasoning, 5);
    assert_eq!(chat.session_hint.as_deref(), Some("conv-1"));
    assert_eq!(
        chat.event.as_ref().unwrap().message_id.as_deref(),
        Some("resp-1")
    );
    let tool = by("openclaw.tool.execution");
    assert!(tool.is_error);
    let info = tool.event.as_ref().unwrap().tool.as_ref().unwrap();
    assert_eq!(
        (info.name.as_deref(), info.call_id.as_deref(), info.is_error),
        (Some("exec"), Some("call_9"), true)
    );
    assert_eq!(tool.parent_span_id.as_deref(), Some("0101010101010101"));
}

#[test]
fn otlp_json_with_string_integers_and_hex_ids_decodes() {
    let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"app"}}]},
      "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
      "name":"chat m","kind":3,"startTimeUnixNano":"1790000000000000000","endTimeUnixNano":"1790000000250000000",
      "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
                    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"42"}}]}]}]}]}"#;
    let (t, r) = signal::decode(Signal::Traces, Encoding::Json, body).unwrap();
    assert_eq!(r.count, 0);
    assert_eq!(t.spans[0].trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!((t.spans[0].kind, t.spans[0].tokens.input), ("client", 42));
    assert!(signal::decode(Signal::Traces, Encoding::Json, b"{\"resourceSpans\": [").is_err());
    assert!(signal::decode(Signal::Traces, Encoding::Protobuf, &[0xff, 0xff, 0xff]).is_err());
}

fn number_point(attrs: Vec<KeyValue>, start: u64, time: u64, v: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(Number::AsInt(v)),
        ..Default::default()
    }
}

#[test]
fn metrics_keep_temporality_attributes_and_buckets_and_refuse_bad_points() {
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "openclaw.tokens".into(),
                        unit: "1".into(),
                        data: Some(Data::Sum(Sum {
                            data_points: vec![
                                number_point(
                                    vec![s("openclaw.token", "input"), s("a", "1")],
                                    10,
                                    20,
                                    500,
                                ),
                                number_point(vec![], 10, 0, 1),
                            ],
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "openclaw.run.duration_ms".into(),
                        unit: "ms".into(),
                        data: Some(Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                start_time_unix_nano: 10,
                                time_unix_nano: 20,
                                count: 3,
                                sum: Some(900.0),
                                bucket_counts: vec![1, 2, 0],
                                explicit_bounds: vec![100.0, 1000.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: AggregationTemporality::Delta as i32,
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (t, rejected) = signal::metrics(&req);
    assert_eq!(rejected.count, 1, "a point without a time is refused");
    let sum = &t.points[0];
    assert_eq!(
        (sum.kind, sum.cumulative, sum.monotonic, sum.value),
        (Some(MetricKind::Sum), true, true, 500.0)
    );
    assert_eq!(sum.attrs, r#"{"a":"1","openclaw.token":"input"}"#);
    assert_eq!(sum.service, "openclaw-gateway");
    let h = &t.points[1];
    assert_eq!(
        (h.kind, h.cumulative, h.count, h.value),
        (Some(MetricKind::Histogram), false, Some(3), 900.0)
    );
    assert_eq!(
        (h.bounds.clone(), h.buckets.clone()),
        (vec![100.0, 1000.0], vec![1, 2, 0])
    );
}

#[test]
fn openclaws_own_model_call_spans_leave_usage_to_its_usage_spans() {
    let spans = vec![
        span(
            1,
            None,
            "openclaw.model.call",
            vec![i("gen_ai.usage.input_tokens", 10)],
        ),
        span(
            2,
            None,
            "chat claude-sonnet-4-5",
            vec![
                s("gen_ai.operation.name", "chat"),
                i("gen_ai.usage.input_tokens", 10),
                i("openclaw.model_call.time_to_first_byte_ms", 300),
            ],
        ),
        span(
            3,
            None,
            "chat claude-sonnet-4-5",
            vec![
                s("gen_ai.operation.name", "chat"),
                i("gen_ai.usage.input_tokens", 10),
            ],
        ),
    ];
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (t, _) = signal::traces(&req);
    let events: Vec<bool> = t.spans.iter().map(|s| s.event.is_some()).collect();
    assert_eq!(events, [false, false, true]);
    assert!(t
        .spans
        .iter()
        .all(|s| s.class == Some(SpanClass::ModelCall) && s.tokens.input == 10));
}
